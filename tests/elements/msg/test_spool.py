"""The on-disk spool: order, survival across reopening, bound."""

from __future__ import annotations

from vistream.elements.msg.message import Message
from vistream.elements.msg.spool import Spool


def test_spool_keeps_order_across_reopen_and_bound(tmp_path):
    path = tmp_path / "s.sqlite"
    spool = Spool(path, max_messages=5)
    assert spool.append([Message(f"a{i}", i % 2, f"{i}".encode(), key=str(i % 2)) for i in range(4)]) == 0
    spool.close()
    reopened = Spool(path, max_messages=5)
    assert len(reopened) == 4
    assert reopened.append([Message("b0", 0, b"x"), Message("b1", 1, b"y")]) == 1  # a0 dropped
    first = reopened.peek(2)
    assert [(m.id, m.source_id, m.key, m.payload) for m in first] == [("a1", 1, "1", b"1"), ("a2", 0, "0", b"2")]
    reopened.remove(first)
    assert [m.id for m in reopened.peek(10)] == ["a3", "b0", "b1"] and len(reopened) == 3
    reopened.close()
