"""Model zoo: cached fetch is fast and idempotent, checksums catch corruption, the CLI works."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from vistream.core.errors import ConfigError
from vistream.models import zoo


def test_cached_fetch_is_fast_and_verified(yolo_files, mobilenet_files):
    started = time.monotonic()
    again = zoo.fetch("yolov3-tiny")
    assert again == yolo_files and time.monotonic() - started < 5
    manifest = json.loads((yolo_files.onnx.parent / "manifest.json").read_text())
    assert {"model.onnx", "labels.txt", "yolov3-tiny.weights", "yolov3-tiny.cfg"} <= set(manifest["sha256"])
    assert zoo.resolve("mobilenetv2") == mobilenet_files
    assert len(yolo_files.labels.read_text().split("\n")) == 81  # 80 COCO names + final newline


def test_corruption_is_detected(tmp_path, monkeypatch, yolo_files):
    copy = tmp_path / "models" / "yolov3-tiny"
    shutil.copytree(yolo_files.onnx.parent, copy)
    monkeypatch.setenv("VISTREAM_DATA", str(tmp_path))
    assert zoo.verify("yolov3-tiny")
    data = bytearray((copy / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.onnx").write_bytes(bytes(data))
    assert not zoo.verify("yolov3-tiny")
    with pytest.raises(ConfigError, match="fails its checksum.*vistream models fetch yolov3-tiny"):
        zoo.resolve("yolov3-tiny")
    with pytest.raises(ConfigError, match="unknown model 'yolov9'.*mobilenetv2, yolov3-tiny"):
        zoo.fetch("yolov9")


def test_source_weights_checksum_is_checked():
    from vistream.core.errors import SourceError

    with pytest.raises(SourceError, match="does not match the published"):
        zoo._check(b"not the weights", zoo.YOLO_MD5, "yolov3-tiny.weights")


def test_cli_list_and_fetch(yolo_files, mobilenet_files):
    listed = subprocess.run([sys.executable, "-m", "vistream.cli", "models", "list"], capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0 and "yolov3-tiny" in listed.stdout and "ok" in listed.stdout
    fetched = subprocess.run([sys.executable, "-m", "vistream.cli", "models", "fetch", "--all"], capture_output=True,
                             text=True, timeout=120)
    assert fetched.returncode == 0 and str(yolo_files.onnx) in fetched.stdout


def test_cli_convert_darknet(tmp_path, yolo_files):
    import onnxruntime as ort

    folder = yolo_files.onnx.parent
    out = tmp_path / "converted.onnx"
    result = subprocess.run([sys.executable, "-m", "vistream.cli", "models", "convert", "darknet",
                             str(folder / "yolov3-tiny.cfg"), str(folder / "yolov3-tiny.weights"), str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outputs = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_outputs()
    assert outputs[0].shape[1:] == [2535, 85]
