"""``analytics`` element (DeepStream's nvdsanalytics): zones, lines, crowding, direction, dwell per stream.

Configure with ``config-file`` (YAML, or DeepStream's nvdsanalytics INI ``.txt``) or an inline
``config`` mapping (the YAML layout of :mod:`vistream.elements.analytics.config`). Results go to
``frame.meta.analytics`` (``zones``, ``lines``, ``events`` and DeepStream-style ``roi_counts``,
``lc_counts``, ``oc_status``, ``obj_cnt``), to object columns (``zones``, ``lines_crossed``,
``dwell_s``, ``in_roi``, ``direction``), and to ``frame.meta.display`` for ``osd``.

Example:
    >>> import vistream
    >>> from vistream.core.meta import Objects
    >>> p = vistream.parse_launch("testsrc name=src num-buffers=3 width=100 height=100 ! analytics name=a ! appsink name=out")
    >>> p["a"].config = {"streams": {"all": {"lines": [{"name": "mid", "line": [[0, 50], [100, 50]]}]}}}
    >>> def move(batch):
    ...     for frame in batch:
    ...         y = 30 + 20 * frame.frame_num
    ...         frame.meta.objects = Objects.from_arrays([[40, y - 10, 60, y]], object_id=[1], labels=["car"])
    >>> _ = p["src"].src.add_probe(move)
    >>> _ = p.run(timeout=10)
    >>> last = list(p["out"].frames())[-1].meta.analytics
    >>> last["lines"]["mid"]["in"], last["lc_counts"]
    (1, {'mid': 1})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vistream.core.buffer import Batch
from vistream.core.element import Element, Pad
from vistream.core.errors import ConfigError
from vistream.core.events import Event, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.elements.analytics.analyzer import StreamAnalyzer
from vistream.elements.analytics.config import AnalyticsConfig


@register_element("analytics")
class Analytics(Element):
    """Zones, line crossing, overcrowding, direction and dwell time per stream (nvdsanalytics)."""

    config_file = Property(str, "", "YAML file or DeepStream nvdsanalytics INI (.txt) with zones and lines")
    config = Property(dict, {}, "Inline configuration (same layout as the YAML file)")
    filter_objects = Property(bool, False, "Drop objects outside every ROI-filtering zone")
    draw = Property(bool, True, "Add zones, lines and counts to frame.meta.display for osd")
    max_age = Property(int, 30, "Frames a lost track is remembered before it counts as gone", minimum=1)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.analytics_config = AnalyticsConfig()
        self.analyzers: dict[int, StreamAnalyzer] = {}
        self.events_emitted = 0

    def start(self) -> None:
        if self.config_file and self.config:
            raise ConfigError(f"analytics '{self.name}': set either 'config-file' or 'config', not both")
        if self.config_file:
            if not Path(self.config_file).is_file():
                raise ConfigError(f"analytics '{self.name}': config-file not found: {self.config_file}")
            self.analytics_config = AnalyticsConfig.load(self.config_file)
        else:
            self.analytics_config = AnalyticsConfig.from_dict(self.config, source=f"analytics '{self.name}' config")
        self.analyzers = {}

    def analyzer(self, source_id: int, width: int, height: int) -> StreamAnalyzer:
        """The stream's analyzer, made (and scaled to the frame size) on its first frame."""
        analyzer = self.analyzers.get(source_id)
        if analyzer is None:
            stream = self.analytics_config.for_source(source_id, width, height)
            analyzer = StreamAnalyzer(stream, self.analytics_config.anchor, self.max_age)
            self.analyzers[source_id] = analyzer
        return analyzer

    def process(self, batch: Batch) -> Batch:
        for frame in batch.frames:
            meta = frame.meta
            analyzer = self.analyzer(meta.source_id, meta.width, meta.height)
            events = analyzer.analyze(meta)
            self.events_emitted += len(events)
            if self.filter_objects and analyzer.filter_zones and len(meta.objects):
                meta.objects = meta.objects.select(meta.objects.data["in_roi"].astype(bool))
            if self.draw and (analyzer.zones or analyzer.lines):
                meta.display.append(analyzer.display())
        return batch

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            self.analyzers.pop(event.source_id, None)
        super().handle_event(event, pad)
