"""Bounded input queues with back-pressure or leaky dropping, and element statistics.

Each element with sink pads owns one :class:`InputQueue` holding a bounded deque per sink pad;
the element's thread takes from the pads round-robin, so a fast source cannot starve the others
that feed the same ``streammux``.

Example:
    >>> q = InputQueue(capacity=2)
    >>> q.put("sink_0", "a"); q.put("sink_0", "b"); q.put("sink_0", "c", leaky=True)
    True
    True
    True
    >>> q.get(0.1), q.dropped
    (('sink_0', 'b'), 1)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from vistream.core.events import Event


class InputQueue:
    """Per-pad bounded deques behind one lock.

    The consumer waits on one condition (``_not_empty``); each pad's producers wait on their own
    (``_not_full[pad]``), so taking an item wakes only a producer of that pad, and adding one
    wakes only the consumer: with many sources there is no thundering herd on every frame.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._pads: dict[str, deque] = {}
        self._order: list[str] = []
        self._next = 0
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full: dict[str, threading.Condition] = {}
        self._items = 0  # queued over all pads
        self._events = 0  # of which events
        self._wake_at = 1  # the waiting consumer wants this many items before it is woken
        self.dropped = 0

    def put(
        self,
        pad: str,
        item: Any,
        leaky: bool = False,
        abort: Callable[[], bool] | None = None,
    ) -> bool:
        """Queue ``item`` for ``pad``.

        Events are never dropped. When full, a leaky put drops the oldest batch of that pad;
        a blocking put waits until there is room or ``abort()`` turns true (returns False).
        """
        with self._lock:
            queue = self._pads.get(pad)
            if queue is None:
                queue = self._pads[pad] = deque()
                self._not_full[pad] = threading.Condition(self._lock)
                self._order.append(pad)
            not_full = self._not_full[pad]
            is_event = isinstance(item, Event)
            while not is_event and len(queue) >= self.capacity:
                if leaky:
                    for index, queued in enumerate(queue):
                        if not isinstance(queued, Event):
                            del queue[index]
                            self._items -= 1
                            self.dropped += 1
                            break
                    else:
                        break
                    continue
                if abort is not None and abort():
                    return False
                # The timeout only bounds how late an abort (stop / removal) is noticed.
                not_full.wait(0.05)
                if self._pads.get(pad) is not queue:  # the pad was removed meanwhile
                    return False
            queue.append(item)
            self._items += 1
            self._events += is_event
            if is_event or self._items >= self._wake_at:
                self._not_empty.notify()
            return True

    def get(self, timeout: float | None, min_items: int = 1) -> tuple[str, Any] | None:
        """Next (pad, item), round-robin over pads; None after ``timeout`` seconds with nothing queued.

        With ``min_items``, the consumer sleeps until that many items are queued (or an event is,
        or ``timeout`` passes, and then takes what there is): a batching element is woken once per
        batch rather than once per frame.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                ready = self._items >= min_items or self._events or (remaining is not None and remaining <= 0)
                if ready and self._items:
                    return self._take()
                if remaining is not None and remaining <= 0:
                    return None
                self._wake_at = max(1, min_items)
                try:
                    self._not_empty.wait(remaining if remaining is not None else 0.1)
                finally:
                    self._wake_at = 1

    def _take(self) -> tuple[str, Any]:
        count = len(self._order)
        for step in range(count):
            pad = self._order[(self._next + step) % count]
            queue = self._pads[pad]
            if queue:
                self._next = (self._next + step + 1) % count
                item = queue.popleft()
                self._items -= 1
                self._events -= isinstance(item, Event)
                self._not_full[pad].notify()
                return pad, item
        raise AssertionError("InputQueue: item count out of step with the pads")  # unreachable

    def remove_pad(self, pad: str) -> list[Any]:
        """Forget a pad; returns what was still queued for it."""
        with self._lock:
            queue = self._pads.pop(pad, deque())
            self._items -= len(queue)
            self._events -= sum(isinstance(item, Event) for item in queue)
            condition = self._not_full.pop(pad, None)
            if condition is not None:
                condition.notify_all()
            if pad in self._order:
                self._order.remove(pad)
                self._next = 0
            return list(queue)

    def depth(self) -> int:
        """Items waiting over all pads."""
        with self._lock:
            return sum(len(q) for q in self._pads.values())

    def wake(self) -> None:
        """Wake the waiting consumer and every blocked producer (used on stop)."""
        with self._lock:
            self._not_empty.notify_all()
            for condition in self._not_full.values():
                condition.notify_all()


class ElementStats:
    """Processing time per batch and counts for one element (thread-safe enough: one writer)."""

    WINDOW = 512

    def __init__(self) -> None:
        self.batches = 0
        self.frames = 0
        self.errors = 0
        self.total_ns = 0
        self._recent_ns: deque[int] = deque(maxlen=self.WINDOW)
        self._batch_sizes: deque[int] = deque(maxlen=self.WINDOW)

    def record(self, elapsed_ns: int, frames: int) -> None:
        self.batches += 1
        self.frames += frames
        self.total_ns += elapsed_ns
        self._recent_ns.append(elapsed_ns)
        self._batch_sizes.append(frames)

    def summary(self) -> dict[str, float]:
        recent = np.array(self._recent_ns or [0], dtype=np.float64) / 1e6
        sizes = np.array(self._batch_sizes or [0], dtype=np.float64)
        return {
            "batches": self.batches,
            "frames": self.frames,
            "errors": self.errors,
            "mean_ms": round(self.total_ns / 1e6 / self.batches, 3) if self.batches else 0.0,
            "p50_ms": round(float(np.percentile(recent, 50)), 3),
            "p99_ms": round(float(np.percentile(recent, 99)), 3),
            "mean_batch_size": round(float(sizes.mean()), 2),
        }


class StreamStats:
    """Per-source frame counts, FPS over a sliding window, and end-to-end latency."""

    WINDOW_S = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.frames: dict[int, int] = {}
        self._times: dict[int, deque[float]] = {}
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._latency_ms: deque[float] = deque(maxlen=4096)

    def record(self, source_id: int, ingest_ns: int = 0) -> None:
        """Count a frame of ``source_id``; with ``ingest_ns``, also its end-to-end latency."""
        now = time.monotonic()
        latency = (time.time_ns() - ingest_ns) / 1e6 if ingest_ns else None
        with self._lock:
            self.frames[source_id] = self.frames.get(source_id, 0) + 1
            times = self._times.setdefault(source_id, deque())
            times.append(now)
            while times and now - times[0] > self.WINDOW_S:
                times.popleft()
            self._first.setdefault(source_id, now)
            self._last[source_id] = now
            if latency is not None:
                self._latency_ms.append(latency)

    def fps(self, source_id: int) -> float:
        """Frames per second over the last window (or the whole run when it was shorter)."""
        with self._lock:
            times = self._times.get(source_id)
            if not times or len(times) < 2:
                return 0.0
            span = times[-1] - times[0]
            return (len(times) - 1) / span if span > 0 else 0.0

    def average_fps(self, source_id: int) -> float:
        """Frames per second from the first to the last frame of the source."""
        with self._lock:
            count = self.frames.get(source_id, 0)
            span = self._last.get(source_id, 0.0) - self._first.get(source_id, 0.0)
            return (count - 1) / span if count > 1 and span > 0 else 0.0

    def last_seen(self, source_id: int) -> float | None:
        with self._lock:
            return self._last.get(source_id)

    def latency_summary(self) -> dict[str, float]:
        with self._lock:
            values = np.array(self._latency_ms, dtype=np.float64)
        if values.size == 0:
            return {"count": 0}
        return {
            "count": int(values.size),
            "mean_ms": round(float(values.mean()), 3),
            "p50_ms": round(float(np.percentile(values, 50)), 3),
            "p99_ms": round(float(np.percentile(values, 99)), 3),
        }

    def summary(self) -> dict[int, dict[str, float]]:
        sources = sorted(self.frames)
        return {
            sid: {
                "frames": self.frames[sid],
                "fps": round(self.fps(sid), 2),
                "average_fps": round(self.average_fps(sid), 2),
            }
            for sid in sources
        }
