"""Synthetic sequences: exact ground truth, video, and the hard scene's ingredients."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vistream.eval.mot import load_mot
from vistream.eval.sequences import scene_ground_truth, write_sequence
from vistream.media.scene import Scene


def test_hard_scene_has_entries_exits_stops_and_full_occlusions() -> None:
    scene = Scene.hard(num_objects=12, num_frames=300, seed=0)
    gt = scene_ground_truth(scene, 300)
    ids = np.unique(gt[:, 1])
    assert len(ids) == 12  # pillars are scenery, not ground truth
    first = {i: gt[gt[:, 1] == i, 0].min() for i in ids}
    last = {i: gt[gt[:, 1] == i, 0].max() for i in ids}
    assert any(f > 1 for f in first.values()) and any(v < 300 for v in last.values())  # entries and exits
    hidden = gt[gt[:, 8] == 0]
    assert len(np.unique(hidden[:, 1])) >= 3  # several objects are fully hidden for a while
    crossings = 0
    for frame in range(1, 301):
        rows = gt[gt[:, 0] == frame]
        crossings += int(((rows[:, 8] > 0) & (rows[:, 8] < 0.9)).sum())
    assert crossings > 50  # partial occlusions by other objects or pillars
    stopped = 0
    for obj in scene.objects:
        points = obj.keyframes
        stopped += any(a[1:] == b[1:] and a[0] != b[0] for a, b in zip(points, points[1:], strict=False))
    assert stopped >= 2


def test_write_sequence_with_video(tmp_path: Path) -> None:
    import av

    scene = Scene.hard(320, 240, num_objects=4, num_frames=30, seed=1)
    folder = write_sequence(tmp_path / "seq", scene, 30, fps=10)
    gt = load_mot(folder / "gt" / "gt.txt")
    assert np.allclose(gt[:, 8], scene_ground_truth(scene, 30)[:, 8], atol=1e-3)
    with av.open(str(folder / "video.mp4")) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 30 and (frames[0].width, frames[0].height) == (320, 240)
    assert "seqLength=30" in (folder / "seqinfo.ini").read_text()
