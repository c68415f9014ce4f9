"""At-least-once delivery with its own thread: never blocks the caller, spools while the broker is
away, retries with back-off, keeps order.

:meth:`Courier.submit` only appends to an in-memory queue. The courier's thread sends in order;
when the broker is unreachable it moves pending messages to the on-disk :class:`Spool` and retries
with exponential back-off; while the spool holds anything, new messages go behind it, so order is
kept. A message leaves the spool only after the adapter confirmed it, so a failure mid-batch may
resend some: consumers drop duplicates by message id.

Example:
    >>> import os, tempfile, json
    >>> from vistream.elements.msg.adapters.file import FileAdapter
    >>> from vistream.elements.msg.courier import Courier
    >>> from vistream.elements.msg.message import Message
    >>> from vistream.elements.msg.spool import Spool
    >>> folder = tempfile.mkdtemp()
    >>> courier = Courier(FileAdapter(os.path.join(folder, "out.jsonl")), Spool(os.path.join(folder, "s.sqlite")))
    >>> courier.start()
    >>> for i in range(3):
    ...     courier.submit(Message(f"m{i}", 0, b"{}"))
    >>> courier.close(timeout=5)
    >>> courier.counters()["delivered"], [json.loads(l)["id"] for l in open(os.path.join(folder, "out.jsonl"))]
    (3, ['m0', 'm1', 'm2'])
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from vistream.elements.msg.adapters.base import Adapter
from vistream.elements.msg.message import BrokerUnavailable, Message
from vistream.elements.msg.spool import Spool

log = logging.getLogger("vistream.msgbroker")


class Courier:
    """Send messages through an adapter from a dedicated thread, with an on-disk spool.

    Args:
        adapter: the broker client.
        spool: where messages wait while the broker is away (also across restarts).
        batch_size: messages handed to the adapter at once.
        retry_interval / max_retry_interval: first and largest back-off in seconds.
        max_memory: messages held in memory before the courier moves the excess to the spool.
        on_error: called with a text when the broker goes away (e.g. a bus warning).
    """

    def __init__(self, adapter: Adapter, spool: Spool, batch_size: int = 64, retry_interval: float = 0.2,
                 max_retry_interval: float = 5.0, max_memory: int = 10_000,
                 on_error: Callable[[str], Any] | None = None, name: str = "msgbroker") -> None:
        self.adapter = adapter
        self.spool = spool
        self.batch_size = batch_size
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self.max_memory = max_memory
        self.on_error = on_error
        self.name = name
        self.delivered = 0
        self.spooled = 0
        self.retried = 0
        self.dropped = 0
        self.failures = 0
        self.connected = False
        self._outage = False
        self._memory: collections.deque[Message] = collections.deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    # ---- called from the pipeline --------------------------------------------------------------------
    def submit(self, message: Message) -> None:
        """Queue a message; returns at once."""
        with self._wake:
            self._memory.append(message)
            self._wake.notify()

    def submit_many(self, messages: list[Message]) -> None:
        with self._wake:
            self._memory.extend(messages)
            self._wake.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"vistream:{self.name}:courier", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is pending for up to ``timeout`` seconds, then spool the rest and stop."""
        with self._wake:
            self._stopping = True
            self._deadline = time.monotonic() + timeout
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout + 15)
            if self._thread.is_alive():  # stuck in a client call: leave its resources to the daemon thread
                log.warning("%s: sender thread still busy after %.0f s; %d messages pending", self.name,
                            timeout + 15, self.pending)
                return
        self.adapter.close()
        self.spool.close()

    @property
    def pending(self) -> int:
        return len(self._memory) + len(self.spool)

    def counters(self) -> dict[str, int]:
        """delivered, spooled, retried, dropped, pending, failures (broker went away), connected."""
        return {"delivered": self.delivered, "spooled": self.spooled, "retried": self.retried,
                "dropped": self.dropped, "pending": self.pending, "failures": self.failures,
                "connected": int(self.connected)}

    # ---- the courier's thread ------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.retry_interval
        while True:
            with self._wake:
                if self._stopping and (not self._memory and not len(self.spool) or time.monotonic() > self._deadline):
                    break
                if not self._memory and not len(self.spool) and not self._stopping:
                    self._wake.wait(0.5)
                    continue
            if len(self._memory) > self.max_memory:
                self._to_spool(self._take(len(self._memory) - self.max_memory // 2))
            if not self.connected:
                try:
                    self.adapter.connect()
                    self.connected = True
                    backoff = self.retry_interval
                    if self._outage:
                        log.info("%s: broker reachable again; delivering %d spooled messages", self.name, len(self.spool))
                        self._outage = False
                except BrokerUnavailable as exc:
                    self._broker_away(exc)
                    if self._stopping:
                        break
                    self._to_spool(self._take(len(self._memory)))
                    self._sleep(backoff)
                    backoff = min(backoff * 2, self.max_retry_interval)
                    continue
            if len(self.spool):
                self._to_spool(self._take(len(self._memory)))  # new messages queue behind the spool
                batch = self.spool.peek(self.batch_size)
                if self._send(batch):
                    self.spool.remove(batch)
                    self.retried += len(batch)
                continue
            batch = self._take(self.batch_size)
            if batch and not self._send(batch):
                self._to_spool(batch + self._take(len(self._memory)))
        with self._wake:
            rest = self._take(len(self._memory))
        self._to_spool(rest)

    def _send(self, batch: list[Message]) -> bool:
        try:
            self.adapter.send(batch)
        except BrokerUnavailable as exc:
            self.connected = False
            self._broker_away(exc)
            return False
        self.delivered += len(batch)
        return True

    def _take(self, count: int) -> list[Message]:
        with self._wake:
            return [self._memory.popleft() for _ in range(min(count, len(self._memory)))]

    def _to_spool(self, messages: list[Message]) -> None:
        if messages:
            self.dropped += self.spool.append(messages)
            self.spooled += len(messages)

    def _broker_away(self, exc: BaseException) -> None:
        self.failures += 1
        if self._outage:
            return  # one warning per outage, not one per retry
        self._outage = True
        log.warning("%s: broker unavailable (%s); spooling", self.name, exc)
        if self.on_error is not None:
            self.on_error(f"broker unavailable: {exc}; messages are spooled and retried")

    def _sleep(self, seconds: float) -> None:
        """Back-off: new messages do not cut it short (they only wake the idle wait); stop does."""
        end = time.monotonic() + seconds
        with self._wake:
            while not self._stopping:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(left)
