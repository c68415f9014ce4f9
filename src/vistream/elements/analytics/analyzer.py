"""All analytics of one stream in one object: zones, overcrowding, dwell / queue, lines, directions.

:class:`StreamAnalyzer` is what the ``analytics`` element runs per source; it works on a
:class:`~vistream.core.meta.FrameMeta` without a pipeline.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import FrameMeta, Objects
    >>> from vistream.elements.analytics.config import AnalyticsConfig
    >>> from vistream.elements.analytics.analyzer import StreamAnalyzer
    >>> cfg = AnalyticsConfig.from_dict({"streams": {"all": {
    ...     "zones": [{"name": "left", "polygon": [[0, 0], [50, 0], [50, 100], [0, 100]], "crowd-threshold": 1}],
    ...     "lines": [{"name": "mid", "line": [[50, 0], [50, 100]]}]}}})
    >>> analyzer = StreamAnalyzer(cfg.for_source(0, 100, 100))
    >>> for frame_num, x in enumerate([30, 70]):
    ...     meta = FrameMeta(source_id=0, frame_num=frame_num, width=100, height=100)
    ...     meta.objects = Objects.from_arrays([[x - 5, 40, x + 5, 60]], object_id=[1], labels=["person"])
    ...     events = analyzer.analyze(meta)
    >>> [e["type"] for e in events], meta.analytics["lines"]["mid"]["out"], meta.analytics["zones"]["left"]["count"]
    (['crowd-cleared', 'left', 'crossed'], 1, 0)
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

from vistream.core.meta import DisplayMeta, FrameMeta
from vistream.elements.analytics.config import StreamConfig
from vistream.elements.analytics.crowding import Overcrowding
from vistream.elements.analytics.direction import DirectionDetection
from vistream.elements.analytics.dwell import DwellTime
from vistream.elements.analytics.lines import LineCrossing
from vistream.elements.analytics.roi import Zone

ZONE_COLOR = (0, 200, 0)
CROWDED_COLOR = (230, 0, 0)
LINE_COLOR = (255, 210, 0)


class StreamAnalyzer:
    """Run every configured tool on a stream's frames, in frame order."""

    def __init__(self, config: StreamConfig, anchor: str = "bottom-center", max_age: int = 30) -> None:
        self.config = config
        self.zones = [Zone(z.name, z.polygon, z.classes, z.inverse, anchor) for z in config.zones]
        self.filter_zones = [zone for zone, cfg in zip(self.zones, config.zones, strict=True) if cfg.filter]
        self.crowding = {z.name: Overcrowding(z.name, z.crowd_threshold) for z in config.zones
                         if z.crowd_threshold is not None}
        self.dwell = {z.name: DwellTime(z.name, z.queue_min_dwell, max_age) for z in config.zones if z.dwell}
        self.lines = [LineCrossing(ln.name, ln.line, ln.direction, ln.classes, ln.extended, ln.mode, anchor, max_age)
                      for ln in config.lines]
        self.directions: list[DirectionDetection] = []
        for d in config.directions:  # one detector per (classes, mode) group would do; one per entry is simpler
            self.directions.append(DirectionDetection({d.name: d.vector}, d.classes, d.mode, anchor=anchor,
                                                      max_age=max_age))

    def analyze(self, meta: FrameMeta) -> list[dict[str, Any]]:
        """Analyse one frame: fills ``meta.analytics``, adds object columns, returns the events."""
        objects = meta.objects
        n = len(objects)
        events: list[dict[str, Any]] = []
        tracked = objects.object_id >= 0
        ids = objects.object_id[tracked]
        labels = [objects.labels[i] or str(int(objects.class_id[i])) for i in np.flatnonzero(tracked)]
        zone_names = [[] for _ in range(n)]
        dwell = np.zeros(n)
        in_roi = np.ones(n, dtype=bool) if not self.filter_zones else np.zeros(n, dtype=bool)
        zones_out: dict[str, Any] = {}
        for zone in self.zones:
            inside = zone.update(objects)
            for i in np.flatnonzero(inside):
                zone_names[i].append(zone.name)
            if zone in self.filter_zones:
                in_roi |= inside
            entry: dict[str, Any] = {"count": zone.count, "by_class": zone.counts_by_class}
            crowd = self.crowding.get(zone.name)
            if crowd is not None:
                events += crowd.update(zone.count, meta.frame_num)
                entry["crowded"] = crowd.crowded
            timer = self.dwell.get(zone.name)
            if timer is not None:
                events += timer.update(ids, inside[tracked], labels, meta.frame_num, meta.pts)
                dwell[tracked] = np.maximum(dwell[tracked], timer.dwell_s)
                entry["queue_length"] = timer.queue_length
            zones_out[zone.name] = entry
        crossed = [[] for _ in range(n)]
        lines_out: dict[str, Any] = {}
        for line in self.lines:
            events += line.update(objects, meta.frame_num)
            for i in np.flatnonzero(line.last_crossed):
                crossed[i].append(line.name)
            lines_out[line.name] = line.summary()
        direction = np.full(n, "", dtype=object)
        heading = np.zeros(n)
        for detector in self.directions:
            names = detector.update(objects, meta.frame_num)
            direction = np.where(names != "", names, direction)
            moving = detector.speed > 0
            heading[moving] = detector.heading_deg[moving]
        if n:
            objects.set_column("zones", zone_names)
            objects.set_column("lines_crossed", crossed)
            objects.set_column("dwell_s", dwell)
            objects.set_column("in_roi", in_roi)
            if self.directions:
                objects.set_column("direction", direction)
                objects.set_column("heading_deg", heading)
        timestamp = _iso(meta.ingest_ns)
        for event in events:
            event.setdefault("label", "")
            event.update(source_id=meta.source_id, timestamp=timestamp, pts=meta.pts)
        labels_all = [objects.labels[i] or str(int(objects.class_id[i])) for i in range(n)]
        values, counts = np.unique(np.array(labels_all, dtype=object), return_counts=True) if n else ([], [])
        meta.analytics.update({
            "zones": zones_out,
            "lines": lines_out,
            "events": meta.analytics.get("events", []) + events,
            # DeepStream's NvDsAnalyticsFrameMeta names, for users coming from there.
            "roi_counts": {z.name: z.count for z in self.zones},
            "oc_status": {name: c.crowded for name, c in self.crowding.items()},
            "lc_counts": {line.name: line.counts["in"] for line in self.lines},
            "obj_cnt": {str(v): int(c) for v, c in zip(values, counts, strict=True)},
        })
        return events

    def display(self) -> DisplayMeta:
        """Zones (red while crowded), lines and their counts, for ``osd``."""
        display = DisplayMeta()
        for zone in self.zones:
            crowd = self.crowding.get(zone.name)
            color = CROWDED_COLOR if crowd is not None and crowd.crowded else ZONE_COLOR
            points = [tuple(float(v) for v in p) for p in zone.polygon]
            display.polygons.append((points, color, 2))
            x, y = points[0]
            display.texts.append(((x + 4, y + 4), f"{zone.name}: {zone.count}", color))
        for line in self.lines:
            p1, p2 = tuple(float(v) for v in line.p1), tuple(float(v) for v in line.p2)
            display.lines.append((p1, p2, LINE_COLOR, 3))
            display.texts.append(((p1[0] + 4, p1[1] + 4),
                                  f"{line.name}: in {line.counts['in']} out {line.counts['out']}", LINE_COLOR))
        return display


def _iso(ns: int) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as DeepStream writes ``@timestamp``."""
    moment = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
