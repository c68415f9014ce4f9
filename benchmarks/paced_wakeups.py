"""CPU cost per frame of paced sources through ``streammux``: woken per batch vs per frame.

N ``urisrc`` sources paced like cameras (``sync=true``, tiny generated frames, so decoding costs
little) feed ``streammux -> fakesink``. The run is made twice in one process: as the pipeline is
(``streammux`` asks its queue to wake it for the rest of a batch, ``items_wanted``), and as the
baseline with the mux woken for every frame. The figure is process CPU time per frame.

Usage: python benchmarks/paced_wakeups.py [--streams 24] [--seconds 8] [--repeats 2]
Prints JSON and writes benchmarks/results/paced_wakeups-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import vistream
from vistream.elements.streammux import StreamMux


def measure(streams: int, seconds: float) -> dict:
    """Frames/s and CPU microseconds per frame over ``seconds`` after a 3 s warm-up."""
    sources = " ".join(f"urisrc uri=lavfi:testsrc2=size=32x24:rate=30 sync=true ! mux.sink_{i}" for i in range(streams))
    pipeline = vistream.parse_launch(f"{sources} streammux name=mux batch-size={streams} ! fakesink")
    pipeline.start()
    try:
        time.sleep(3)
        mux = pipeline["mux"]
        frames0, batches0, cpu0, wall0 = mux.frames_in, mux.batches_out, os.times(), time.perf_counter()
        time.sleep(seconds)
        frames1, batches1, cpu1, wall1 = mux.frames_in, mux.batches_out, os.times(), time.perf_counter()
    finally:
        pipeline.stop(timeout=10)
    frames = max(1, frames1 - frames0)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {"fps": round(frames / (wall1 - wall0), 1), "mean_batch": round(frames / max(1, batches1 - batches0), 1),
            "cpu_us_per_frame": round(cpu / frames * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", default=None, help="JSON results file (default: benchmarks/results/...)")
    args = parser.parse_args()
    woken_per_batch = StreamMux.items_wanted
    runs: dict[str, list[dict]] = {"woken_per_batch": [], "woken_per_frame": []}
    for _ in range(args.repeats):  # interleaved, so drift on the machine hits both alike
        StreamMux.items_wanted = woken_per_batch  # type: ignore[method-assign]
        runs["woken_per_batch"].append(measure(args.streams, args.seconds))
        StreamMux.items_wanted = lambda self: 1  # type: ignore[method-assign]  # the baseline
        runs["woken_per_frame"].append(measure(args.streams, args.seconds))
    StreamMux.items_wanted = woken_per_batch  # type: ignore[method-assign]
    best = {name: min(r["cpu_us_per_frame"] for r in results) for name, results in runs.items()}
    result = {
        "benchmark": "paced_wakeups", "streams": args.streams, "seconds": args.seconds,
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
        "runs": runs, "best_cpu_us_per_frame": best,
        "cpu_saved": round(1 - best["woken_per_batch"] / best["woken_per_frame"], 3),
    }
    text = json.dumps(result, indent=2)
    print(text)
    target = Path(args.output) if args.output else (
        Path(__file__).parent / "results" / f"paced_wakeups-{platform.machine()}-{os.cpu_count()}cpu.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n")


if __name__ == "__main__":
    main()
