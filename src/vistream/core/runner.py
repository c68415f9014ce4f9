"""One thread per element: take from the input queue, process, push; or, for a source, generate."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from vistream.core.buffer import Batch, Frame
from vistream.core.element import Element, Source
from vistream.core.events import EOS, Event
from vistream.core.scheduler import InputQueue

if TYPE_CHECKING:
    from vistream.core.pipeline import Pipeline

log = logging.getLogger("vistream.runner")


class ElementRunner:
    """Drives one element in its own daemon thread."""

    def __init__(self, element: Element, pipeline: Pipeline) -> None:
        self.element = element
        self.pipeline = pipeline
        self.queue = InputQueue(element.queue_capacity)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.done = threading.Event()
        self.eos_sent = False
        element._runner = self  # type: ignore[attr-defined]

    def should_abort(self) -> bool:
        return self.stop_event.is_set()

    def start(self) -> None:
        target = self._run_source if isinstance(self.element, Source) else self._run_element
        self.thread = threading.Thread(target=target, name=f"vistream:{self.element.name}", daemon=True)
        self.thread.start()

    def request_stop(self) -> None:
        self.stop_event.set()
        self.queue.wake()

    def join(self, timeout: float) -> bool:
        if self.thread is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()

    # ---- sources -------------------------------------------------------------------------------
    def _run_source(self) -> None:
        source = self.element
        assert isinstance(source, Source)
        try:
            # A source's processing time is the time to produce a frame (read, decode, convert);
            # the wait for room downstream is back-pressure, not work, and is left out.
            started = time.perf_counter_ns()
            for item in source.generate():
                if self.stop_event.is_set():
                    break
                batch = Batch([item]) if isinstance(item, Frame) else item
                source.stats.record(time.perf_counter_ns() - started, len(batch))
                source.push(batch)
                started = time.perf_counter_ns()
        except Exception as exc:  # isolate: the error goes on the bus, other streams continue
            source.stats.errors += 1
            log.debug("source %s failed", source.name, exc_info=True)
            source.post_error(str(exc), error=exc)
        finally:
            if not self.stop_event.is_set():
                source.push_event(EOS())
                self.eos_sent = True
            self.done.set()
            self.pipeline._element_finished(source)

    # ---- everything else -------------------------------------------------------------------------
    def _run_element(self) -> None:
        element = self.element
        try:
            while not self.stop_event.is_set() and not element.finished:
                deadline = element.next_deadline()
                wait = 0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic()))
                got = self.queue.get(wait, element.items_wanted())
                if got is None:
                    if deadline is not None and time.monotonic() >= deadline:
                        self._guarded(element.on_timeout)
                    continue
                pad_name, item = got
                pad = element.pads.get(pad_name)
                if isinstance(item, Event):
                    if pad is not None:
                        self._guarded(element.handle_event, item, pad)
                    continue
                self._process(item, pad)
        finally:
            self.done.set()
            self.pipeline._element_finished(element)

    def _process(self, batch: Batch, pad: Any) -> None:
        element = self.element
        started = time.perf_counter_ns()
        try:
            if pad is None:  # the pad was released meanwhile (source removed)
                return
            result = element.receive(batch, pad)
            # Processing time excludes the wait for room downstream (that is back-pressure).
            element.stats.record(time.perf_counter_ns() - started, len(batch))
            if result is not None:
                element.push(result)
            return
        except Exception as exc:
            element.stats.errors += 1
            log.debug("element %s failed on a batch", element.name, exc_info=True)
            sources = sorted({f.source_id for f in batch.frames})
            element.post_error(
                f"{type(exc).__name__}: {exc} (batch of sources {sources} dropped)",
                source_id=sources[0] if len(sources) == 1 else None,
                error=exc,
            )

    def _guarded(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            fn(*args)
        except Exception as exc:
            self.element.stats.errors += 1
            log.debug("element %s failed", self.element.name, exc_info=True)
            self.element.post_error(f"{type(exc).__name__}: {exc}", error=exc)
