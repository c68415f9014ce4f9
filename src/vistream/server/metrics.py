"""Prometheus metrics of a :class:`~vistream.server.service.StreamService`, read at scrape time.

A custom collector turns the service's stream records and ``pipeline.stats()`` into metric
families, so nothing is copied while the pipeline runs and a scrape always sees current values.
Elements that publish messages (``msgbroker``) are read generically: the integers of a
``counters()`` method (``{"delivered": 10, "spooled": 2}``) or integer attributes named
``messages_*`` become ``vistream_element_messages_total{element, kind}``.

Example:
    >>> import vistream
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> from vistream.server.service import StreamService
    >>> service = StreamService(vistream.parse_launch("streammux name=mux ! fakesink"))
    >>> registry = CollectorRegistry()
    >>> registry.register(ServiceCollector(service))
    >>> b"vistream_streams" in generate_latest(registry)
    True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vistream.server.service import StreamService

#: attribute-name prefix of message counters that publishing elements expose
MESSAGE_PREFIX = "messages_"


def message_counters(element: Any) -> dict[str, int]:
    """Message counters of an element: ``counters()`` if it has one, else ``messages_*`` attributes.

    Example:
        >>> class Broker: messages_delivered = 3; messages_spooled = 1; name = "b"
        >>> message_counters(Broker())
        {'delivered': 3, 'spooled': 1}
    """
    counters = getattr(element, "counters", None)
    if callable(counters):
        try:
            values = counters()
        except Exception:  # a counter must never break a scrape
            values = {}
        if isinstance(values, dict):
            return {str(k): int(v) for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)}
    out = {}
    names = set(vars(type(element))) | set(getattr(element, "__dict__", {}))
    for attr in sorted(names):
        if attr.startswith(MESSAGE_PREFIX):
            value = getattr(element, attr, None)
            if isinstance(value, int) and not isinstance(value, bool):
                out[attr[len(MESSAGE_PREFIX):]] = value
    return out


class ServiceCollector:
    """A ``prometheus_client`` collector for one service."""

    def __init__(self, service: StreamService) -> None:
        self.service = service

    def describe(self) -> list:
        return []  # collected lazily; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        service = self.service
        stall = service.stall_timeout
        streams = service.records()
        labels = ["stream", "source_id"]

        count = GaugeMetricFamily("vistream_streams", "Streams of the service by state", labels=["state"])
        by_state: dict[str, int] = {}
        for record in streams:
            state = record.state(stall)
            by_state[state] = by_state.get(state, 0) + 1
        for state in ("starting", "playing", "paused", "stalled", "ended", "error"):
            count.add_metric([state], by_state.get(state, 0))
        yield count

        fps = GaugeMetricFamily("vistream_stream_fps", "Frames per second over the last 2 s", labels=labels)
        frames = CounterMetricFamily("vistream_stream_frames", "Frames delivered past the service's tap pad", labels=labels)
        produced = CounterMetricFamily("vistream_stream_frames_produced", "Frames the source produced", labels=labels)
        dropped = GaugeMetricFamily("vistream_stream_frames_dropped",
                                    "Frames produced but not (yet) delivered: dropped by leaky queues or in flight",
                                    labels=labels)
        reconnects = CounterMetricFamily("vistream_stream_reconnects", "Reconnections of the source", labels=labels)
        silent = GaugeMetricFamily("vistream_stream_seconds_since_frame", "Seconds since the last frame", labels=labels)
        up = GaugeMetricFamily("vistream_stream_up", "1 when the stream is playing or paused, else 0", labels=labels)
        for record in streams:
            key = [record.name, str(record.source_id)]
            out = int(getattr(record.element, "frames_out", 0) or 0)
            fps.add_metric(key, record.fps())
            frames.add_metric(key, record.frames)
            produced.add_metric(key, out)
            dropped.add_metric(key, max(0, out - record.frames))
            reconnects.add_metric(key, int(getattr(record.element, "reconnects", 0) or 0))
            silent.add_metric(key, record.silent_for())
            up.add_metric(key, 1 if record.state(stall) in ("playing", "paused") else 0)
        yield from (fps, frames, produced, dropped, reconnects, silent, up)

        buckets, total = service.counter.latency.snapshot()
        yield HistogramMetricFamily("vistream_end_to_end_latency_seconds",
                                    "From a frame's ingest to the service's tap pad",
                                    buckets=buckets, sum_value=total)

        yield from self._elements()

    def _elements(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        pipeline = self.service.pipeline
        stats = pipeline.stats()
        label = ["element"]
        seconds = CounterMetricFamily("vistream_element_processing_seconds", "Processing time of all batches", labels=label)
        batches = CounterMetricFamily("vistream_element_batches", "Batches processed", labels=label)
        element_frames = CounterMetricFamily("vistream_element_frames", "Frames processed", labels=label)
        errors = CounterMetricFamily("vistream_element_errors", "Batches that failed", labels=label)
        quantiles = GaugeMetricFamily("vistream_element_processing_time_seconds",
                                      "Processing time per batch over the last 512 batches",
                                      labels=["element", "quantile"])
        depth = GaugeMetricFamily("vistream_element_queue_depth", "Items waiting in the element's input queue", labels=label)
        queue_dropped = CounterMetricFamily("vistream_element_queue_dropped", "Batches dropped by leaky queues", labels=label)
        batch_size = GaugeMetricFamily("vistream_element_batch_size", "Mean frames per batch over the last 512 batches",
                                       labels=label)
        messages = CounterMetricFamily("vistream_element_messages", "Messages of publishing elements by kind",
                                       labels=["element", "kind"])
        for name, entry in stats["elements"].items():
            element = pipeline.elements.get(name)
            key = [name]
            seconds.add_metric(key, entry["mean_ms"] * entry["batches"] / 1e3)
            batches.add_metric(key, entry["batches"])
            element_frames.add_metric(key, entry["frames"])
            errors.add_metric(key, entry["errors"])
            quantiles.add_metric([name, "0.5"], entry["p50_ms"] / 1e3)
            quantiles.add_metric([name, "0.99"], entry["p99_ms"] / 1e3)
            batch_size.add_metric(key, entry["mean_batch_size"])
            if "queue_depth" in entry:
                depth.add_metric(key, entry["queue_depth"])
                queue_dropped.add_metric(key, entry["dropped"])
            for kind, value in (message_counters(element) if element is not None else {}).items():
                messages.add_metric([name, kind], value)
        yield from (seconds, batches, element_frames, errors, quantiles, depth, queue_dropped, batch_size, messages)
        uptime = GaugeMetricFamily("vistream_uptime_seconds", "Seconds since the pipeline started")
        uptime.add_metric([], stats["uptime_s"])
        yield uptime
