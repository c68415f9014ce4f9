"""Stream density on one NVIDIA GPU: how many real-time 1080p30 H.264 streams one machine analyses.

Everything in one run (JSON on stdout, a copy in ``benchmarks/results/stream_density-<device>.json``):

* ``decode``: decoding ceilings, no model: NVDEC (PyNvVideoCodec, many decoders in threads), the
  CPU decoders (PyAV, one stream a thread, frames converted to NV12 as the pipeline does), and
  both at once.
* ``model``: each model alone (torch backend: fp16, channels-last, CUDA graph) at the pipeline's
  batch size, and the whole GPU inference step (NV12 pre-processing + model + decode/NMS).
* ``throughput``: N copies of the clip read as fast as possible through
  ``urisrc(decoder=auto) -> streammux -> infer(torch) -> tracker -> msgconv -> fakesink``.
* ``density``: the same pipeline with every source paced at its frame rate (``sync=true``, like
  a camera); N grows until some stream falls under 30 fps: the largest N that held is reported.
* ``naive``: the baseline many teams start from: per stream a thread with ``cv2.VideoCapture``,
  CPU resize, upload, the same torch model at batch 1 (fp16, eager), outputs copied back.
* ``latency``: one live-paced 1080p30 stream through the pipeline (NVDEC, batch 1): frame decoded
  -> sink, p50 / p99.

``--source multiurisrc`` replaces ``urisrc`` x N + ``streammux`` by one ``multiurisrc`` (its
streams in helper threads, pacing and batching in the element's thread); ``multiurisrc-direct``
reads the NVDEC streams from that one thread (experimental). Paced runs need a long ``--warmup``
(40 s): processes that started later catch up above 30 fps for tens of seconds.

Models: the zoo's yolov3-tiny (Darknet COCO weights, 416x416) and a YOLOv8n-shaped network with
random weights at 640x640 (``benchmarks/yolov8n_shaped.py``; only its speed means anything).

Usage (on the GPU machine; see docs of the device tool):
    PYTHONPATH=src:. python3 benchmarks/stream_density.py --clip clip1080p30.mp4 \\
        --yolov3-tiny yolov3-tiny.onnx --labels labels.txt
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))


# ---- helpers ------------------------------------------------------------------------------------------
def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def run_threads(count: int, work: Any, seconds: float, warmup: float = 2.0) -> tuple[int, float, list[int]]:
    """Run ``work(index, stop_event, counter_list)`` in ``count`` threads; frames counted over
    ``seconds`` after ``warmup`` (decoders opening, CUDA starting in each process stay out)."""
    stop = threading.Event()
    counts = [0] * count
    threads = [threading.Thread(target=work, args=(i, stop, counts), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    before, started = list(counts), time.perf_counter()
    time.sleep(seconds)
    snapshot = [after - first for after, first in zip(counts, before, strict=True)]
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    return sum(snapshot), elapsed, snapshot


# ---- decode ceilings ------------------------------------------------------------------------------------
def nvdec_worker(clip: str, threaded: bool = False) -> Any:
    from vistream.media.nvdec import NvdecReader

    def work(index: int, stop: threading.Event, counts: list[int]) -> None:
        reader = NvdecReader(clip, 0, threaded=threaded)
        while not stop.is_set():
            for _ in reader.frames():
                counts[index] += 1
                if stop.is_set():
                    break
            if not stop.is_set() and not reader.rewind():  # loop as urisrc does: same decoder when it can
                reader.close()
                reader = NvdecReader(clip, 0, threaded=threaded)
        reader.close()

    return work


def cpu_worker(clip: str, threads: int) -> Any:
    import av

    def work(index: int, stop: threading.Event, counts: list[int]) -> None:
        while not stop.is_set():
            with av.open(clip) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                if threads:
                    stream.codec_context.thread_count = threads
                for frame in container.decode(stream):
                    frame.to_ndarray(format="nv12")
                    counts[index] += 1
                    if stop.is_set():
                        break

    return work


def decode_ceilings(clip: str, nvdec_threads: int, cpu_streams: int, cpu_threads: int, seconds: float) -> dict:
    result: dict[str, Any] = {}
    total, elapsed, _ = run_threads(nvdec_threads, nvdec_worker(clip), seconds)
    result["nvdec"] = {"decoders": nvdec_threads, "fps": round(total / elapsed, 1)}
    log("decode nvdec", result["nvdec"])
    total, elapsed, _ = run_threads(nvdec_threads, nvdec_worker(clip, threaded=True), seconds)
    result["nvdec_threaded"] = {"decoders": nvdec_threads, "fps": round(total / elapsed, 1),
                                "note": "PyNvVideoCodec ThreadedDecoder: demux + decode in its own threads"}
    log("decode nvdec threaded", result["nvdec_threaded"])
    total, elapsed, _ = run_threads(cpu_streams, cpu_worker(clip, cpu_threads), seconds)
    result["cpu"] = {"streams": cpu_streams, "threads_per_stream": cpu_threads, "fps": round(total / elapsed, 1)}
    log("decode cpu", result["cpu"])
    result["both"] = decode_both(clip, nvdec_threads, cpu_streams, cpu_threads, seconds)
    log("decode both", result["both"])
    return result


def decode_both(clip: str, nvdec_decoders: int, cpu_streams: int, cpu_threads: int, seconds: float,
                warmup: float = 2.0) -> dict:
    """NVDEC (threaded decoders) and CPU decoders at once in this process; frames / s of each."""
    nv, cpu = nvdec_worker(clip, threaded=True), cpu_worker(clip, cpu_threads)

    def both(index: int, stop: threading.Event, counts: list[int]) -> None:
        (nv if index < nvdec_decoders else cpu)(index, stop, counts)

    total, elapsed, counts = run_threads(nvdec_decoders + cpu_streams, both, seconds, warmup)
    return {"fps": round(total / elapsed, 1), "nvdec_decoders": nvdec_decoders, "cpu_streams": cpu_streams,
            "nvdec_fps": round(sum(counts[:nvdec_decoders]) / elapsed, 1),
            "cpu_fps": round(sum(counts[nvdec_decoders:]) / elapsed, 1)}


def split(total: int, parts: int) -> list[int]:
    """``total`` items over ``parts`` shares, as even as possible (larger shares first)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def worker_env(index: int, gpus: list[int]) -> dict[str, str]:
    """Environment of worker ``index``: its GPU (round-robin over ``gpus``) is the only one it sees."""
    return {**os.environ, "CUDA_VISIBLE_DEVICES": str(gpus[index % len(gpus)])}


def collect(workers: list[Any], timeout: float, log_dir: str = "") -> list[dict | str]:
    """Each worker's last stdout line as JSON, or why it printed none (exit status, last error line).
    With ``log_dir``, every worker's whole stderr is kept there (capture warnings, crashes)."""
    parts: list[dict | str] = []
    for worker in workers:
        out, err = worker.communicate(timeout=timeout)
        if log_dir:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            (Path(log_dir) / f"worker-{worker.pid}-exit{worker.returncode}.log").write_text(err)
        try:
            parts.append(json.loads(out.strip().splitlines()[-1]))
        except (IndexError, ValueError):
            lines = err.strip().splitlines()
            errors = [line for line in lines if "Error" in line or "error" in line and "Warning" not in line]
            parts.append(f"exit status {worker.returncode}: {(errors or lines or ['no output'])[-1].strip()}")
    return parts


def decode_processes(args: argparse.Namespace, nvdec_decoders: int, cpu_streams: int) -> dict:
    """The decoding ceiling of the pipeline's own split: the same decoders over the same processes.

    Each of ``args.processes`` processes decodes its share of NVDEC and CPU streams (no model,
    no pipeline), as fast as it can; the figures of all processes are added.
    """
    import subprocess

    nv_shares, cpu_shares = split(nvdec_decoders, args.processes), split(cpu_streams, args.processes)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker-decode", "--clip", args.clip, "--yolov3-tiny", "-",
               "--labels", "-", "--seconds", str(args.seconds), "--cpu-threads", str(args.cpu_threads),
               "--warmup", str(args.warmup + 5)]  # every process has CUDA up and its decoders open
    workers = [subprocess.Popen([*command, "--nvdec-threads", str(nv), "--cpu-streams", str(cpu)], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=worker_env(i, args.gpu_list))
               for i, (nv, cpu) in enumerate(zip(nv_shares, cpu_shares, strict=True))]
    parts = collect(workers, timeout=args.seconds * 4 + 120)
    good = [p for p in parts if isinstance(p, dict)]
    result = {"processes": args.processes, "gpus": len(args.gpu_list), "nvdec_decoders": nvdec_decoders,
              "cpu_streams": cpu_streams, "fps": round(sum(p["fps"] for p in good), 1),
              "nvdec_fps": round(sum(p["nvdec_fps"] for p in good), 1),
              "cpu_fps": round(sum(p["cpu_fps"] for p in good), 1),
              "errors": [p for p in parts if isinstance(p, str)][:3]}
    log("decode processes", result)
    return result


# ---- models ----------------------------------------------------------------------------------------------
def infer_config(path: Path, onnx_file: str, labels: str, parser: str, size: int, letterbox: bool,
                 batch_size: int, threshold: float, device: str = "cuda") -> str:
    import yaml

    config = {
        "onnx-file": onnx_file, "labelfile-path": labels, "network-type": "detector", "parser": parser,
        "num-detected-classes": 80, "net-scale-factor": 1 / 255, "model-color-format": "RGB",
        "maintain-aspect-ratio": letterbox, "symmetric-padding": letterbox, "infer-dims": [3, size, size],
        "batch-size": batch_size, "backend": "torch", "device": device, "gie-unique-id": 1, "cluster-mode": "nms",
        "class-attrs-all": {"pre-cluster-threshold": threshold, "nms-iou-threshold": 0.45, "topk": 100},
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


def model_ceiling(config_path: str, batch: int, seconds: float, clip_frame: Any) -> dict:
    """Model alone (graph replays on a fixed input) and the full GPU inference step on NV12 frames."""
    import torch

    from vistream.accel.cuda_infer import detect_on_gpu, prepare_fused_step
    from vistream.elements.infer.config import load_config
    from vistream.elements.infer.engine import InferEngine

    config = load_config(config_path)
    config.set("batch-size", batch)
    engine = InferEngine(config)
    backend = engine.backend
    x = torch.rand(batch, 3, engine.height, engine.width, device="cuda", dtype=torch.float16)

    def timed(step: Any) -> float:
        for _ in range(5):
            step()
        torch.cuda.synchronize()
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            step()
            count += 1
        torch.cuda.synchronize()
        return count * batch / (time.perf_counter() - started)

    model_fps = timed(lambda: backend.infer(x))
    frames = [clip_frame.clone() for _ in range(batch)]
    height, width = clip_frame.shape[0] * 2 // 3, clip_frame.shape[1]
    fused = prepare_fused_step(engine, width, height) is not None  # as infer does at start-up
    boxes: list[int] = []
    step_fps = timed(lambda: boxes.append(sum(len(d) for d in detect_on_gpu(engine, frames, "cuda"))))
    engine.close()
    return {"batch": batch, "model_fps": round(model_fps, 1), "infer_step_fps": round(step_fps, 1),
            "boxes_per_frame": round(float(np.mean(boxes)) / batch, 2) if boxes else 0.0,
            "cuda_graphs": backend.graph_replays > 0, "fused_graph": fused}


# ---- the pipeline ------------------------------------------------------------------------------------------
def build_pipeline(clip: str, streams: int, config_path: str, batch: int, sync: bool, nvdec_sessions: int,
                   cpu_threads: int, tracker: str, source: str = "urisrc") -> Any:
    """``urisrc`` x N -> ``streammux`` (a thread per stream), or one ``multiurisrc`` (one thread for
    all streams), then infer -> tracker -> msgconv -> fakesink."""
    from vistream.core.pipeline import Pipeline

    pipeline = Pipeline(f"density-{streams}")
    if source.startswith("multiurisrc"):
        chain = [pipeline.make("multiurisrc", "src", uri_list=[clip] * streams, loop=True, sync=sync, decoder="auto",
                               nvdec_sessions=nvdec_sessions, batch_size=min(batch, streams),
                               direct_nvdec=source.endswith("-direct"))]
    else:
        mux = pipeline.make("streammux", "mux", batch_size=min(batch, streams))
        for index in range(streams):
            element = pipeline.make("urisrc", f"src{index}", uri=clip, loop=True, sync=sync, decoder="auto",
                                    nvdec_sessions=nvdec_sessions, threads=cpu_threads)
            pipeline.link(element, f"mux.sink_{index}")
        chain = [mux]
    chain.append(pipeline.make("infer", "infer", config=config_path, batch_size=min(batch, streams)))
    if tracker:
        chain.append(pipeline.make("tracker", "tracker", algorithm=tracker))
    chain.append(pipeline.make("msgconv", "msgconv"))
    chain.append(pipeline.make("fakesink", "sink"))
    pipeline.link_many(*chain)
    return pipeline


def measure_pipeline(pipeline: Any, streams: int, warmup: float, seconds: float, measure_at: float = 0.0) -> dict:
    """Frames per stream over ``seconds``, after every stream has started and ``warmup`` more
    seconds, or from the wall-clock time ``measure_at`` when given (the processes of one run then
    measure the same window, none of them still catching up on its start while others count)."""
    sink = pipeline["sink"]
    started = time.perf_counter()
    pipeline.start()
    deadline = started + 120
    while time.perf_counter() < deadline and len(sink.stream_stats.frames) < streams:
        time.sleep(0.2)
    startup = time.perf_counter() - started
    time.sleep(max(measure_at - time.time(), 0.0) if measure_at else warmup)
    before, t0 = dict(sink.stream_stats.frames), time.perf_counter()
    time.sleep(seconds)
    after, t1 = dict(sink.stream_stats.frames), time.perf_counter()
    errors = [m.text for m in pipeline.bus.errors][:3]
    if "mux" in pipeline:
        sources = [pipeline[f"src{i}"] for i in range(streams)]
        nvdec, copies = sum(1 for s in sources if s.decoding_on == "nvdec"), sum(s.host_to_device for s in sources)
    else:  # multiurisrc
        nvdec = sum(s.on_nvdec for s in pipeline["src"].streams)
        copies = pipeline["src"].host_to_device
    engine = pipeline["infer"].engine
    from vistream.accel.cuda_infer import FusedStep

    steps = [step for step in (engine.gpu_steps.values() if engine else ()) if isinstance(step, FusedStep)]
    fused, fallbacks = len(steps), sum(step.fallbacks for step in steps)
    pipeline.stop(timeout=15)
    per_stream = [(after.get(i, 0) - before.get(i, 0)) / (t1 - t0) for i in range(streams)]
    elements = {name: pipeline[name].stats.summary() for name in ("src", "mux", "infer", "tracker", "msgconv", "sink")
                if name in pipeline}
    return {
        "streams": streams, "fps": round(sum(per_stream), 1), "min_stream_fps": round(min(per_stream), 2),
        "mean_stream_fps": round(float(np.mean(per_stream)), 2), "startup_s": round(startup, 1),
        "nvdec_streams": nvdec, "cpu_streams": streams - nvdec, "host_to_device_copies": copies, "fused_graphs": fused,
        "graph_postprocess_redone": fallbacks,
        "elements": elements, "latency": sink.stream_stats.latency_summary(), "errors": errors,
    }


def run_pipeline(args: argparse.Namespace, config_path: str, streams: int, sync: bool, seconds: float) -> dict:
    pipeline = build_pipeline(args.clip, streams, config_path, args.batch, sync, args.nvdec_sessions,
                              args.cpu_threads, args.tracker, args.source)
    result = measure_pipeline(pipeline, streams, args.warmup, seconds, args.measure_at)
    log("pipeline", "sync" if sync else "fast", {k: v for k, v in result.items() if k not in ("elements", "latency")},
        {name: (e.get("mean_ms"), e.get("mean_batch_size")) for name, e in result["elements"].items()})
    return result


def run_processes(args: argparse.Namespace, config_path: str, streams: int, sync: bool, seconds: float,
                  processes: int | None = None, gpus: list[int] | None = None) -> dict:
    """The same pipeline in several processes (sources split between them), measured together.

    One Python process tops out near 1,000 frames/s here: every element runs in a thread of one
    interpreter, so the GIL serialises their per-frame Python work. Processes share the GPU (and its
    NVDEC engines) but not the GIL. With several ``gpus``, processes take them in turn, each
    seeing only its own (``CUDA_VISIBLE_DEVICES``).
    """
    import subprocess

    processes = processes or args.processes
    gpus = gpus or args.gpu_list
    if processes <= 1 and gpus == [0]:
        return run_pipeline(args, config_path, streams, sync, seconds)
    shares = [n for n in split(streams, processes) if n]
    sessions = split(args.nvdec_sessions * len(gpus), processes)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--clip", args.clip, "--yolov3-tiny", "-",
               "--labels", "-", "--worker-config", config_path, "--seconds", str(seconds), "--warmup", str(args.warmup + 5),
               "--batch", str(args.batch), "--cpu-threads", str(args.cpu_threads), "--tracker", args.tracker,
               "--switch-interval", str(args.switch_interval), "--source", args.source,
               # one measuring window for all: start-up (model conversion, graph capture) takes ~20 s
               "--measure-at", str(time.time() + args.startup_allowance + args.warmup)] + (["--worker-sync"] if sync else [])
    workers = [subprocess.Popen([*command, "--worker-streams", str(n), "--nvdec-sessions", str(max(1, sessions[i]))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=worker_env(i, gpus))
               for i, n in enumerate(shares)]
    parts: list[dict] = []
    for share, part in zip(shares, collect(workers, timeout=seconds + args.warmup + 300, log_dir=args.worker_logs),
                           strict=True):
        if isinstance(part, str):  # a worker that died counts as streams at 0 fps, with its reason
            part = {"fps": 0.0, "min_stream_fps": 0.0, "nvdec_streams": 0, "cpu_streams": 0,
                    "host_to_device_copies": 0, "errors": [f"worker ({share} streams) failed: {part}"]}
        parts.append(part)
    result = {
        "streams": streams, "processes": len(parts), "gpus": len(gpus), "fps": round(sum(p["fps"] for p in parts), 1),
        "min_stream_fps": min(p["min_stream_fps"] for p in parts),
        "mean_stream_fps": round(sum(p["fps"] for p in parts) / streams, 2),
        "nvdec_streams": sum(p["nvdec_streams"] for p in parts), "cpu_streams": sum(p["cpu_streams"] for p in parts),
        "host_to_device_copies": sum(p["host_to_device_copies"] for p in parts),
        "errors": [e for p in parts for e in p["errors"]][:3], "per_process": parts,
    }
    log("pipeline", "sync" if sync else "fast", f"{len(parts)} processes on {len(gpus)} GPU(s)",
        {k: v for k, v in result.items() if k != "per_process"})
    return result


def density(args: argparse.Namespace, config_path: str, counts: list[int]) -> dict:
    tried, best = [], 0
    for streams in counts:
        result = run_processes(args, config_path, streams, True, args.seconds)
        tried.append(result)
        if result["min_stream_fps"] >= args.realtime_fps and not result["errors"]:
            best = streams
        else:
            break
    return {"realtime_streams": best, "criterion": f"every stream >= {args.realtime_fps} fps, sources paced at 30 fps",
            "runs": tried}


def latency(args: argparse.Namespace, config_path: str) -> dict:
    from vistream.core.pipeline import Pipeline

    pipeline = Pipeline("latency")
    source = pipeline.make("urisrc", "src0", uri=args.clip, loop=True, sync=True, decoder="nvdec")
    mux = pipeline.make("streammux", "mux", batch_size=1)
    pipeline.link(source, "mux.sink_0")
    chain = [mux, pipeline.make("infer", "infer", config=config_path, batch_size=1)]
    if args.tracker:
        chain.append(pipeline.make("tracker", "tracker", algorithm=args.tracker))
    chain += [pipeline.make("msgconv", "msgconv"), pipeline.make("fakesink", "sink")]
    pipeline.link_many(*chain)
    result = measure_pipeline(pipeline, 1, args.warmup, args.seconds)
    log("latency", result["latency"])
    return {"stream_fps": result["min_stream_fps"], **result["latency"],
            "measured": "decoded frame (Frame.ingest_ns) -> fakesink, one 1080p30 stream paced at 30 fps"}


# ---- naive baseline --------------------------------------------------------------------------------------------
def naive(clip: str, onnx_file: str, size: int, counts: list[int], seconds: float) -> dict:
    import cv2
    import torch

    from vistream.elements.infer.backends.base import create_backend

    backend = create_backend("torch", onnx_file, device="cuda", cuda_graphs=False)
    model = backend.module
    lock = threading.Lock()  # one model, many threads: as a naive app shares it

    def work(index: int, stop: threading.Event, counts_: list[int]) -> None:
        capture = cv2.VideoCapture(clip)
        while not stop.is_set():
            ok, frame = capture.read()
            if not ok:
                capture.release()
                capture = cv2.VideoCapture(clip)
                continue
            image = cv2.cvtColor(cv2.resize(frame, (size, size)), cv2.COLOR_BGR2RGB)
            tensor = torch.from_numpy(image).cuda().permute(2, 0, 1)[None].half().div_(255)
            with lock, torch.inference_mode():
                output = model(tensor.contiguous(memory_format=torch.channels_last))
            output = (output[0] if isinstance(output, (list, tuple)) else output).float().cpu().numpy()
            _ = output[output[..., 4] > 0.3] if output.shape[-1] == 85 else output[:, 4:].max(axis=1)
            counts_[index] += 1
        capture.release()

    runs = []
    for streams in counts:
        total, elapsed, per = run_threads(streams, work, seconds)
        runs.append({"streams": streams, "fps": round(total / elapsed, 1),
                     "min_stream_fps": round(min(per) / elapsed, 2)})
        log("naive", runs[-1])
    realtime = max([r["streams"] for r in runs if r["min_stream_fps"] >= 30] or [0])
    return {"runs": runs, "peak_fps": max(r["fps"] for r in runs), "realtime_streams": realtime}


def summarize(result: dict) -> dict:
    """Headline figures against the issue's expectations (computed from the measurements above)."""
    decode = result.get("decode", {})
    decode_ceiling = max([d.get("fps", 0) for d in decode.values()] or [0])
    summary: dict[str, Any] = {"decode_ceiling_fps": decode_ceiling}
    for name, entry in result.get("models", {}).items():
        best = max(entry.get("throughput", {}).get("fps", 0), entry.get("throughput_processes", {}).get("fps", 0))
        model = entry.get("ceiling", {}).get("model_fps", 0)
        naive_peak = entry.get("naive", {}).get("peak_fps", 0)
        summary[name] = {
            "best_fps": best, "ceiling_fps": min(decode_ceiling, model) if decode_ceiling and model else None,
            "vs_ceiling": round(best / min(decode_ceiling, model), 3) if decode_ceiling and model else None,
            "vs_naive": round(best / naive_peak, 2) if naive_peak else None,
            "realtime_streams": entry.get("density", {}).get("realtime_streams"),
            "naive_realtime_streams": entry.get("naive", {}).get("realtime_streams"),
            "latency_p50_ms": entry.get("latency", {}).get("p50_ms"), "latency_p99_ms": entry.get("latency", {}).get("p99_ms"),
        }
    return summary


# ---- main -------------------------------------------------------------------------------------------------------
def main() -> int:
    faulthandler.enable()  # a worker that crashes in native code says where
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", required=True, help="1080p30 H.264 clip")
    parser.add_argument("--yolov3-tiny", required=True, help="the zoo's yolov3-tiny model.onnx")
    parser.add_argument("--labels", required=True, help="COCO labels.txt")
    parser.add_argument("--yolov8n", default="", help="YOLOv8n-shaped ONNX (built when missing)")
    parser.add_argument("--sections", default="decode,model,throughput,scaling,density,naive,latency")
    parser.add_argument("--models", default="yolov3-tiny,yolov8n")
    parser.add_argument("--batch", type=int, default=64, help="streammux / infer batch size")
    parser.add_argument("--nvdec-sessions", type=int, default=64, help="NVDEC decoders; further streams decode on the CPU")
    parser.add_argument("--nvdec-threads", type=int, default=32)
    parser.add_argument("--cpu-streams", type=int, default=16)
    parser.add_argument("--cpu-threads", type=int, default=2, help="FFmpeg threads per CPU-decoded stream")
    parser.add_argument("--throughput-streams", type=int, default=80)
    parser.add_argument("--density", default="60,70,75,80,90", help="stream counts tried, in order (yolov3-tiny)")
    parser.add_argument("--density-v8", default="40,60,70,75", help="stream counts tried for the YOLOv8n-shaped model")
    parser.add_argument("--naive", default="1,4,8,16")
    parser.add_argument("--tracker", default="iou", help="tracker algorithm ('' for none)")
    parser.add_argument("--source", default="urisrc", choices=("urisrc", "multiurisrc", "multiurisrc-direct"),
                        help="a urisrc per stream into streammux, or one multiurisrc for all streams (-direct: "
                             "direct-nvdec=true)")
    parser.add_argument("--realtime-fps", type=float, default=29.5)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--switch-interval", type=float, default=0.005,
                        help="sys.setswitchinterval: how soon a thread waiting for the GIL gets it (Python's default 0.005)")
    parser.add_argument("--processes", type=int, default=1, help="split the sources over this many processes")
    parser.add_argument("--startup-allowance", type=float, default=30.0,
                        help="multi-process runs: seconds after launch at which every process starts measuring")
    parser.add_argument("--measure-at", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-logs", default="", help="keep the stderr of every worker process in this folder")
    parser.add_argument("--skip-single", action="store_true", help="throughput: only the multi-process run")
    parser.add_argument("--gpus", default="0", help="GPUs the processes take in turn, e.g. 0,1 (scaling section: 1 vs all)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-decode", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-streams", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", default="", help=argparse.SUPPRESS)
    parser.add_argument("--worker-sync", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cuda", help="infer device (cpu: a smoke test of the pipeline only)")
    parser.add_argument("--out", default="", help="also write the JSON here")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    args.gpu_list = [int(g) for g in args.gpus.split(",")]
    # Source threads are many and busy; the infer thread gives the GIL up at every device sync and
    # would otherwise wait a whole 5 ms interval to get it back, several times per batch.
    sys.setswitchinterval(args.switch_interval)
    if args.worker:  # one share of a multi-process run: measure, print one JSON line
        result = run_pipeline(args, args.worker_config, args.worker_streams, args.worker_sync, args.seconds)
        print(json.dumps({k: v for k, v in result.items() if k not in ("elements", "latency")}))
        return 0
    if args.worker_decode:  # one share of a multi-process decoding ceiling
        print(json.dumps(decode_both(args.clip, args.nvdec_threads, args.cpu_streams, args.cpu_threads, args.seconds,
                                     args.warmup)))
        return 0
    import torch

    work = Path(tempfile.mkdtemp(prefix="density-"))
    v8 = args.yolov8n or str(work / "yolov8n-shaped.onnx")
    if "yolov8n" in args.models and not Path(v8).is_file():
        from benchmarks.yolov8n_shaped import export

        export(v8)
    models = {
        "yolov3-tiny": infer_config(work / "v3.yaml", args.yolov3_tiny, args.labels, "yolo", 416, False, args.batch, 0.3, args.device),
        "yolov8n": infer_config(work / "v8.yaml", v8, args.labels, "yolov8", 640, True, args.batch, 0.25, args.device),
    }
    models = {name: path for name, path in models.items() if name in args.models.split(",")}
    onnx_files = {"yolov3-tiny": (args.yolov3_tiny, 416), "yolov8n": (v8, 640)}
    result: dict[str, Any] = {
        "benchmark": "stream_density", "device": device_name(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu_cores": os.cpu_count(), "torch": torch.__version__, "clip": Path(args.clip).name,
        "pipeline": "urisrc(decoder=auto) ! streammux ! infer(torch, cuda) ! tracker ! msgconv ! fakesink",
        "settings": {k: v for k, v in vars(args).items() if k not in ("out",)},
    }
    from vistream.media.nvdec import NvdecReader

    first_frame = next(iter(NvdecReader(args.clip, 0).frames())).image if "model" in sections else None
    def save() -> None:  # after every section, so a run cut short still leaves its figures
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2) + "\n")

    if "decode" in sections:
        result["decode"] = decode_ceilings(args.clip, args.nvdec_threads, args.cpu_streams, args.cpu_threads, args.seconds)
        save()
        if args.processes > 1:  # the split the multi-process pipeline runs: NVDEC up to its sessions, the rest on the CPU
            nvdec = min(args.nvdec_sessions * len(args.gpu_list), args.throughput_streams)
            result["decode"]["processes"] = decode_processes(args, nvdec, args.throughput_streams - nvdec)
            save()
    for name, config_path in models.items():
        entry: dict[str, Any] = result.setdefault("models", {}).setdefault(name, {})
        if "model" in sections:
            entry["ceiling"] = model_ceiling(config_path, args.batch, args.seconds / 2, first_frame)
            log(name, "ceiling", entry["ceiling"])
            save()
        if "throughput" in sections:
            if not args.skip_single:
                entry["throughput"] = run_pipeline(args, config_path, args.throughput_streams, False, args.seconds)
            if args.processes > 1:
                save()
                entry["throughput_processes"] = run_processes(args, config_path, args.throughput_streams, False,
                                                              args.seconds)
            save()
        if "scaling" in sections and len(args.gpu_list) > 1:
            entry["scaling"] = {}
            for count in (1, len(args.gpu_list)):
                entry["scaling"][f"{count}_gpu"] = run_processes(
                    args, config_path, args.throughput_streams * count, False, args.seconds,
                    processes=args.processes * count, gpus=args.gpu_list[:count])
                save()
            one, all_ = (entry["scaling"][f"{c}_gpu"]["fps"] for c in (1, len(args.gpu_list)))
            entry["scaling"]["speedup"] = round(all_ / one, 2) if one else None
        if "density" in sections:
            counts = [int(c) for c in (args.density if name == "yolov3-tiny" else args.density_v8).split(",")]
            entry["density"] = density(args, config_path, counts)
            save()
        if "naive" in sections:
            entry["naive"] = naive(args.clip, *onnx_files[name], [int(c) for c in args.naive.split(",")], args.seconds / 2)
            save()
        if "latency" in sections and name == "yolov3-tiny":
            entry["latency"] = latency(args, config_path)
            save()
    result["summary"] = summarize(result)
    text = json.dumps(result, indent=2)
    print(text)
    if args.device != "cpu":  # a CPU run is a smoke test of the pipeline, not a result to keep
        target = HERE / "results" / f"stream_density-{slug(result['device'])}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n")
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
