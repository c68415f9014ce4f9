"""Runtime overhead per frame: `testsrc x N -> streammux -> fakesink` with tiny frames.

With 32x32 frames almost all the time is vistream's own per-frame work (frame and metadata
objects, queues, threads, batching, statistics). The baseline in the same run is a plain loop that
makes the same frames (the same pixel copy and `Frame` object) in one thread, with no pipeline.

Usage: python benchmarks/core_throughput.py [--sources 16] [--frames 1000] [--repeats 3]
Prints JSON and writes benchmarks/results/core_throughput-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import vistream
from vistream.core.buffer import Batch, Frame


def plain_loop(sources: int, frames: int) -> float:
    """Frames per second of making the same frames without a pipeline."""
    base = np.zeros((32, 32, 3), np.uint8)
    started = time.perf_counter()
    for number in range(frames):
        batch = Batch([Frame.from_image(base.copy(), source_id=s, frame_num=number) for s in range(sources)])
        del batch
    return sources * frames / (time.perf_counter() - started)


def pipeline_run(sources: int, frames: int) -> float:
    links = " ".join(f"testsrc num-buffers={frames} width=32 height=32 pattern=black ! mux.sink_{i}" for i in range(sources))
    pipeline = vistream.parse_launch(f"{links} streammux name=mux batch-size={sources} ! fakesink")
    started = time.perf_counter()
    pipeline.run(timeout=600)
    return sources * frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=16)
    parser.add_argument("--frames", type=int, default=1000, help="frames per source")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side; the best is kept")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    baseline = max(plain_loop(args.sources, args.frames) for _ in range(args.repeats))
    ours = max(pipeline_run(args.sources, args.frames) for _ in range(args.repeats))
    report = {
        "benchmark": "core_throughput",
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
        "date": time.strftime("%Y-%m-%d"),
        "load_average": os.getloadavg()[0],
        "sources": args.sources,
        "frames_per_source": args.frames,
        "plain_loop_fps": round(baseline),
        "pipeline_fps": round(ours),
        "pipeline_us_per_frame": round(1e6 / ours, 1),
        "plain_loop_us_per_frame": round(1e6 / baseline, 1),
    }
    text = json.dumps(report, indent=2)
    print(text)
    output = Path(args.output) if args.output else Path(__file__).parent / "results" / "core_throughput-cpu.json"
    output.write_text(text + "\n")


if __name__ == "__main__":
    main()
