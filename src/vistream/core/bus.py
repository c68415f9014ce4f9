"""The pipeline's bus: messages from elements to the application (errors, warnings, EOS, ...).

Example:
    >>> from vistream.core.bus import Bus
    >>> from vistream.core.events import Message, MessageType
    >>> bus = Bus()
    >>> bus.post(Message(MessageType.WARNING, "src", "slow"))
    >>> str(bus.pop())
    '[warning] src: slow'
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from vistream.core.events import Message, MessageType

log = logging.getLogger("vistream.pipeline")


class Bus:
    """Messages from elements to the application: errors, warnings, EOS, element messages."""

    def __init__(self, history: int = 10_000) -> None:
        self._pending: deque[Message] = deque(maxlen=history)
        self.history: deque[Message] = deque(maxlen=history)
        self._cond = threading.Condition()
        self._watches: list[Callable[[Message], Any]] = []
        self._repeats: dict[tuple, int] = {}

    def post(self, message: Message) -> None:
        level = {
            MessageType.ERROR: logging.ERROR,
            MessageType.WARNING: logging.WARNING,
        }.get(message.type, logging.DEBUG)
        self._log(level, message)
        with self._cond:
            self._pending.append(message)
            self.history.append(message)
            self._cond.notify_all()
        for watch in list(self._watches):
            try:
                watch(message)
            except Exception:  # a broken watch must not break the element that posted
                log.exception("bus watch failed")

    def _log(self, level: int, message: Message) -> None:
        # The same element repeating the same kind of message is logged at 1, 10, 100, ... times.
        key = (message.element, message.type, message.text[:40])
        count = self._repeats[key] = self._repeats.get(key, 0) + 1
        if count == 1 or math.log10(count).is_integer():
            suffix = f" (x{count})" if count > 1 else ""
            log.log(level, "%s%s", message, suffix)

    def add_watch(self, callback: Callable[[Message], Any]) -> None:
        """Call ``callback(message)`` for every message (in the posting thread)."""
        self._watches.append(callback)

    def pop(self, timeout: float | None = 0.0) -> Message | None:
        """Next unread message, waiting up to ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._pending.popleft()

    def messages(self, kind: MessageType | None = None) -> list[Message]:
        """All messages seen so far (bounded history), optionally of one kind."""
        return [m for m in list(self.history) if kind is None or m.type is kind]

    @property
    def errors(self) -> list[Message]:
        return self.messages(MessageType.ERROR)
