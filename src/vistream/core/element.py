"""Elements, pads and probes: the building blocks of a pipeline.

An element declares its pads (:class:`PadTemplate`) and typed properties
(:class:`~vistream.core.properties.Property`), and does one step of work per batch in
:meth:`Element.process`. The core logic of most elements is also callable without a pipeline.

Example:
    >>> from vistream.core.element import Element, PadTemplate
    >>> from vistream.core.properties import Property
    >>> class Scale(Element):
    ...     '''Multiply every box by a factor.'''
    ...     factor = Property(float, 1.0, "Scale factor", minimum=0)
    ...     def process(self, batch):
    ...         for frame in batch:
    ...             frame.meta.objects.xyxy *= self.factor
    ...         return batch
    >>> s = Scale(name="scale", factor="2")
    >>> s.factor, sorted(s.pads)
    (2.0, ['sink', 'src'])
"""

from __future__ import annotations

import enum
import itertools
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from vistream.core.buffer import Batch, Frame
from vistream.core.errors import LinkError, PropertyError
from vistream.core.events import EOS, Event, Message, MessageType
from vistream.core.properties import Property
from vistream.core.scheduler import ElementStats, StreamStats

if TYPE_CHECKING:
    from vistream.core.pipeline import Pipeline


class _Drop:
    """Sentinel a probe returns to drop a batch."""

    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()
Probe = Callable[[Batch], Any]


def _drop_tracebacks(error: BaseException) -> None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


class PadDirection(enum.Enum):
    SINK = "sink"
    SRC = "src"


class PadPresence(enum.Enum):
    ALWAYS = "always"
    REQUEST = "request"


@dataclass(frozen=True)
class PadTemplate:
    """Declares a pad: ``sink`` / ``src`` (always) or ``sink_%u`` / ``src_%u`` (request).

    ``memory`` lists the frame memories the pad handles (``cpu``, ``cuda``), or ``("any",)``.
    """

    name: str
    direction: PadDirection
    presence: PadPresence = PadPresence.ALWAYS
    memory: tuple[str, ...] = ("cpu",)

    def matches(self, pad_name: str) -> bool:
        if self.presence is PadPresence.ALWAYS:
            return pad_name == self.name
        prefix = self.name.split("%u")[0]
        return pad_name.startswith(prefix) and pad_name[len(prefix):].isdigit()


SINK = PadTemplate("sink", PadDirection.SINK)
SRC = PadTemplate("src", PadDirection.SRC)
ANY_SINK = PadTemplate("sink", PadDirection.SINK, memory=("any",))
ANY_SRC = PadTemplate("src", PadDirection.SRC, memory=("any",))


class Pad:
    """A connection point of an element; carries batches and events to its peer, runs probes."""

    def __init__(self, element: Element, name: str, template: PadTemplate) -> None:
        self.element = element
        self.name = name
        self.template = template
        self.peer: Pad | None = None
        #: set while a removed source's EOS is still on its way: the pad must not be reused yet
        self.releasing = False
        self._probes: dict[int, tuple[Probe, bool]] = {}
        self._probe_ids = itertools.count(1)
        self.eos = False

    @property
    def direction(self) -> PadDirection:
        return self.template.direction

    @property
    def is_linked(self) -> bool:
        return self.peer is not None

    def add_probe(self, probe: Probe, events: bool = False) -> int:
        """Call ``probe(batch)`` for every batch through this pad; returns an id for removal.

        The probe may change metadata, return :data:`DROP` to drop the batch, or return a new
        :class:`Batch` to replace it. With ``events=True`` it also sees in-band events.
        """
        probe_id = next(self._probe_ids)
        self._probes[probe_id] = (probe, events)
        return probe_id

    def remove_probe(self, probe_id: int) -> None:
        self._probes.pop(probe_id, None)

    def run_probes(self, item: Any) -> Any:
        """Apply probes in order; returns the (possibly replaced) item or DROP."""
        for probe, wants_events in list(self._probes.values()):
            if isinstance(item, Event) and not wants_events:
                continue
            result = probe(item)
            if result is DROP:
                return DROP
            if isinstance(result, (Batch, Event)):
                item = result
        return item

    def __repr__(self) -> str:
        return f"<Pad {self.element.name}.{self.name}>"


class Element:
    """Base of every element. Subclasses override :meth:`process` (and maybe :meth:`start`,
    :meth:`stop`, :meth:`handle_event`, :meth:`next_deadline` / :meth:`on_timeout`)."""

    factory_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    pad_templates: ClassVar[tuple[PadTemplate, ...]] = (ANY_SINK, ANY_SRC)
    #: items an element may have waiting per sink pad before its producers block
    queue_capacity: ClassVar[int] = 4
    #: elements that count frames per source rank above 0; ``Pipeline.stats`` reports the highest
    stream_stats_rank: ClassVar[int] = 0
    _name_counters: ClassVar[dict[str, itertools.count]] = {}
    _name_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        self.name = name or self._auto_name()
        self.pads: dict[str, Pad] = {}
        for template in self.pad_templates:
            if template.presence is PadPresence.ALWAYS:
                self.pads[template.name] = Pad(self, template.name, template)
        self.pipeline: Pipeline | None = None
        self.stats = ElementStats()
        self.stream_stats = StreamStats()
        self.set_properties(**properties)

    # ---- naming and properties -------------------------------------------------------------
    def _auto_name(self) -> str:
        base = self.factory_name or type(self).__name__.lower()
        with Element._name_lock:
            counter = Element._name_counters.setdefault(base, itertools.count())
            return f"{base}{next(counter)}"

    @classmethod
    def property_specs(cls) -> dict[str, Property]:
        """All declared properties by user-facing name (``batch-size``), base classes included."""
        specs: dict[str, Property] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Property):
                    specs[value.name] = value
        return specs

    def set_properties(self, **properties: Any) -> None:
        """Set several properties; keys may use ``-`` or ``_``."""
        for key, value in properties.items():
            self.set_property(key, value)

    def set_property(self, key: str, value: Any) -> None:
        """Set one property, coercing strings; unknown names list the valid ones."""
        spec = self.property_specs().get(key.replace("_", "-"))
        if spec is None:
            valid = ", ".join(sorted(self.property_specs())) or "(none)"
            raise PropertyError(
                f"element '{self.name}' ({self.factory_name or type(self).__name__}) has no property "
                f"'{key}'; valid properties: {valid}"
            )
        setattr(self, spec.attr, spec.validate(value, self.name))

    def get_property(self, key: str) -> Any:
        spec = self.property_specs().get(key.replace("_", "-"))
        if spec is None:
            raise PropertyError(f"element '{self.name}' has no property '{key}'")
        return getattr(self, spec.attr)

    def non_default_properties(self) -> dict[str, Any]:
        """Properties whose value differs from the default (for ``describe`` and comparisons)."""
        out = {}
        for name, spec in self.property_specs().items():
            value = getattr(self, spec.attr)
            if value != spec.default:
                out[name] = value
        return out

    # ---- pads ------------------------------------------------------------------------------
    @property
    def src(self) -> Pad:
        """The always ``src`` pad."""
        return self.get_pad("src")

    @property
    def sink(self) -> Pad:
        """The always ``sink`` pad."""
        return self.get_pad("sink")

    def get_pad(self, name: str) -> Pad:
        pad = self.pads.get(name)
        if pad is not None:
            return pad
        for template in self.pad_templates:
            if template.presence is PadPresence.REQUEST and template.matches(name):
                return self.request_pad(name)
        valid = ", ".join(sorted(self.pads) + [t.name for t in self.pad_templates if t.presence is PadPresence.REQUEST])
        raise LinkError(f"element '{self.name}' has no pad '{name}'; pads: {valid or '(none)'}")

    def request_pad(self, name: str) -> Pad:
        """Create a request pad: an exact name (``sink_3``) or a template (``sink_%u``: next free)."""
        if name in self.pads:
            return self.pads[name]
        for template in self.pad_templates:
            if template.presence is not PadPresence.REQUEST:
                continue
            if name == template.name:
                prefix = template.name.split("%u")[0]
                index = 0
                while f"{prefix}{index}" in self.pads:
                    index += 1
                name = f"{prefix}{index}"
            if template.matches(name):
                pad = Pad(self, name, template)
                self.pads[name] = pad
                return pad
        raise LinkError(f"element '{self.name}' has no request pad template matching '{name}'")

    def release_pad(self, pad: Pad) -> None:
        """Remove a request pad (after a source is removed)."""
        self.pads.pop(pad.name, None)

    def upstream_sources(self) -> list[Source]:
        """The sources whose frames reach this element, through any elements in between."""
        found: list[Source] = []
        for pad in self.sink_pads():
            upstream = pad.peer.element if pad.peer is not None else None
            if isinstance(upstream, Source):
                found.append(upstream)
            elif upstream is not None:
                found.extend(s for s in upstream.upstream_sources() if s not in found)
        return found

    def sink_pads(self) -> list[Pad]:
        # list() first: request pads may be added / released by another thread meanwhile.
        return [p for p in list(self.pads.values()) if p.direction is PadDirection.SINK]

    def src_pads(self) -> list[Pad]:
        return [p for p in list(self.pads.values()) if p.direction is PadDirection.SRC]

    def output_memory(self, input_memory: str | None) -> str:
        """Memory of the frames this element emits, given what it receives."""
        for template in self.pad_templates:
            if template.direction is PadDirection.SRC:
                return (input_memory or "cpu") if "any" in template.memory else template.memory[0]
        return input_memory or "cpu"

    def accepts_memory(self, memory: str) -> bool:
        for template in self.pad_templates:
            if template.direction is PadDirection.SINK:
                return "any" in template.memory or memory in template.memory
        return True

    # ---- lifecycle (called by the pipeline) -------------------------------------------------
    def start(self) -> None:
        """Open resources; raise here (not mid-stream) for bad configuration."""

    def stop(self) -> None:
        """Release resources. Called once from the pipeline's thread after the element's thread ended."""

    # ---- data flow ---------------------------------------------------------------------------
    def process(self, batch: Batch) -> Batch | None:
        """Work on one batch; return a batch to push on ``src`` or None (pushed already / dropped)."""
        return batch

    def receive(self, batch: Batch, pad: Pad) -> Batch | None:
        """Entry point of the element's thread for a batch from ``pad``; override when the pad matters."""
        return self.process(batch)

    def handle_event(self, event: Event, pad: Pad) -> None:
        """Handle an in-band event from ``pad``. Default: EOS once every sink pad saw it; others forwarded."""
        if isinstance(event, EOS):
            pad.eos = True
            if all(p.eos for p in self.sink_pads() if p.is_linked or p is pad):
                self.on_eos()
                self.push_event(EOS())
                self.finished = True
            return
        self.push_event(event)

    def on_eos(self) -> None:
        """Flush anything held back before EOS is forwarded."""

    def next_deadline(self) -> float | None:
        """``time.monotonic()`` at which :meth:`on_timeout` should run, or None."""
        return None

    def on_timeout(self) -> None:
        """Called when the deadline from :meth:`next_deadline` has passed."""

    def items_wanted(self) -> int:
        """Queued items worth waking this element's thread for (a batching element: the rest of
        its batch); before :meth:`next_deadline` it takes whatever has come."""
        return 1

    finished: bool = False

    def push(self, batch: Batch, pad_name: str = "src") -> bool:
        """Push a batch out of a src pad (through its probes). Returns False when dropped."""
        pad = self.pads.get(pad_name)
        if pad is None or pad.peer is None:
            return False
        item = pad.run_probes(batch)
        if item is DROP:
            return False
        return self._deliver(pad, item)

    def push_event(self, event: Event, pad_name: str | None = None) -> None:
        """Send an event out of one src pad, or all of them."""
        pads = [self.pads[pad_name]] if pad_name else self.src_pads()
        for pad in pads:
            if pad.peer is None:
                continue
            item = pad.run_probes(event)
            if item is not DROP:
                self._deliver(pad, item)

    def _deliver(self, pad: Pad, item: Any) -> bool:
        peer = pad.peer
        assert peer is not None
        runner = getattr(peer.element, "_runner", None)
        if runner is None:
            return False
        own = getattr(self, "_runner", None)
        # Live sources never wait for a slow consumer, and a leaky queue never makes its producer
        # wait: the oldest queued batch is dropped instead (and counted).
        leaky = bool(getattr(self, "live", False)) or bool(getattr(peer.element, "leaky", False))
        abort = own.should_abort if own is not None else None
        return runner.queue.put(peer.name, item, leaky=leaky, abort=abort)

    # ---- bus ---------------------------------------------------------------------------------
    def post(self, kind: MessageType, text: str, source_id: int | None = None,
             error: BaseException | None = None, **data: Any) -> None:
        """Post a message on the pipeline's bus.

        An error's traceback is kept as text in ``data["traceback"]`` and dropped from the
        exception: its frames would otherwise keep the failed batch (and its GPU memory) alive for
        as long as the bus remembers the message.
        """
        if error is not None:
            data.setdefault("traceback", "".join(traceback.format_exception(error)))
            _drop_tracebacks(error)
        if self.pipeline is not None:
            self.pipeline.bus.post(Message(kind, self.name, text, source_id, error, data))

    def post_error(self, text: str, source_id: int | None = None, error: BaseException | None = None) -> None:
        self.post(MessageType.ERROR, text, source_id, error)

    def post_warning(self, text: str, source_id: int | None = None) -> None:
        self.post(MessageType.WARNING, text, source_id)

    def describe(self) -> dict[str, Any]:
        """Class, name and non-default properties."""
        return {"type": self.factory_name, "name": self.name, "properties": self.non_default_properties()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Source(Element):
    """An element without sink pads that produces frames in its own thread via :meth:`generate`."""

    pad_templates = (SRC,)
    live = Property(bool, False, "Live source: frames are produced in real time; a slow consumer drops the oldest")

    def frame_sizes(self) -> set[tuple[int, int]] | None:
        """The ``(width, height)`` of the frames this source will produce, when it can tell before
        it runs (elements such as ``infer`` prepare for them at start-up); None when it cannot."""
        return None

    def generate(self) -> Iterator[Frame | Batch]:
        """Yield frames (or batches). Return to end the stream (EOS follows)."""
        raise NotImplementedError
        yield

    @property
    def should_stop(self) -> bool:
        """True once the pipeline asked this source to stop (check it in long waits)."""
        runner = getattr(self, "_runner", None)
        return runner is not None and runner.should_abort()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on stop. Returns True if asked to stop."""
        runner = getattr(self, "_runner", None)
        if runner is None:
            return False
        return runner.stop_event.wait(seconds)


class Sink(Element):
    """An element without src pads; :meth:`render` gets each batch. Records per-stream FPS and
    end-to-end latency."""

    pad_templates = (ANY_SINK,)
    stream_stats_rank = 1

    def process(self, batch: Batch) -> None:
        for frame in batch.frames:
            if not frame.extra.get("tail"):  # encoder tails carry packets, not frames
                self.stream_stats.record(frame.source_id, frame.ingest_ns)
        self.render(batch)
        return None

    def render(self, batch: Batch) -> None:
        """Consume a batch."""
