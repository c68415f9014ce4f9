"""Pipeline overhead: `urisrc -> streammux -> fakesink` against a plain PyAV decode loop.

Both sides do the same work per frame (demux, decode, convert to an RGB NumPy array). The plain
loop reads the files one after another in one thread, as a simple script would; the pipeline runs
one decoder thread per source and batches across sources.

Usage: python benchmarks/pipeline_overhead.py [--repeats 3] [--clip bikes.mp4 ...]
Prints JSON and writes benchmarks/results/pipeline_overhead-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import av

import vistream
from vistream.media.samples import require_sample


def plain_loop(paths: list[Path]) -> tuple[int, float]:
    """Decode every file sequentially with PyAV, converting frames to RGB arrays."""
    started = time.perf_counter()
    frames = 0
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                frame.to_ndarray(format="rgb24")
                frames += 1
    return frames, time.perf_counter() - started


def pipeline_run(paths: list[Path]) -> tuple[int, float]:
    """The same files through urisrc -> streammux -> fakesink."""
    links = " ".join(f"urisrc uri={path} ! mux.sink_{index}" for index, path in enumerate(paths))
    pipeline = vistream.parse_launch(f"{links} streammux name=mux batch-size={len(paths)} ! fakesink name=sink")
    started = time.perf_counter()
    pipeline.run(timeout=600)
    elapsed = time.perf_counter() - started
    frames = sum(s["frames"] for s in pipeline.stats()["streams"].values())
    if pipeline.bus.errors:
        raise RuntimeError(f"pipeline errors: {[str(m) for m in pipeline.bus.errors]}")
    return frames, elapsed


def best_of(fn, paths: list[Path], repeats: int) -> dict:
    runs = [fn(paths) for _ in range(repeats)]
    frames = runs[0][0]
    best = min(elapsed for _, elapsed in runs)
    return {"frames": frames, "seconds": round(best, 3), "fps": round(frames / best, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the best is kept")
    parser.add_argument("--clip", action="append", default=None, help="sample names (default: bikes.mp4 and vtest.avi)")
    parser.add_argument("--output", default=None, help="JSON results file (default: benchmarks/results/...)")
    args = parser.parse_args()
    clips = [require_sample(name) for name in (args.clip or ["bikes.mp4", "vtest.avi"])]
    cases = {"1 stream": clips[:1], "4 streams": [clips[i % len(clips)] for i in range(4)]}
    results = {}
    for label, paths in cases.items():
        baseline = best_of(plain_loop, paths, args.repeats)
        ours = best_of(pipeline_run, paths, args.repeats)
        results[label] = {
            "inputs": [p.name for p in paths],
            "plain_pyav_loop": baseline,
            "pipeline": ours,
            "ratio": round(ours["fps"] / baseline["fps"], 3),
        }
    report = {
        "benchmark": "pipeline_overhead",
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
        "date": time.strftime("%Y-%m-%d"),
        "av": av.__version__,
        "repeats": args.repeats,
        "results": results,
        "expected": "ratio >= 0.9 on 1 stream, > 1.0 on 4 streams",
    }
    text = json.dumps(report, indent=2)
    print(text)
    output = Path(args.output) if args.output else Path(__file__).parent / "results" / "pipeline_overhead-cpu.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")


if __name__ == "__main__":
    main()
