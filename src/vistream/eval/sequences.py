"""Synthetic tracking sequences: video plus exact MOTChallenge ground truth from a :class:`Scene`.

Layout written (as MOTChallenge): ``FOLDER/video.mp4``, ``FOLDER/gt/gt.txt`` (with each object's
visible fraction in the last column) and ``FOLDER/seqinfo.ini``.

Example:
    >>> import tempfile
    >>> from vistream.eval.sequences import write_sequence
    >>> from vistream.media.scene import Scene
    >>> folder = write_sequence(tempfile.mkdtemp(), Scene.hard(320, 240, num_objects=3, num_frames=20),
    ...                         num_frames=20, video=False)
    >>> (folder / "gt" / "gt.txt").read_text().count("\\n") > 0
    True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vistream.eval.mot import to_mot_rows, write_mot
from vistream.media.scene import Scene


def scene_ground_truth(scene: Scene, num_frames: int) -> np.ndarray:
    """MOTChallenge ground-truth rows ``[N, 9]`` of a scene's first ``num_frames`` frames."""
    rows = []
    for frame in range(num_frames):
        truth, visible = scene.truth(frame)
        rows.append(to_mot_rows(frame, truth, visible))
    return np.concatenate(rows) if rows else np.zeros((0, 9))


def write_sequence(folder: str | Path, scene: Scene, num_frames: int, fps: float = 25.0,
                   video: bool = True, name: str | None = None) -> Path:
    """Write the ground truth (and an H.264 video unless ``video`` is False) of a scene."""
    folder = Path(folder)
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    write_mot(folder / "gt" / "gt.txt", scene_ground_truth(scene, num_frames), ground_truth=True)
    (folder / "seqinfo.ini").write_text(
        "[Sequence]\n"
        f"name={name or folder.name}\nimDir=img1\nframeRate={fps:g}\nseqLength={num_frames}\n"
        f"imWidth={scene.width}\nimHeight={scene.height}\nimExt=.jpg\n")
    if video:
        _write_video(folder / "video.mp4", scene, num_frames, fps)
    return folder


def _write_video(path: Path, scene: Scene, num_frames: int, fps: float) -> None:
    import fractions

    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fractions.Fraction(fps).limit_denominator(1000))
        stream.width = scene.width - scene.width % 2
        stream.height = scene.height - scene.height % 2
        stream.pix_fmt = "yuv420p"
        for frame_num in range(num_frames):
            image, _ = scene.render(frame_num)
            image = np.ascontiguousarray(image[: stream.height, : stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
