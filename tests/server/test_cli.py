"""``vistream serve``: a real process serving a YAML pipeline; stops cleanly on /api/stop and on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from vistream.server.http import free_port

PIPELINE = """
elements:
  - {type: streammux, name: mux}
  - {type: fakesink, name: sink}
links:
  - mux -> sink
"""


def _start(tmp_path: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    spec = tmp_path / "service.yaml"
    spec.write_text(PIPELINE)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "vistream.cli", "serve", str(spec), "--port", str(port),
                                "--allow-scheme", "lavfi", *extra], stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise AssertionError(f"vistream serve exited: {process.stderr.read()}")
        time.sleep(0.2)
    process.kill()
    raise AssertionError("vistream serve did not become ready in 60 s")


def test_serve_yaml_then_stop_through_the_api(tmp_path: Path) -> None:
    import os

    process, url = _start(tmp_path, env={**os.environ, "VISTREAM_TOKEN": "from-env"})
    try:
        assert httpx.get(url + "/api/streams").status_code == 401
        headers = {"Authorization": "Bearer from-env"}
        body = {"name": "cam", "uri": "lavfi:testsrc2=size=64x48:rate=25", "properties": {"sync": True}}
        assert httpx.post(url + "/api/streams", json=body, headers=headers, timeout=60).status_code == 201
        assert httpx.post(url + "/api/stop", headers=headers, timeout=30).json() == {"state": "stopped"}
        assert process.wait(15) == 0
        assert "bearer token required" in process.stderr.read()
    finally:
        process.kill()


def test_serve_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    process, url = _start(tmp_path, "--stall-timeout", "2")
    try:
        assert httpx.get(url + "/health").json()["status"] == "ok"
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
        assert "stopping (Ctrl-C)" in process.stderr.read()
    finally:
        process.kill()


def test_serve_refuses_a_pipeline_without_streammux(tmp_path: Path) -> None:
    spec = tmp_path / "plain.yaml"
    spec.write_text("elements:\n  - {type: testsrc, name: src}\n  - {type: fakesink, name: sink}\nlinks: [src -> sink]\n")
    result = subprocess.run([sys.executable, "-m", "vistream.cli", "serve", str(spec), "--port", str(free_port())],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "needs exactly one streammux" in result.stderr


def test_local_files_need_a_media_root(tmp_path: Path) -> None:
    spec = tmp_path / "service.yaml"
    spec.write_text(PIPELINE)
    result = subprocess.run([sys.executable, "-m", "vistream.cli", "serve", str(spec), "--allow-local-files",
                             "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--allow-local-files needs at least one --media-root DIR" in result.stderr
