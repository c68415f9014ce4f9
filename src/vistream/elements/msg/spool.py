"""A bounded, ordered on-disk spool (SQLite) for messages a broker could not take yet.

Messages keep their order (an autoincrement sequence); they survive a restart of the process;
when the spool is full the oldest messages are dropped (and counted) so the disk never fills.

Example:
    >>> import tempfile, os
    >>> from vistream.elements.msg.message import Message
    >>> from vistream.elements.msg.spool import Spool
    >>> spool = Spool(os.path.join(tempfile.mkdtemp(), "out.sqlite"), max_messages=2)
    >>> spool.append([Message(str(i), 0, b"x") for i in range(3)])
    1
    >>> [m.id for m in spool.peek(10)], len(spool)
    (['1', '2'], 2)
    >>> spool.remove(spool.peek(1)); [m.id for m in spool.peek(10)]
    ['2']
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from vistream.core.errors import ConfigError
from vistream.elements.msg.message import Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    source_id INTEGER NOT NULL,
    key TEXT,
    topic TEXT,
    payload BLOB NOT NULL
)
"""


class Spool:
    """Ordered message store in one SQLite file (WAL); safe to use from one thread at a time."""

    def __init__(self, path: str | Path, max_messages: int = 100_000) -> None:
        self.path = Path(path)
        self.max_messages = max_messages
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open message spool {self.path}: {exc}") from None
        self._lock = threading.Lock()
        self._count = int(self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])

    def __len__(self) -> int:
        return self._count

    def append(self, messages: Sequence[Message]) -> int:
        """Store messages after the ones already there; returns how many old ones were dropped."""
        if not messages:
            return 0
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO spool (id, source_id, key, topic, payload) VALUES (?, ?, ?, ?, ?)",
                [(m.id, m.source_id, m.key, m.topic, m.payload) for m in messages])
            self._count += len(messages)
            dropped = max(0, self._count - self.max_messages)
            if dropped:
                self._db.execute("DELETE FROM spool WHERE seq IN (SELECT seq FROM spool ORDER BY seq LIMIT ?)",
                                 (dropped,))
                self._count -= dropped
            self._db.execute("COMMIT")
        return dropped

    def peek(self, limit: int) -> list[Message]:
        """The oldest ``limit`` messages (left in the spool until :meth:`remove`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, source_id, key, topic, payload FROM spool ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [Message(id=r[1], source_id=r[2], payload=bytes(r[5]), key=r[3], topic=r[4], seq=r[0]) for r in rows]

    def remove(self, messages: Sequence[Message]) -> None:
        """Delete delivered messages (those returned by :meth:`peek`)."""
        seqs = [(m.seq,) for m in messages if m.seq is not None]
        if not seqs:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM spool WHERE seq = ?", seqs)
            self._db.execute("COMMIT")
            self._count = int(self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
