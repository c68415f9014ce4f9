"""Output stages at 1080p: `osd` and `encode` against plain OpenCV drawing and a plain PyAV encode loop.

All sides work on the same decoded 1920x1080 frames of the bench clip with the same synthetic
detections (``--objects`` boxes per frame, with labels, confidences and track ids):

- osd: the element's per-batch work (``Osd.process``) and a whole ``source -> osd -> fakesink``
  pipeline, against a plain loop of ``cv2.rectangle`` + ``cv2.getTextSize`` + filled label
  background + ``cv2.putText`` per object (what a script would write). Frames are copied before
  the timers so every side draws on fresh pixels.
- encode: the ``encode`` element's work (``Encode.process``) and a ``source -> encode -> fakesink``
  pipeline, against a plain PyAV loop (``av.CodecContext`` libx264, same preset / crf / GOP,
  ``VideoFrame.from_ndarray`` + ``encode``).

The variants take turns ``--repeats`` times and the best run of each is kept. The plain PyAV loop
uses the element's x264 options (repeat-headers, no scene-cut keyframes), so the encode numbers
compare the element's overhead, not different encoder settings. Usage:
python benchmarks/outputs.py [--frames 60] [--objects 20] [--repeats 2]
Prints JSON and writes benchmarks/results/outputs-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

import vistream
from vistream.core.buffer import Batch, Frame
from vistream.core.element import Source
from vistream.core.meta import Objects
from vistream.elements.osd import Osd
from vistream.media.encode import Encode
from vistream.media.samples import BENCH_CLIP, require_sample

LABELS = ["person", "bicycle", "car", "motorbike", "bus", "truck"]


def decode(path: Path, count: int) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def detections(count: int, per_frame: int, width: int, height: int) -> list[Objects]:
    """Boxes drifting across the frame, as a tracker would report them."""
    rng = np.random.default_rng(0)
    start = rng.uniform([0, 0], [width - 300, height - 300], (per_frame, 2))
    size = rng.uniform(60, 280, (per_frame, 2))
    velocity = rng.uniform(-6, 6, (per_frame, 2))
    class_id = rng.integers(0, len(LABELS), per_frame)
    out = []
    for n in range(count):
        top_left = np.clip(start + velocity * n, 0, [width - 300, height - 300])
        xyxy = np.concatenate([top_left, top_left + size], 1)
        out.append(Objects.from_arrays(xyxy, confidence=rng.uniform(0.3, 1.0, per_frame), class_id=class_id,
                                       object_id=np.arange(per_frame), labels=[LABELS[c] for c in class_id]))
    return out


def best_of(repeats: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Best time of each run; the runs take turns so a busy moment of the machine hits them alike."""
    times = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name] = min(times[name], run())
    return times


def opencv_draw(images: list[np.ndarray], objects: list[Objects]) -> float:
    """The plain loop a script would write: rectangle and label per object."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    started = time.perf_counter()
    for image, objs in zip(images, objects, strict=True):
        for i in range(len(objs)):
            x1, y1, x2, y2 = (int(v) for v in objs.xyxy[i])
            color = tuple(int(c) for c in ((objs.class_id[i] * 70) % 255, 128, 200))
            cv2.rectangle(image, (x1, y1), (x2, y2), color, 2)
            text = f"{objs.labels[i]} {objs.confidence[i]:.2f} #{objs.object_id[i]}"
            (tw, th), base = cv2.getTextSize(text, font, 0.5, 1)
            cv2.rectangle(image, (x1, y1 - th - base - 2), (x1 + tw + 2, y1), color, -1)
            cv2.putText(image, text, (x1 + 1, y1 - base - 1), font, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return time.perf_counter() - started


def batches_of(images: list[np.ndarray], objects: list[Objects] | None, fps: float = 30.0) -> list[Batch]:
    batches = []
    for n, image in enumerate(images):
        frame = Frame.from_image(image, frame_num=n, pts=int(n * 1e9 / fps), fps=fps)
        if objects is not None:
            frame.meta.objects = objects[n]
        batches.append(Batch([frame]))
    return batches


class Replay(Source):
    """Pushes pre-made batches (decode and copies stay outside the measurement)."""

    batches: list[Batch] = []

    def generate(self) -> Iterator[Batch]:
        yield from self.batches


def pipeline_fps(element: vistream.core.element.Element, batches: list[Batch]) -> float:
    source = Replay(name="replay")
    source.batches = batches
    pipeline = vistream.Pipeline()
    pipeline.add(source, element, vistream.parse_launch("fakesink name=sink")["sink"])
    pipeline.link_many(source, element, "sink")
    started = time.perf_counter()
    pipeline.run(timeout=600)
    return time.perf_counter() - started


def plain_encode(images: list[np.ndarray], preset: str, crf: int, gop: int, fps: float = 30.0) -> float:
    height, width = images[0].shape[:2]
    started = time.perf_counter()
    context = av.CodecContext.create("libx264", "w")
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base = Fraction(1, 90_000)
    context.framerate = Fraction(fps)
    context.gop_size = gop
    # the encode element's x264 settings, so the difference is the element's own overhead
    context.options = {"preset": preset, "crf": str(crf), "bf": "0", "x264-params": "repeat-headers=1:scenecut=0"}
    context.open()
    packets = 0
    for n, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = n * 3000
        packets += len(context.encode(frame))
    packets += len(context.encode(None))
    assert packets == len(images)
    return time.perf_counter() - started


def element_encode(images: list[np.ndarray], preset: str, crf: int, gop: int) -> float:
    encode = Encode(preset=preset, crf=crf, gop=gop)
    batches = batches_of(images, None)
    started = time.perf_counter()
    for batch in batches:
        encode.process(batch)
    encode.encoders[0].flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--output", default=None, help="JSON results file (default: benchmarks/results/...)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    images = decode(require_sample(BENCH_CLIP), args.frames)
    height, width = images[0].shape[:2]
    objects = detections(len(images), args.objects, width, height)
    n = len(images)

    def fresh() -> list[np.ndarray]:
        return [image.copy() for image in images]

    def osd_element() -> float:
        osd = Osd(trail_length=0)
        batches = batches_of(fresh(), objects)
        started = time.perf_counter()
        for batch in batches:
            osd.process(batch)
        return time.perf_counter() - started

    def fps(seconds: float) -> float:
        return round(n / seconds, 1)

    osd_times = best_of(args.repeats, {
        "opencv_loop_fps": lambda: opencv_draw(fresh(), objects),
        "osd_element_fps": osd_element,
        "osd_pipeline_fps": lambda: pipeline_fps(Osd(), batches_of(fresh(), objects)),
    })
    osd_results: dict[str, float] = {name: fps(seconds) for name, seconds in osd_times.items()}
    osd_results["osd_element_vs_opencv"] = round(osd_results["osd_element_fps"] / osd_results["opencv_loop_fps"], 2)
    gop = 60
    encode_times = best_of(args.repeats, {
        "pyav_loop_fps": lambda: plain_encode(images, args.preset, 23, gop),
        "encode_element_fps": lambda: element_encode(images, args.preset, 23, gop),
        "encode_pipeline_fps": lambda: pipeline_fps(Encode(preset=args.preset, crf=23, gop=gop),
                                                    batches_of(images, None)),
    })
    encode_results: dict[str, float] = {name: fps(seconds) for name, seconds in encode_times.items()}
    encode_results["encode_element_vs_pyav"] = round(
        encode_results["encode_element_fps"] / encode_results["pyav_loop_fps"], 2)
    report = {
        "benchmark": "outputs",
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
        "frames": n,
        "resolution": f"{width}x{height}",
        "objects_per_frame": args.objects,
        "encoder": {"codec": "libx264", "preset": args.preset, "crf": 23, "gop": gop},
        "repeats": args.repeats,
        # the machine may be shared: a load above its CPU count makes every number here noisy
        "load_average": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "osd": osd_results,
        "encode": encode_results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    output = Path(args.output) if args.output else Path(__file__).parent / "results" / "outputs-cpu.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")


if __name__ == "__main__":
    main()
