"""Run a pipeline from the command line: live per-stream stats, a summary table, clean Ctrl-C."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from vistream.core.events import MessageType
from vistream.core.pipeline import Pipeline


def run_pipeline(pipeline: Pipeline, timeout: float | None = None, stats_interval: float = 2.0,
                 out: TextIO = sys.stderr) -> int:
    """Start, print a stats line every ``stats_interval`` s, wait for EOS, print a table.

    Returns 0 on a clean EOS, 1 when any element reported an error, 3 on timeout.
    """
    started = time.monotonic()
    pipeline.start()
    status = 0
    try:
        while not pipeline.wait(stats_interval):
            if stats_interval > 0:
                out.write(live_line(pipeline) + "\n")
                out.flush()
            if timeout is not None and time.monotonic() - started > timeout:
                out.write(f"timeout after {timeout:.0f}s; stopping\n")
                status = 3
                break
    except KeyboardInterrupt:
        out.write("stopping (Ctrl-C)\n")
    finally:
        stats = pipeline.stats()
        pipeline.stop()
    out.write(summary_table(stats, time.monotonic() - started) + "\n")
    errors = pipeline.bus.messages(MessageType.ERROR)
    if errors:
        out.write(f"{len(errors)} error(s):\n")
        seen = set()
        for message in errors:
            if str(message) not in seen:
                seen.add(str(message))
                out.write(f"  {message}\n")
        status = status or 1
    return status


def live_line(pipeline: Pipeline) -> str:
    stats = pipeline.stats()
    streams = stats["streams"]
    total = sum(s["fps"] for s in streams.values())
    frames = sum(s["frames"] for s in streams.values())
    latency = stats["latency"].get("p50_ms")
    parts = [f"[{stats['uptime_s']:7.1f}s] {len(streams)} streams, {frames} frames, {total:7.1f} fps total"]
    if latency is not None:
        parts.append(f"latency p50 {latency:.1f} ms")
    return ", ".join(parts)


def summary_table(stats: dict, elapsed: float) -> str:
    lines = [f"{'source':>6} {'frames':>8} {'avg fps':>9}"]
    for source_id, values in sorted(stats["streams"].items()):
        lines.append(f"{source_id:>6} {values['frames']:>8} {values['average_fps']:>9.1f}")
    total = sum(v["frames"] for v in stats["streams"].values())
    lines.append(f"{'all':>6} {total:>8} {total / elapsed if elapsed else 0:>9.1f}  ({elapsed:.1f}s wall)")
    slow = sorted(stats["elements"].items(), key=lambda kv: -kv[1]["mean_ms"])[:5]
    lines.append("slowest elements (mean ms per batch): " + ", ".join(f"{n} {v['mean_ms']:.2f}" for n, v in slow))
    latency = stats["latency"]
    if latency.get("count"):
        lines.append(f"end-to-end latency: p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms")
    return "\n".join(lines)
