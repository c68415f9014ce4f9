"""Pipeline: graph building, linking, lifecycle, dynamic sources, the bus, and statistics.

Example:
    >>> import vistream
    >>> pipeline = vistream.parse_launch(
    ...     "testsrc num-buffers=5 width=64 height=48 ! appsink name=out")
    >>> _ = pipeline.run(timeout=10)
    >>> [f.frame_num for b in pipeline["out"].batches for f in b.frames]
    [0, 1, 2, 3, 4]
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from vistream.core.bus import Bus
from vistream.core.element import Element, Pad, PadDirection, Sink, Source
from vistream.core.errors import LinkError, PipelineError
from vistream.core.events import EOS, Event, Message, MessageType, StreamAdded
from vistream.core.registry import Registry, default_registry
from vistream.core.runner import ElementRunner

log = logging.getLogger("vistream.pipeline")


class Pipeline:
    """A graph of elements linked pad to pad, each running in its own thread."""

    def __init__(self, name: str = "pipeline", registry: Registry | None = None) -> None:
        self.name = name
        self.registry = registry or default_registry
        self.elements: dict[str, Element] = {}
        self.bus = Bus()
        self.state = "null"
        self._runners: dict[str, ElementRunner] = {}
        self._lock = threading.RLock()
        self._eos = threading.Event()
        self._started_at = 0.0

    # ---- building --------------------------------------------------------------------------------
    def add(self, *elements: Element) -> Element:
        """Add elements; returns the last one. Names must be unique."""
        for element in elements:
            with self._lock:
                if element.name in self.elements:
                    raise PipelineError(f"pipeline already has an element named '{element.name}'")
                self.elements[element.name] = element
                element.pipeline = self
        return elements[-1]

    def make(self, factory_name: str, name: str | None = None, **properties: Any) -> Element:
        """Create a registered element and add it."""
        return self.add(self.registry.make(factory_name, name, **properties))

    def __getitem__(self, name: str) -> Element:
        try:
            return self.elements[name]
        except KeyError:
            raise KeyError(f"no element named '{name}' in {self.name}; elements: {', '.join(self.elements)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.elements

    def _resolve(self, ref: Element | Pad | str, direction: PadDirection) -> Pad:
        if isinstance(ref, Pad):
            return ref
        pad_name = None
        if isinstance(ref, str):
            element_name, _, pad_name = ref.partition(".")
            element = self[element_name]
        else:
            element = ref
        if pad_name:
            pad = element.get_pad(pad_name)
            if pad.direction is not direction:
                raise LinkError(f"pad '{element.name}.{pad_name}' is a {pad.direction.value} pad, expected {direction.value}")
            return pad
        free = [p for p in list(element.pads.values()) if p.direction is direction and p.peer is None and not p.releasing]
        if free:
            return free[0]
        for template in element.pad_templates:
            if template.direction is direction and template.presence.value == "request":
                return element.request_pad(template.name)
        raise LinkError(
            f"element '{element.name}' has no free {direction.value} pad"
            + (" (it has none at all)" if not any(p.direction is direction for p in element.pads.values()) else "")
        )

    def link(self, upstream: Element | Pad | str, downstream: Element | Pad | str) -> tuple[Pad, Pad]:
        """Link ``upstream`` (element, ``"name"``, ``"name.src_0"``) to ``downstream``."""
        src = self._resolve(upstream, PadDirection.SRC)
        sink = self._resolve(downstream, PadDirection.SINK)
        for pad in (src, sink):
            if pad.element.name not in self.elements:
                raise LinkError(f"element '{pad.element.name}' is not in pipeline '{self.name}'; add it first")
            if pad.peer is not None:
                raise LinkError(f"pad '{pad.element.name}.{pad.name}' is already linked to {pad.peer!r}")
            if pad.releasing:
                raise LinkError(f"pad '{pad.element.name}.{pad.name}' is being released; request a new pad")
        src.peer, sink.peer = sink, src
        return src, sink

    def link_many(self, *elements: Element | str) -> None:
        """Link elements in a chain."""
        for upstream, downstream in zip(elements, elements[1:]):
            self.link(upstream, downstream)

    def links(self) -> list[tuple[str, str]]:
        """All links as ``("a.src", "b.sink")`` pairs."""
        out = []
        for element in self.elements.values():
            for pad in element.src_pads():
                if pad.peer is not None:
                    out.append((f"{element.name}.{pad.name}", f"{pad.peer.element.name}.{pad.peer.name}"))
        return sorted(out)

    def describe(self) -> dict[str, Any]:
        """Elements (type, name, non-default properties) and links: equal graphs compare equal."""
        return {
            "elements": sorted((e.describe() for e in self.elements.values()), key=lambda d: d["name"]),
            "links": self.links(),
        }

    # ---- validation --------------------------------------------------------------------------------
    def _validate(self, require_source: bool = True) -> None:
        if not self.elements:
            raise PipelineError(f"pipeline '{self.name}' is empty")
        if require_source and not any(isinstance(e, Source) for e in self.elements.values()):
            raise PipelineError(f"pipeline '{self.name}' has no source element (e.g. urisrc, testsrc)")
        for element in self.elements.values():
            for pad in element.pads.values():
                if pad.peer is None and pad.template.presence.value == "always":
                    raise PipelineError(
                        f"pad '{element.name}.{pad.name}' is not linked; link it or remove '{element.name}'"
                    )
        self._check_memory()

    def _check_memory(self) -> None:
        """Propagate frame memory (cpu / cuda) from sources and check each link."""
        memory: dict[str, str] = {}
        pending = [e for e in self.elements.values() if isinstance(e, Source)]
        for source in pending:
            memory[source.name] = source.output_memory(None)
        seen: set[str] = set()
        while pending:
            element = pending.pop()
            if element.name in seen:
                continue
            seen.add(element.name)
            produced = element.output_memory(memory.get(element.name))
            for pad in element.src_pads():
                if pad.peer is None:
                    continue
                downstream = pad.peer.element
                if not downstream.accepts_memory(produced):
                    raise LinkError(
                        f"incompatible link {element.name}.{pad.name} -> {downstream.name}.{pad.peer.name}: "
                        f"'{element.name}' produces {produced} frames but '{downstream.name}' "
                        f"({downstream.factory_name}) does not accept them; insert "
                        f"'videoconvert memory=cpu' between them or choose a {produced} element"
                    )
                memory.setdefault(downstream.name, produced)
                pending.append(downstream)

    # ---- lifecycle -------------------------------------------------------------------------------------
    def start(self, require_source: bool = True) -> Pipeline:
        """Validate the graph, start every element, then their threads (sinks first).

        ``require_source=False`` lets a service start with no source yet (they are added later
        with :meth:`add_source`).
        """
        with self._lock:
            if self.state == "playing":
                return self
            self._validate(require_source)
            self._eos.clear()
            started: list[Element] = []
            try:
                for element in self.elements.values():
                    element.finished = False
                    for pad in element.pads.values():
                        pad.eos = False
                    element.start()
                    started.append(element)
            except Exception as exc:
                failed = element.name
                for other in started:
                    _quietly(other.stop)
                if isinstance(exc, PipelineError):
                    raise
                raise PipelineError(f"element '{failed}' failed to start: {exc}") from exc
            for element in self.elements.values():
                self._runners[element.name] = ElementRunner(element, self)
            self._announce_sources()
            ordered = sorted(self._runners.values(), key=lambda r: isinstance(r.element, Source))
            for runner in ordered:
                runner.start()
            self._started_at = time.monotonic()
            self.state = "playing"
            self.bus.post(Message(MessageType.STATE_CHANGED, self.name, "playing"))
            # A short stream may have reached every sink before the state said "playing".
            for element in list(self.elements.values()):
                if element.finished:
                    self._element_finished(element)
        return self

    def _announce_sources(self) -> None:
        for element in self.elements.values():
            if isinstance(element, Source) and element.src.peer is not None:
                self._send(element.src.peer, StreamAdded(-1, element.name, str(getattr(element, "uri", ""))))

    def _send(self, pad: Pad, event: Event) -> None:
        runner = self._runners.get(pad.element.name)
        if runner is not None:
            runner.queue.put(pad.name, event)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until EOS (True) or ``timeout`` (False)."""
        return self._eos.wait(timeout)

    @property
    def is_eos(self) -> bool:
        return self._eos.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread (sources first), then release element resources. Idempotent."""
        with self._lock:
            if self.state != "playing":
                return
            self.state = "stopping"
            runners = sorted(self._runners.values(), key=lambda r: not isinstance(r.element, Source))
            for runner in runners:
                runner.request_stop()
            deadline = time.monotonic() + timeout
            for runner in runners:
                if not runner.join(max(0.1, deadline - time.monotonic())):
                    log.warning("element %s did not stop within %.1fs", runner.element.name, timeout)
            for runner in runners:
                _quietly(runner.element.stop, log_as=runner.element.name)
            self._runners.clear()
            self.state = "stopped"
            self.bus.post(Message(MessageType.STATE_CHANGED, self.name, "stopped"))

    def run(self, timeout: float | None = None) -> Pipeline:
        """Start, wait for EOS (or ``timeout``), stop. Raises if it timed out."""
        self.start()
        try:
            if not self.wait(timeout):
                raise PipelineError(f"pipeline '{self.name}' did not reach EOS within {timeout}s")
        finally:
            self.stop()
        return self

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _element_finished(self, element: Element) -> None:
        if self.state != "playing" or not element.finished and not isinstance(element, Source):
            return
        sinks = [e for e in self.elements.values() if not e.src_pads() and not isinstance(e, Source)]
        if sinks and all(e.finished for e in sinks) and not self._eos.is_set():
            self._eos.set()
            self.bus.post(Message(MessageType.EOS, self.name, "end of stream"))

    # ---- dynamic sources -----------------------------------------------------------------------------
    def add_source(self, source: Source, link_to: str | Element | Pad) -> Pad:
        """Add and start a source while the pipeline runs (or before it starts).

        ``link_to`` is usually the muxer (``"mux"``): a free request pad is taken. Returns the
        downstream pad; for ``streammux`` its index is the new ``source_id``.
        """
        with self._lock:
            self.add(source)
            try:
                _, sink = self.link(source, link_to)
            except Exception:
                self.elements.pop(source.name, None)
                raise
            if self.state != "playing":
                return sink
            try:
                source.start()
            except Exception as exc:
                source.src.peer = None
                sink.peer = None
                sink.element.release_pad(sink)
                self.elements.pop(source.name, None)
                raise PipelineError(f"source '{source.name}' failed to start: {exc}") from exc
            runner = ElementRunner(source, self)
            self._runners[source.name] = runner
            self._send(sink, StreamAdded(-1, source.name, str(getattr(source, "uri", ""))))
            runner.start()
            self.bus.post(Message(MessageType.STREAM_ADDED, source.name, "source added"))
            return sink

    def remove_source(self, source: Source | str, timeout: float = 5.0) -> None:
        """Stop a source while the pipeline runs; downstream gets EOS for it (no deadlock)."""
        with self._lock:
            element = self[source] if isinstance(source, str) else source
            if not isinstance(element, Source):
                raise PipelineError(f"'{element.name}' is not a source element")
            runner = self._runners.pop(element.name, None)
            peer = element.src.peer
            if peer is not None:
                peer.releasing = True
            if runner is not None:
                runner.request_stop()
                if not runner.join(timeout):
                    log.warning("source %s did not stop within %.1fs; abandoning its thread", element.name, timeout)
                if peer is not None and not getattr(runner, "eos_sent", False):
                    self._send(peer, EOS())
            if peer is not None:
                peer.peer = None
            element.src.peer = None
            _quietly(element.stop, log_as=element.name)
            self.elements.pop(element.name, None)
            element.pipeline = None
            self.bus.post(Message(MessageType.STREAM_REMOVED, element.name, "source removed"))

    def sources(self) -> list[Source]:
        return [e for e in self.elements.values() if isinstance(e, Source)]

    # ---- statistics ------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Per-element processing time, queue depth and drops; per-stream frames and FPS; end-to-end
        latency at the sinks.

        Per-stream figures come from the elements that rank highest in ``stream_stats_rank``:
        the muxer (exact per-source input, even when a tiler merges the streams later), else the sinks.
        """
        elements = {}
        reporters: dict[int, list[Element]] = {}
        latency: dict[str, Any] = {"count": 0}
        for name, element in list(self.elements.items()):
            runner = self._runners.get(name)
            entry = element.stats.summary()
            if runner is not None:
                entry["queue_depth"] = runner.queue.depth()
                entry["dropped"] = runner.queue.dropped
            elements[name] = entry
            if element.stream_stats.frames and element.stream_stats_rank > 0:
                reporters.setdefault(element.stream_stats_rank, []).append(element)
            if isinstance(element, Sink) and element.stream_stats.frames and not latency["count"]:
                latency = element.stream_stats.latency_summary()
        streams: dict[int, dict[str, float]] = {}
        for element in reporters[max(reporters)] if reporters else []:
            for sid, values in element.stream_stats.summary().items():
                streams.setdefault(sid, values)
        return {
            "state": self.state,
            "uptime_s": round(time.monotonic() - self._started_at, 3) if self._started_at else 0.0,
            "elements": elements,
            "streams": dict(sorted(streams.items())),
            "latency": latency,
        }


def _quietly(fn: Callable[[], Any], log_as: str = "") -> None:
    try:
        fn()
    except Exception:
        log.exception("stopping %s failed", log_as or fn)


def build_chain(pipeline: Pipeline, elements: Iterable[Element]) -> None:
    """Add and link a list of elements in order."""
    elements = list(elements)
    pipeline.add(*elements)
    pipeline.link_many(*elements)
