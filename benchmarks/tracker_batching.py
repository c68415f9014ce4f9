"""Tracker cost per frame: one vectorised pass for all streams of a batch against one call per frame.

The ``tracker`` element tracks every frame of a batch in one :meth:`Tracker.update_many` call; the
baseline is what it did before, one :meth:`Tracker.update` per frame on a tracker per stream. Both
get the same synthetic detections (objects walking across 64 streams), prepared beforehand so only
tracking is timed. Prints JSON (best of ``--repeat`` runs).

Usage:
    .venv/bin/python benchmarks/tracker_batching.py [--streams 64] [--objects 5] [--frames 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from vistream.core.meta import Objects  # noqa: E402
from vistream.elements.track import ALGORITHMS, TrackerConfig, make_tracker  # noqa: E402
from vistream.elements.track.base import TrackInput  # noqa: E402


def batches(streams: int, objects: int, frames: int, seed: int = 0) -> list[list[TrackInput]]:
    """Per frame, one TrackInput per stream: ``objects`` boxes drifting 0.5 px per frame."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 1000, (streams, objects, 2))
    out = []
    for frame in range(frames):
        batch = []
        for stream in range(streams):
            corner = start[stream] + frame * 0.5
            boxes = np.concatenate([corner, corner + 80], axis=1).astype(np.float32)
            batch.append(TrackInput(stream, Objects.from_arrays(
                boxes, confidence=np.full(objects, 0.9, np.float32), class_id=np.zeros(objects, np.int32),
                labels=["person"] * objects), frame))
        out.append(batch)
    return out


def measure(algorithm: str, data: list[list[TrackInput]], repeat: int) -> dict:
    config = TrackerConfig(algorithm=algorithm)
    frames = sum(len(batch) for batch in data)
    batched, single = [], []
    for _ in range(repeat):
        tracker = make_tracker(config)
        started = time.perf_counter()
        for batch in data:
            tracker.update_many(batch)
        batched.append(time.perf_counter() - started)
        alone = {item.source_id: make_tracker(config, item.source_id) for item in data[0]}
        started = time.perf_counter()
        for batch in data:
            for item in batch:
                alone[item.source_id].update(item.objects, item.frame_num)
        single.append(time.perf_counter() - started)
    return {"batched_us_per_frame": round(min(batched) / frames * 1e6, 1),
            "per_frame_calls_us_per_frame": round(min(single) / frames * 1e6, 1),
            "speedup": round(min(single) / min(batched), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--objects", type=int, default=5, help="objects per frame")
    parser.add_argument("--frames", type=int, default=100, help="frames per stream")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    args = parser.parse_args()
    data = batches(args.streams, args.objects, args.frames)
    result = {"benchmark": "tracker_batching", "streams": args.streams, "objects_per_frame": args.objects,
              "frames_per_stream": args.frames,
              "algorithms": {name: measure(name, data, args.repeat) for name in args.algorithms.split(",")}}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
