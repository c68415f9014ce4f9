"""``file`` adapter: append messages as JSON Lines (``{"id", "source_id", "key", "topic", "payload"}``).

Example:
    >>> import os, tempfile, json
    >>> from vistream.elements.msg.adapters.file import FileAdapter
    >>> from vistream.elements.msg.message import Message
    >>> path = os.path.join(tempfile.mkdtemp(), "m.jsonl")
    >>> adapter = FileAdapter(path); adapter.connect(); adapter.send([Message("a", 0, b'{"x": 1}')])
    >>> json.loads(open(path).read())["payload"]
    {'x': 1}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from vistream.elements.msg.adapters.base import Adapter
from vistream.elements.msg.message import BrokerUnavailable, Message


class FileAdapter(Adapter):
    """Append to a file (``conn-str`` is the path); each batch is flushed and fsync'ed."""

    protocol = "file"

    def __init__(self, conn_str: str, topic: str = "", options: dict[str, Any] | None = None) -> None:
        self.path = Path(conn_str)
        self.topic = topic
        self._file: IO[str] | None = None

    def connect(self) -> None:
        self.close()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise BrokerUnavailable(f"cannot open {self.path}: {exc}") from None

    def send(self, messages: list[Message]) -> None:
        if self._file is None:
            raise BrokerUnavailable(f"{self.path} is not open")
        lines = []
        for m in messages:
            try:
                payload: Any = json.loads(m.payload)
            except ValueError:
                payload = m.payload.decode("utf-8", "replace")
            lines.append(json.dumps({"id": m.id, "source_id": m.source_id, "key": m.key,
                                     "topic": m.topic or self.topic, "payload": payload}, separators=(",", ":")))
        try:
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise BrokerUnavailable(f"cannot write {self.path}: {exc}") from None

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
