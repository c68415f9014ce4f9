"""Tracking benchmark: accuracy and speed of every ``tracker`` algorithm against a reference tracker.

1. Hard synthetic set (``Scene.hard``: entries / exits, crossings, stops, pillars hiding objects
   for several frames, camera shake) with exact ground truth; detections from the oracle detector
   with 10% missed detections, box jitter, false positives and low scores for partly hidden
   objects. MOTA, IDF1, HOTA, ID switches and ms per frame for each algorithm and for the
   reference, motpy (MIT licence), on the same detections; also ByteTrack with detection on every
   third frame only (``interval=2``: the others predicted).
2. Speed with 100 objects per frame on one CPU core.
3. Real sample videos (bikes.mp4, vtest.avi) with yolov3-tiny detections (``infer``): tracks,
   mean track length and fragmentation per algorithm (no ground truth exists for these).

Run: ``.venv/bin/python benchmarks/tracking.py`` (prints JSON; writes
``benchmarks/results/tracking-cpu.json``). ``--quick`` uses fewer frames.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: set before NumPy loads its BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from vistream.core.meta import Objects  # noqa: E402
from vistream.elements.oracle import OracleDetector  # noqa: E402
from vistream.elements.track import ALGORITHMS, TrackerConfig, make_tracker  # noqa: E402
from vistream.eval.mot import evaluate, to_mot_rows, track_statistics  # noqa: E402
from vistream.eval.sequences import scene_ground_truth  # noqa: E402
from vistream.media.scene import Scene  # noqa: E402

MIN_VISIBILITY = 0.3
HARD = {"jitter": 0.03, "miss_rate": 0.10, "false_positives": 0.5, "min_visibility": MIN_VISIBILITY,
        "embedding_size": 32, "embedding_noise": 0.3}
#: motpy settings (from its README example; staleness matched to our shadow tracking ages)
MOTPY = {"model_spec": {"order_pos": 1, "dim_pos": 2, "order_size": 0, "dim_size": 2,
                        "q_var_pos": 5000.0, "r_var_pos": 0.1},
         "matching_fn_kwargs": {"min_iou": 0.2}, "tracker_kwargs": {"max_staleness": 30},
         "active_tracks_kwargs": {"min_steps_alive": 2, "max_staleness": 2}}


class MotpyTracker:
    """motpy's MultiObjectTracker behind our ``update(objects, frame_num) -> Objects`` call."""

    def __init__(self, fps: float = 25.0) -> None:
        from motpy import MultiObjectTracker

        self.tracker = MultiObjectTracker(dt=1.0 / fps, **MOTPY)
        self.ids: dict[str, int] = {}

    def update(self, objects: Objects, frame_num: int, detected: bool = True) -> Objects:
        from motpy import Detection

        detections = [Detection(box=box, score=float(score), class_id=int(cls))
                      for box, score, cls in zip(objects.xyxy, objects.confidence, objects.class_id, strict=True)]
        tracks = self.tracker.step(detections=detections if detected else [])
        ids = [self.ids.setdefault(t.id, len(self.ids) + 1) for t in tracks]
        boxes = np.array([t.box for t in tracks], dtype=np.float32).reshape(-1, 4)
        return Objects.from_arrays(boxes, confidence=[t.score or 1.0 for t in tracks],
                                   class_id=[t.class_id or 0 for t in tracks], object_id=ids)


def make(name: str, source_id: int = 0, **changes: Any) -> Any:
    if name == "motpy":
        return MotpyTracker()
    return make_tracker(TrackerConfig(algorithm=name, **changes), source_id)


def hard_set(num_sequences: int, num_frames: int) -> list[dict[str, Any]]:
    """Ground truth and oracle detections of the hard sequences."""
    sequences = []
    for seed in range(num_sequences):
        scene = Scene.hard(960, 540, num_objects=16, num_frames=num_frames, seed=seed, jitter=2.0)
        oracle = OracleDetector(seed=100 + seed, **HARD)
        detections = [oracle.detect(scene.truth(f)[0], f, 0, (scene.width, scene.height)) for f in range(num_frames)]
        sequences.append({"gt": scene_ground_truth(scene, num_frames), "detections": detections})
    return sequences


def run_tracker(name: str, detections: list[Objects], interval: int = 0) -> tuple[np.ndarray, float]:
    """MOT rows of one sequence and the median milliseconds per frame spent in ``update``.

    The median, not the mean: on a shared machine the mean mostly measures how often other
    processes took the core away.
    """
    tracker = make(name)
    rows, spent = [], []
    for frame, objects in enumerate(detections):
        detected = frame % (interval + 1) == 0
        started = time.perf_counter()
        out = tracker.update(objects if detected else Objects(), frame, detected=detected)
        spent.append(time.perf_counter() - started)
        rows.append(to_mot_rows(frame, out))
    return np.concatenate(rows), float(np.median(spent)) * 1000


def score_hard_set(sequences: list[dict[str, Any]], name: str, interval: int = 0) -> dict[str, Any]:
    """Metrics over all sequences at once (frames and ids offset per sequence)."""
    gts, results, times = [], [], []
    for index, sequence in enumerate(sequences):
        rows, ms = run_tracker(name, sequence["detections"], interval)
        offset = np.array([10_000 * index, 1_000_000 * index] + [0] * 7)
        gts.append(sequence["gt"] + offset)
        results.append(rows + offset)
        times.append(ms)
    scores = evaluate(np.concatenate(gts), np.concatenate(results), min_visibility=MIN_VISIBILITY)
    keep = ("mota", "idf1", "hota", "id_switches", "false_positives", "misses", "fragmentations")
    out = {key: round(scores[key], 4) if isinstance(scores[key], float) else scores[key] for key in keep}
    out["ms_per_frame_median"] = round(float(np.mean(times)), 3)
    return out


def speed_100_objects(names: list[str], num_frames: int) -> dict[str, Any]:
    """ms per frame with 100 objects (one core), oracle detections with light noise."""
    scene = Scene.random(1920, 1080, 100, seed=5, num_frames=num_frames, object_size=0.04)
    oracle = OracleDetector(jitter=0.02, miss_rate=0.02, min_visibility=0.0, seed=5)
    detections = []
    for f in range(num_frames):
        truth, visible = scene.truth(f)
        truth.data["visibility"] = np.ones(len(truth), np.float32)  # all 100 reported
        detections.append(oracle.detect(truth, f))
    out = {"objects_per_frame": round(float(np.mean([len(d) for d in detections])), 1)}
    for name in names:
        _, ms = run_tracker(name, detections)
        out[name] = round(ms, 3)
    return out


def real_videos(names: list[str], max_frames: int | None) -> dict[str, Any]:
    """yolov3-tiny on the sample videos once (recorded), then every tracker on the same detections."""
    import vistream
    from vistream.media.samples import media_dir

    config = Path(vistream.__file__).parent / "models" / "configs" / "yolov3-tiny.yaml"
    out: dict[str, Any] = {"detector": "yolov3-tiny (infer, onnxruntime CPU), pre-cluster-threshold 0.25"}
    for video in ("bikes.mp4", "vtest.avi"):
        path = media_dir() / video
        limit = f" num-buffers={max_frames}" if max_frames else ""
        pipeline = vistream.parse_launch(
            f"urisrc uri={path}{limit} ! mux.sink_0 streammux name=mux batch-size=4 batched-push-timeout=40000 "
            f"! infer name=det config={config} ! tracker name=track ! fakesink")
        recorded: dict[int, Objects] = {}
        in_pipeline: list[np.ndarray] = []

        def record(batch: Any, recorded: dict[int, Objects] = recorded) -> None:
            for frame in batch.frames:
                recorded[frame.frame_num] = frame.meta.objects.copy()

        def tracked(batch: Any, in_pipeline: list[np.ndarray] = in_pipeline) -> None:
            for frame in batch.frames:
                in_pipeline.append(to_mot_rows(frame.frame_num, frame.meta.objects))

        pipeline["det"].src.add_probe(record)
        pipeline["track"].src.add_probe(tracked)
        started = time.perf_counter()
        pipeline.run(timeout=900)
        elapsed = time.perf_counter() - started
        detections = [recorded[n] for n in sorted(recorded)]
        entry: dict[str, Any] = {
            "frames": len(detections), "pipeline_fps": round(len(detections) / elapsed, 2),
            "detections_per_frame": round(float(np.mean([len(d) for d in detections])), 2),
            "element_bytetrack": _stats(np.concatenate(in_pipeline) if in_pipeline else np.zeros((0, 9))),
        }
        for name in names:
            rows, ms = run_tracker(name, detections)
            entry[name] = {**_stats(rows), "ms_per_frame_median": round(ms, 3)}
        out[video] = entry
    return out


def _stats(rows: np.ndarray) -> dict[str, Any]:
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in track_statistics(rows).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    parser.add_argument("--no-video", action="store_true", help="skip the yolov3-tiny runs on real videos")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    names = [*ALGORITHMS, "motpy"]
    num_frames = 100 if args.quick else 300
    sequences = hard_set(1 if args.quick else 3, num_frames)
    report: dict[str, Any] = {
        "benchmark": "tracking",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores_used": 1,
                    "python": platform.python_version(), "load_average_at_start": list(os.getloadavg())},
        "hard_set": {
            "sequences": len(sequences), "frames_per_sequence": num_frames, "objects_per_sequence": 16,
            "ground_truth_rows": int(sum(len(s["gt"]) for s in sequences)),
            "oracle": HARD, "evaluation": f"ground truth less than {MIN_VISIBILITY:.0%} visible ignored",
            "reference": {"name": "motpy 0.0.10 MultiObjectTracker", "licence": "MIT", "settings": MOTPY},
            "results": {name: score_hard_set(sequences, name) for name in names},
            "bytetrack_interval_2": score_hard_set(sequences, "bytetrack", interval=2),
        },
        "speed_100_objects_median_ms_per_frame": speed_100_objects(names, 60 if args.quick else 200),
    }
    if not args.no_video:
        report["real_videos"] = real_videos(names, 60 if args.quick else None)
    text = json.dumps(report, indent=2)
    print(text)
    if not args.quick:
        target = Path(__file__).parent / "results" / "tracking-cpu.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n")


if __name__ == "__main__":
    main()
