"""Per-stream bookkeeping of a service: frames, FPS, last frame time, end-to-end latency.

:class:`StreamCounter` is a pad probe (it also sees events): frames of ``source_id`` N are
counted for the oldest live :class:`StreamRecord` with that index, and a ``StreamEOS`` for N ends
that record. Because the muxer emits a source's ``StreamEOS`` after that source's last frame, and
only then frees its index for a new source, counts stay exact when indexes are reused.

Example:
    >>> import numpy as np
    >>> from vistream.core.buffer import Batch, Frame
    >>> from vistream.core.events import StreamEOS
    >>> counter = StreamCounter()
    >>> record = counter.track(StreamRecord("cam", "rtsp://h/x", source_id=0))
    >>> _ = counter(Batch([Frame.from_image(np.zeros((4, 4, 3), np.uint8), source_id=0)]))
    >>> _ = counter(StreamEOS(0))
    >>> record.frames, record.ended
    (1, True)
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vistream.core.buffer import Batch
from vistream.core.events import StreamEOS

#: end-to-end latency buckets (seconds) of the Prometheus histogram
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LatencyHistogram:
    """Cumulative histogram of latencies in seconds (thread-safe), in Prometheus' bucket layout.

    Example:
        >>> h = LatencyHistogram((0.1, 1.0))
        >>> h.observe(0.05); h.observe(0.5); h.observe(3.0)
        >>> h.snapshot()
        ([('0.1', 1), ('1.0', 2), ('+Inf', 3)], 3.55)
    """

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self._counts = [0] * (len(self.buckets) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(self.buckets, seconds)
        with self._lock:
            self._counts[index] += 1
            self._sum += seconds

    @property
    def count(self) -> int:
        with self._lock:
            return sum(self._counts)

    def snapshot(self) -> tuple[list[tuple[str, int]], float]:
        """Cumulative ``(upper bound, count)`` pairs ending with ``+Inf``, and the sum."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        out, running = [], 0
        for bound, count in zip([*map(str, self.buckets), "+Inf"], counts, strict=True):
            running += count
            out.append((bound, running))
        return out, round(total, 9)


@dataclass
class StreamRecord:
    """One stream of the service, as the API shows it."""

    name: str
    uri: str
    source_id: int
    element: Any = None
    added_at: float = field(default_factory=time.monotonic)
    added_wall: float = field(default_factory=time.time)
    frames: int = 0
    last_frame: float | None = None
    ended: bool = False
    error: str = ""
    _times: deque = field(default_factory=lambda: deque(maxlen=256), repr=False)

    FPS_WINDOW_S = 2.0

    def fps(self, now: float | None = None) -> float:
        """Frames per second over the last two seconds (0 when none arrived)."""
        now = time.monotonic() if now is None else now
        recent = [t for t in list(self._times) if now - t <= self.FPS_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0

    @property
    def paused(self) -> bool:
        flag = getattr(self.element, "paused", None)
        return bool(flag is not None and flag.is_set())

    def silent_for(self, now: float | None = None) -> float:
        """Seconds since the last frame (or since the stream was added, before its first)."""
        now = time.monotonic() if now is None else now
        return now - (self.last_frame if self.last_frame is not None else self.added_at)

    def state(self, stall_timeout: float, now: float | None = None) -> str:
        """``playing``, ``starting``, ``paused``, ``stalled``, ``ended`` or ``error``."""
        if self.error:
            return "error"
        if self.ended:
            return "ended"
        if self.paused:
            return "paused"
        if self.silent_for(now) > stall_timeout:
            return "stalled"
        return "playing" if self.frames else "starting"

    def to_dict(self, stall_timeout: float) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "name": self.name,
            "uri": self.uri,
            "source_id": self.source_id,
            "state": self.state(stall_timeout, now),
            "frames": self.frames,
            "fps": round(self.fps(now), 2),
            "silent_s": round(self.silent_for(now), 3),
            "frames_produced": int(getattr(self.element, "frames_out", 0) or 0),
            "reconnects": int(getattr(self.element, "reconnects", 0) or 0),
            "added_at": self.added_wall,
            "error": self.error,
        }


class StreamCounter:
    """Pad probe counting frames per stream and observing end-to-end latency."""

    def __init__(self, on_stream_end: Callable[[StreamRecord], None] | None = None) -> None:
        self.latency = LatencyHistogram()
        self._lock = threading.Lock()
        self._live: dict[int, list[StreamRecord]] = {}
        self._on_stream_end = on_stream_end

    def track(self, record: StreamRecord) -> StreamRecord:
        """Count frames of ``record.source_id`` for ``record`` from now on (after older holders end)."""
        with self._lock:
            self._live.setdefault(record.source_id, []).append(record)
        return record

    def __call__(self, item: Any) -> None:
        if isinstance(item, StreamEOS):
            with self._lock:
                holders = self._live.get(item.source_id)
                record = holders.pop(0) if holders else None
                if holders == []:
                    del self._live[item.source_id]
            if record is not None:
                record.ended = True
                if self._on_stream_end is not None:
                    self._on_stream_end(record)
            return None
        if not isinstance(item, Batch):
            return None
        now = time.monotonic()
        wall_ns = time.time_ns()
        with self._lock:
            for frame in item.frames:
                holders = self._live.get(frame.source_id)
                if holders:
                    record = holders[0]
                    record.frames += 1
                    record.last_frame = now
                    record._times.append(now)
                if frame.ingest_ns:
                    self.latency.observe(max(0.0, (wall_ns - frame.ingest_ns) / 1e9))
        return None
