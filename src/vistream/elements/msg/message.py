"""The unit ``msgbroker`` delivers: an id (for de-duplication), the stream it belongs to, a payload.

Example:
    >>> from vistream.elements.msg.message import Message
    >>> m = Message.from_envelope({"id": "a1", "source_id": 2, "key": "2", "topic": None, "payload": "{}"})
    >>> m.id, m.source_id, m.payload
    ('a1', 2, b'{}')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class BrokerUnavailable(Exception):
    """An adapter could not connect to, or hand messages to, its broker (the courier retries)."""


@dataclass
class Message:
    """One message: ``id`` (unique), ``source_id`` (order is kept per stream), ``payload`` bytes,
    ``key`` (partition / routing key; the source id by default), ``topic`` (None: the adapter's).
    ``seq`` is the spool position once spooled."""

    id: str
    source_id: int
    payload: bytes
    key: str | None = None
    topic: str | None = None
    seq: int | None = None

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Message:
        """From the ``"payload"`` user meta that ``msgconv`` attaches."""
        payload = envelope["payload"]
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        source_id = int(envelope.get("source_id", 0))
        return cls(id=str(envelope["id"]), source_id=source_id, payload=bytes(payload),
                   key=envelope.get("key") or str(source_id), topic=envelope.get("topic") or None)
