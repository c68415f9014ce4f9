"""A pipeline run as a long-lived service: add, remove, pause streams; stats, health, events.

This is the API the REST server calls; it has no HTTP in it, so it can be used (and tested) from
plain Python.

Example:
    >>> import vistream
    >>> pipeline = vistream.parse_launch("streammux name=mux ! fakesink name=sink")
    >>> service = StreamService(pipeline, policy=UriPolicy(schemes=("lavfi",)))
    >>> _ = service.start()
    >>> service.add_stream("cam1", "lavfi:testsrc2=size=64x48:rate=25", {"num-buffers": 5})["source_id"]
    0
    >>> service.wait_frames("cam1", 5, timeout=10)
    True
    >>> service.remove_stream("cam1"); service.stop()
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from vistream.core.element import Element, Pad, Source
from vistream.core.errors import PipelineError, PropertyError, VistreamError
from vistream.core.events import Message, MessageType
from vistream.core.pipeline import Pipeline
from vistream.server.preview import PreviewTap
from vistream.server.tracking import StreamCounter, StreamRecord
from vistream.server.uris import UriPolicy

log = logging.getLogger("vistream.server")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class StreamNotFound(VistreamError, LookupError):
    """No stream of that name is part of the service."""


class StreamExists(VistreamError):
    """A stream of that name is already part of the service."""


@dataclass(frozen=True)
class HealthReport:
    """Whether the service is healthy, and why not."""

    healthy: bool
    reasons: tuple[str, ...]
    stalled: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.healthy else "unhealthy", "reasons": list(self.reasons),
                "stalled_streams": list(self.stalled)}


class StreamService:
    """Owns a running pipeline and its streams (sources linked to the muxer)."""

    def __init__(self, pipeline: Pipeline, mux: str | None = None, policy: UriPolicy | None = None,
                 stall_timeout: float = 5.0, source_factory: str = "urisrc", tap: str | None = None,
                 preview_fps: float = 5.0, event_history: int = 200) -> None:
        self.pipeline = pipeline
        self.policy = policy or UriPolicy()
        self.stall_timeout = stall_timeout
        self.source_factory = source_factory
        self.mux = self._find_mux(mux)
        self.tap_pad = self._find_tap(tap)
        self.counter = StreamCounter(on_stream_end=self._stream_ended)
        self.preview = PreviewTap(max_fps=preview_fps)
        self.events: deque[dict[str, Any]] = deque(maxlen=event_history)
        self._streams: dict[str, StreamRecord] = {}
        self._lock = threading.RLock()
        self._probes: list[int] = []
        self.started_at = 0.0
        pipeline.bus.add_watch(self._on_message)

    # ---- set-up ------------------------------------------------------------------------------------
    def _find_mux(self, name: str | None) -> Element:
        if name is not None:
            return self.pipeline[name]
        muxers = [e for e in self.pipeline.elements.values() if e.factory_name == "streammux"]
        if len(muxers) != 1:
            raise PipelineError(
                f"service mode needs exactly one streammux to add streams to, found {len(muxers)}"
                + (f" ({', '.join(m.name for m in muxers)}); choose one with --mux" if muxers else "")
            )
        return muxers[0]

    def _find_tap(self, ref: str | None) -> Pad:
        """The src pad where frames are counted and previews taken (default: the one feeding the sink)."""
        if ref:
            element_name, _, pad_name = ref.partition(".")
            return self.pipeline[element_name].get_pad(pad_name or "src")
        sinks = [e for e in self.pipeline.elements.values()
                 if not isinstance(e, Source) and not e.src_pads() and e.sink_pads()]
        for sink in sinks:
            for pad in sink.sink_pads():
                if pad.peer is not None:
                    return pad.peer
        return self.mux.get_pad("src")

    def start(self) -> StreamService:
        """Keep the muxer alive with zero sources, install the probes, start the pipeline."""
        if "drop-pipeline-eos" in self.mux.property_specs():
            self.mux.set_property("drop-pipeline-eos", True)
        self._probes = [self.tap_pad.add_probe(self.counter, events=True), self.tap_pad.add_probe(self.preview)]
        for source in self.pipeline.sources():
            peer = source.src.peer
            if peer is not None and peer.element is self.mux:
                self._register(source, int(peer.name.rsplit("_", 1)[1]))
        self.pipeline.start(require_source=False)
        self.started_at = time.monotonic()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the pipeline and remove the probes. Idempotent."""
        self.pipeline.stop(timeout)
        for probe_id in self._probes:
            self.tap_pad.remove_probe(probe_id)
        self._probes = []

    @property
    def running(self) -> bool:
        return self.pipeline.state == "playing"

    # ---- streams -----------------------------------------------------------------------------------
    def _register(self, source: Source, source_id: int) -> StreamRecord:
        record = StreamRecord(source.name, str(getattr(source, "uri", "")), source_id, element=source)
        with self._lock:
            self._streams[source.name] = record
        self.counter.track(record)
        return record

    def add_stream(self, name: str, uri: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
        """Check ``uri`` against the policy, create the source, link it to the muxer and start it."""
        if not _NAME.match(name or ""):
            raise PropertyError(f"stream name {name!r} is invalid; use 1-64 letters, digits, '_', '.', '-'")
        self.policy.check(uri)
        properties = dict(properties or {})
        if {"uri", "name"} & {k.replace("_", "-") for k in properties}:
            raise PropertyError("give 'uri' and 'name' as fields of the request, not as properties")
        with self._lock:
            if name in self._streams or name in self.pipeline:
                raise StreamExists(f"a stream or element named '{name}' exists already; remove it first or choose another name")
            if not self.running:
                raise PipelineError("the service is not running")
            source = self.pipeline.registry.make(self.source_factory, name, uri=uri, **properties)
            if not isinstance(source, Source):
                raise PipelineError(f"'{self.source_factory}' is not a source element")
            # Registered before the source starts so its first frames are counted.
            pad = self.mux.request_pad(self.mux.pad_templates[0].name)
            record = self._register(source, int(pad.name.rsplit("_", 1)[1]))
            try:
                self.pipeline.add_source(source, pad)
            except Exception:
                self.mux.release_pad(pad)
                self._streams.pop(name, None)
                self.counter(_end_marker(record.source_id))
                raise
            record.added_at = time.monotonic()  # the stall clock starts once the source runs
        self._event("stream-added", name, f"added {uri}", record.source_id)
        return record.to_dict(self.stall_timeout)

    def remove_stream(self, name: str, timeout: float = 5.0) -> None:
        """Stop and unlink a stream; the muxer flushes its frames and emits its end."""
        with self._lock:
            record = self._get(name)
            if name in self.pipeline:
                self.pipeline.remove_source(name, timeout)
            self._streams.pop(name, None)
        self._event("stream-removed", name, "removed", record.source_id)

    def pause_stream(self, name: str) -> dict[str, Any]:
        """Hold a stream (files wait where they are; live streams discard frames meanwhile)."""
        return self._set_paused(name, True)

    def resume_stream(self, name: str) -> dict[str, Any]:
        return self._set_paused(name, False)

    def _set_paused(self, name: str, paused: bool) -> dict[str, Any]:
        record = self._get(name)
        flag = getattr(record.element, "paused", None)
        if flag is None:
            raise PipelineError(f"stream '{name}' ({type(record.element).__name__}) cannot be paused")
        flag.set() if paused else flag.clear()
        self._event("stream-paused" if paused else "stream-resumed", name, "paused" if paused else "resumed",
                    record.source_id)
        return record.to_dict(self.stall_timeout)

    def _get(self, name: str) -> StreamRecord:
        with self._lock:
            record = self._streams.get(name)
        if record is None:
            known = ", ".join(sorted(self._streams)) or "(none)"
            raise StreamNotFound(f"no stream named '{name}'; streams: {known}")
        return record

    def stream(self, name: str) -> dict[str, Any]:
        return self._get(name).to_dict(self.stall_timeout)

    def streams(self) -> list[dict[str, Any]]:
        with self._lock:
            records = list(self._streams.values())
        return [r.to_dict(self.stall_timeout) for r in sorted(records, key=lambda r: r.source_id)]

    def records(self) -> list[StreamRecord]:
        with self._lock:
            return list(self._streams.values())

    def record_by_source_id(self, source_id: int) -> StreamRecord | None:
        with self._lock:
            return next((r for r in self._streams.values() if r.source_id == source_id and not r.ended), None)

    def wait_frames(self, name: str, frames: int, timeout: float) -> bool:
        """Wait until stream ``name`` delivered ``frames`` frames (True) or ``timeout`` (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._get(name).frames >= frames:
                return True
            time.sleep(0.02)
        return False

    # ---- health ------------------------------------------------------------------------------------
    def health(self) -> HealthReport:
        """Unhealthy when the pipeline is not playing, or a stream sent no frame for ``stall_timeout``."""
        reasons: list[str] = []
        if not self.running:
            reasons.append(f"pipeline is {self.pipeline.state}")
        now = time.monotonic()
        stalled = []
        for record in self.records():
            if record.state(self.stall_timeout, now) == "stalled":
                stalled.append(record.name)
                reasons.append(f"stream '{record.name}' sent no frame for {record.silent_for(now):.1f}s "
                               f"(stall-timeout {self.stall_timeout:g}s)")
        return HealthReport(not reasons, tuple(reasons), tuple(stalled))

    def ready(self) -> bool:
        return self.running

    def stats(self) -> dict[str, Any]:
        stats = self.pipeline.stats()
        stats["service_streams"] = self.streams()
        return stats

    # ---- events ------------------------------------------------------------------------------------
    def _event(self, kind: str, element: str, text: str, source_id: int | None = None) -> None:
        self.events.append({"time": time.time(), "type": kind, "element": element, "text": text,
                            "source_id": source_id})

    def _on_message(self, message: Message) -> None:
        if message.type is MessageType.ERROR:
            record = self._streams.get(message.element)
            if record is not None:
                record.error = message.text
        if message.type in (MessageType.STREAM_ADDED, MessageType.STREAM_REMOVED):
            return  # the service's own stream-added / stream-removed events say more
        self._event(message.type.value, message.element, message.text, message.source_id)

    def _stream_ended(self, record: StreamRecord) -> None:
        self.preview.forget(record.source_id)
        self._event("stream-eos", record.name, f"{record.frames} frames", record.source_id)


def _end_marker(source_id: int) -> Any:
    from vistream.core.events import StreamEOS

    return StreamEOS(source_id)
