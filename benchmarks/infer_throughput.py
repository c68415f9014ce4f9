"""Inference throughput: `urisrc -> streammux -> infer -> fakesink` against a bare ONNX Runtime session.

Both sides run the zoo's yolov3-tiny at the same batch size with the same ONNX Runtime threads on
the same frames: the bare session is fed the very batches the pipeline makes (decoded and
pre-processed beforehand, outside its timer), so its time is the model alone. The pipeline's time
covers everything: decoding, batching, pre-processing, inference, parsing, NMS and metadata.
Start-up (model load, dry run) is outside both timers. Both sessions use the backend's options
(intra-op threads, no spinning). The two sides alternate; ``ratio`` compares the best run of
each, ``paired_ratios`` each pipeline run with the bare run just before it (the machine's load from
other processes shows as spread there).

Usage: python benchmarks/infer_throughput.py [--streams 4] [--frames 30] [--repeats 4]
Prints JSON and writes benchmarks/results/infer_throughput-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import av
import onnxruntime as ort

import vistream
from vistream.elements.infer.backends.onnxruntime import default_threads
from vistream.elements.infer.engine import InferEngine
from vistream.media.samples import require_sample
from vistream.models.zoo import MODELS, fetch


def decode(path: Path, count: int) -> list:
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def bare_session(paths: list[Path], frames: int, batch_size: int, config: Path, threads: int) -> dict:
    """The model alone: pre-made batches through one InferenceSession."""
    engine = InferEngine.from_file(config)  # only to pre-process exactly as the element does
    per_stream = [decode(path, frames) for path in paths]
    images = [stream[i] for i in range(frames) for stream in per_stream]  # streammux order: one per source
    batches = [engine.preprocess(images[i:i + batch_size], None, "cpu")[0] for i in range(0, len(images), batch_size)]
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the onnxruntime backend
    session = ort.InferenceSession(str(fetch("yolov3-tiny").onnx), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: batches[0]})  # warm-up
    started = time.perf_counter()
    for batch in batches:
        session.run(None, {name: batch})
    elapsed = time.perf_counter() - started
    return {"frames": len(images), "seconds": round(elapsed, 3), "fps": round(len(images) / elapsed, 2)}


def pipeline_run(paths: list[Path], frames: int, batch_size: int, config: Path, threads: int) -> dict:
    sources = " ".join(f"urisrc uri={p} num-buffers={frames} ! mux.sink_{i}" for i, p in enumerate(paths))
    pipeline = vistream.parse_launch(f"{sources} streammux name=mux batch-size={batch_size} ! "
                                     f"infer name=infer config={config} threads={threads} batch-size={batch_size} ! "
                                     "fakesink name=sink")
    pipeline.start()  # opens the model and does its dry run before any frame flows
    started = time.perf_counter()
    if not pipeline.wait(600):
        raise RuntimeError("pipeline did not finish in 600 s")
    elapsed = time.perf_counter() - started
    stats = pipeline.stats()
    pipeline.stop()
    if pipeline.bus.errors:
        raise RuntimeError(f"pipeline errors: {[str(m) for m in pipeline.bus.errors]}")
    count = sum(s["frames"] for s in stats["streams"].values())
    return {"frames": count, "seconds": round(elapsed, 3), "fps": round(count / elapsed, 2),
            "infer_mean_ms_per_batch": round(stats["elements"]["infer"]["mean_ms"], 1)}


def interleaved(repeats: int, *args) -> tuple[list[dict], list[dict]]:
    """Alternate the two sides, so that load from other processes hits both alike."""
    bare_runs, pipeline_runs = [], []
    for _ in range(repeats):
        bare_runs.append(bare_session(*args))
        pipeline_runs.append(pipeline_run(*args))
    return bare_runs, pipeline_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4, help="sources (bikes.mp4 and vtest.avi in turn)")
    parser.add_argument("--frames", type=int, default=30, help="frames per stream")
    parser.add_argument("--repeats", type=int, default=4, help="alternating runs per side")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: every usable core)")
    parser.add_argument("--output", default=None, help="JSON results file (default: benchmarks/results/...)")
    args = parser.parse_args()
    fetch("yolov3-tiny")
    clips = [require_sample(name) for name in ("bikes.mp4", "vtest.avi")]
    paths = [clips[i % len(clips)] for i in range(args.streams)]
    config = MODELS["yolov3-tiny"].config_path()
    threads = args.threads or default_threads()
    batch_size = args.streams
    bare_runs, pipeline_runs = interleaved(args.repeats, paths, args.frames, batch_size, config, threads)
    bare = max(bare_runs, key=lambda run: run["fps"])
    ours = max(pipeline_runs, key=lambda run: run["fps"])
    paired = sorted(p["fps"] / b["fps"] for b, p in zip(bare_runs, pipeline_runs, strict=True))
    report = {
        "benchmark": "infer_throughput",
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
        "date": time.strftime("%Y-%m-%d"),
        "model": "yolov3-tiny 416x416 (zoo, ONNX)",
        "onnxruntime": ort.__version__,
        "threads": threads,
        "batch_size": batch_size,
        "inputs": [p.name for p in paths],
        "bare_onnxruntime_session": bare,
        "pipeline": ours,
        "ratio": round(ours["fps"] / bare["fps"], 3),
        "paired_ratios": [round(r, 3) for r in paired],
        "median_paired_ratio": round(paired[len(paired) // 2], 3),
        "all_fps": {"bare": [r["fps"] for r in bare_runs], "pipeline": [r["fps"] for r in pipeline_runs]},
        "expected": "ratio >= 0.9 on CPU",
    }
    text = json.dumps(report, indent=2)
    print(text)
    output = Path(args.output) if args.output else Path(__file__).parent / "results" / "infer_throughput-cpu.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")


if __name__ == "__main__":
    main()
