"""Soak test of service mode: 8 streams with churn every 30 s, served over HTTP, for a long time.

A `vistream serve`-style service (StreamService + FastAPI/uvicorn on 127.0.0.1, previews on) runs
`streammux -> fakesink` with 8 looping, real-time-paced file streams. Every churn interval half
of the streams (chosen at random) are removed through the REST API and added back. A poller plays
the dashboard (streams, stats, events, /metrics once a second). Every few seconds the process's
resident memory, thread count and open file descriptors are sampled; their least-squares slopes
over time (whole run, after the first churn cycle, and over the second half) are reported.
Expected: flat once the allocator has warmed up (glibc's per-thread arenas grow for the first
minutes of a run with many decoder threads; ``MALLOC_ARENA_MAX=2`` makes that shorter).

Baseline, measured in the same run: the API latency of add / remove on the idle service (no
streams, no poller) before the load starts, and the resource levels at that point (after one
uncounted add / remove, which pays for first-use imports).

Usage: python benchmarks/soak.py [--duration 1800] [--streams 8] [--churn-interval 30] [--sample-interval 5]
Prints JSON and writes benchmarks/results/soak-cpu.json (``--output`` to choose).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

import vistream
from vistream.media.samples import require_sample
from vistream.server.http import ServiceServer
from vistream.server.service import StreamService
from vistream.server.uris import UriPolicy


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ms = np.array(values) * 1e3
    return {"count": len(values), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "max_ms": round(float(ms.max()), 2)}


def slope_per_hour(times: list[float], values: list[float]) -> float:
    """Least-squares slope of ``values`` over ``times`` (seconds), per hour."""
    if len(times) < 3:
        return 0.0
    return round(float(np.polyfit(np.array(times), np.array(values, dtype=np.float64), 1)[0] * 3600), 3)


def sample(process: psutil.Process, started: float) -> dict[str, float]:
    return {"t": round(time.monotonic() - started, 2), "rss_mib": round(process.memory_info().rss / 2**20, 2),
            "threads": threading.active_count(), "fds": process.num_fds()}


def timed(call, latencies: list[float]) -> httpx.Response:
    began = time.perf_counter()
    response = call()
    latencies.append(time.perf_counter() - began)
    response.raise_for_status()
    return response


def poll_like_a_dashboard(client: httpx.Client, stop: threading.Event, errors: list[str]) -> None:
    while not stop.wait(1.0):
        for path in ("/api/streams", "/api/stats", "/api/events?limit=20", "/metrics", "/health"):
            try:
                response = client.get(path)
                if response.status_code not in (200, 503):
                    errors.append(f"{path}: {response.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"{path}: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds of load (default 30 minutes)")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--churn-interval", type=float, default=30.0)
    parser.add_argument("--sample-interval", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "soak-cpu.json"),
                        help="where the JSON copy goes")
    args = parser.parse_args()

    video = require_sample("bikes.mp4")
    policy = UriPolicy(schemes=("file",), allow_local_files=True, media_roots=(str(video.parent),))
    service = StreamService(vistream.parse_launch("streammux name=mux ! fakesink name=sink"), policy=policy,
                            stall_timeout=10)
    process = psutil.Process()
    rng = random.Random(args.seed)
    body = {"uri": str(video), "properties": {"loop": True, "sync": True}}

    with ServiceServer(service, port=0) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        started = time.monotonic()
        # ---- baseline: the idle service (after one uncounted add / remove: first-use imports) -----------
        timed(lambda: client.post("/api/streams", json={"name": "warmup", **body}), [])
        timed(lambda: client.delete("/api/streams/warmup"), [])
        idle = sample(process, started)
        idle_add: list[float] = []
        idle_remove: list[float] = []
        for i in range(10):
            timed(lambda i=i: client.post("/api/streams", json={"name": f"idle{i}", **body}), idle_add)
            timed(lambda i=i: client.delete(f"/api/streams/idle{i}"), idle_remove)

        # ---- load ----------------------------------------------------------------------------------
        names = [f"cam{i}" for i in range(args.streams)]
        add_latency: list[float] = []
        remove_latency: list[float] = []
        for name in names:
            timed(lambda name=name: client.post("/api/streams", json={"name": name, **body}), add_latency)
        stop = threading.Event()
        errors: list[str] = []
        poller = threading.Thread(target=poll_like_a_dashboard, args=(httpx.Client(base_url=server.url, timeout=60), stop, errors),
                                  daemon=True)
        poller.start()
        load_started = time.monotonic()
        samples = [sample(process, started)]
        next_churn = load_started + args.churn_interval
        next_sample = time.monotonic() + args.sample_interval
        churns = 0
        while time.monotonic() - load_started < args.duration:
            now = time.monotonic()
            if now >= next_churn:
                for name in rng.sample(names, len(names) // 2):
                    timed(lambda name=name: client.delete(f"/api/streams/{name}"), remove_latency)
                    timed(lambda name=name: client.post("/api/streams", json={"name": name, **body}), add_latency)
                churns += 1
                next_churn += args.churn_interval
            if now >= next_sample:
                samples.append(sample(process, started))
                next_sample += args.sample_interval
            time.sleep(0.05)
        stop.set()
        poller.join(5)
        streams = client.get("/api/streams").json()
        elapsed = time.monotonic() - load_started
        stats = service.pipeline.stats()
        frames_at_sink = stats["elements"]["sink"]["frames"]
        samples.append(sample(process, started))

    warm = [s for s in samples if s["t"] >= samples[0]["t"] + args.churn_interval] or samples
    late = samples[len(samples) // 2:]
    result = {
        "benchmark": "soak",
        "machine": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "duration_s": round(elapsed, 1),
        "streams": args.streams,
        "churn_interval_s": args.churn_interval,
        "churns": churns,
        "frames_at_sink": frames_at_sink,
        "sink_fps": round(frames_at_sink / elapsed, 1),
        "streams_playing_at_end": sum(1 for s in streams if s["state"] == "playing"),
        "api_errors": errors[:20],
        "baseline_idle": {"rss_mib": idle["rss_mib"], "threads": idle["threads"], "fds": idle["fds"],
                          "add_latency": percentiles(idle_add), "remove_latency": percentiles(idle_remove)},
        "under_load": {"add_latency": percentiles(add_latency), "remove_latency": percentiles(remove_latency)},
        "levels": {key: {"start": samples[0][key], "end": samples[-1][key],
                         "min": min(s[key] for s in samples), "max": max(s[key] for s in samples),
                         "median": statistics.median(s[key] for s in samples)}
                   for key in ("rss_mib", "threads", "fds")},
        "slope_per_hour": {key: slope_per_hour([s["t"] for s in samples], [s[key] for s in samples])
                           for key in ("rss_mib", "threads", "fds")},
        "slope_per_hour_after_first_churn": {key: slope_per_hour([s["t"] for s in warm], [s[key] for s in warm])
                                             for key in ("rss_mib", "threads", "fds")},
        "slope_per_hour_second_half": {key: slope_per_hour([s["t"] for s in late], [s[key] for s in late])
                                       for key in ("rss_mib", "threads", "fds")},
        "samples": samples,
    }
    text = json.dumps(result, indent=2)
    print(text)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
