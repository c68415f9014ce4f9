"""InputQueue: a batching consumer is woken once it has enough to do, not for every item."""

from __future__ import annotations

import threading
import time

from vistream.core.events import StreamEOS
from vistream.core.scheduler import InputQueue


def _get_in_thread(queue: InputQueue, timeout: float, min_items: int) -> tuple[threading.Thread, list]:
    got: list = []
    thread = threading.Thread(target=lambda: got.append((queue.get(timeout, min_items), time.monotonic())))
    thread.start()
    return thread, got


def test_consumer_sleeps_until_min_items_are_queued():
    queue = InputQueue(capacity=8)
    thread, got = _get_in_thread(queue, 5.0, min_items=3)
    queue.put("sink_0", "a")
    queue.put("sink_1", "b")
    time.sleep(0.2)
    assert not got  # two of three: still asleep
    put_at = time.monotonic()
    queue.put("sink_0", "c")
    thread.join(2)
    (item, woke_at), = got
    assert item == ("sink_0", "a") and woke_at - put_at < 1.0
    assert queue.get(0, min_items=3) == ("sink_1", "b")  # at the deadline it takes what there is


def test_timeout_takes_what_there_is_and_events_wake_at_once():
    queue = InputQueue(capacity=8)
    queue.put("sink_0", "a")
    started = time.monotonic()
    assert queue.get(0.15, min_items=4) == ("sink_0", "a")
    assert time.monotonic() - started >= 0.14
    assert queue.get(0.05, min_items=4) is None  # nothing queued at all

    thread, got = _get_in_thread(queue, 5.0, min_items=4)
    time.sleep(0.05)
    eos = StreamEOS(0)
    queue.put("sink_1", eos)
    thread.join(2)
    assert got and got[0][0] == ("sink_1", eos)


def test_counts_stay_right_when_items_are_dropped_or_pads_removed():
    queue = InputQueue(capacity=1)
    queue.put("sink_0", "a")
    queue.put("sink_0", "b", leaky=True)  # drops "a"
    queue.put("sink_1", "c")
    assert queue.remove_pad("sink_1") == ["c"]
    assert queue.get(0, min_items=2) == ("sink_0", "b")
    assert queue.get(0) is None and queue.depth() == 0
