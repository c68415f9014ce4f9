"""``vistream demo``: a short real run writes a playable MP4, JSON Lines with detections, and the FPS table."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_runs_end_to_end(tmp_path, media, yolo_files):
    result = subprocess.run(
        [sys.executable, "-m", "vistream.cli", "demo", "--streams", "2", "--num-buffers", "6", "--output",
         str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "avg fps" in result.stderr and "all" in result.stderr  # the per-stream table
    lines = [json.loads(line) for line in (tmp_path / "demo.jsonl").read_text().splitlines()]
    frames = [line for line in lines if "frame_num" in line]
    assert sorted({f["source_id"] for f in frames}) == [0, 1] and len(frames) == 12
    labels = {o["label"] for f in frames for o in f["objects"]}
    assert "person" in labels  # vtest.avi (stream 1) is full of pedestrians
    videos = sorted(tmp_path.glob("demo*.mp4"))
    assert videos
    import av

    with av.open(str(videos[0])) as container:
        assert sum(1 for _ in container.decode(video=0)) >= 6


def test_demo_help_and_launch_string(tmp_path):
    result = subprocess.run([sys.executable, "-m", "vistream.cli", "demo", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "--streams" in result.stdout and "--num-buffers" in result.stdout
    from vistream.commands.demo import demo_launch

    text = demo_launch(["a.mp4"], "out", 5, "det.yaml", set())
    assert "tracker" not in text and "demo_{source_id}.mp4" in text and "jsonsink" in text
