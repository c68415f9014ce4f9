"""Analytics configuration: zones, lines and directions per stream, from YAML or DeepStream INI.

Coordinates are given in a reference resolution (``config-width`` x ``config-height``, as in
DeepStream's nvdsanalytics) and scaled to each stream's frame size; without a reference size they
are frame pixels.

YAML layout::

    config-width: 640          # optional reference resolution
    config-height: 272
    anchor: bottom-center      # point of the box tested against zones and lines
    streams:
      0:                       # source_id, or "all" for every stream without its own entry
        zones:
          - {name: door, polygon: [[0, 0], [100, 0], [100, 100], [0, 100]], classes: [0],
             filter: false, inverse: false, crowd-threshold: 3, dwell: true, queue-min-dwell: 2.0}
        lines:
          - {name: road, line: [[0, 150], [640, 150]], direction: [[0, 100], [0, 200]], classes: [2]}
        directions:
          - {name: North, vector: [[0, 200], [0, 100]], classes: [0]}

Example:
    >>> from vistream.elements.analytics.config import AnalyticsConfig
    >>> cfg = AnalyticsConfig.from_dict({"config-width": 100, "config-height": 100, "streams": {
    ...     "all": {"lines": [{"name": "mid", "line": [[0, 50], [100, 50]]}]}}})
    >>> cfg.for_source(3, 200, 100).lines[0].line.tolist()
    [[0.0, 50.0], [200.0, 50.0]]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vistream.core.errors import ConfigError
from vistream.elements.analytics.geometry import as_points, check_anchor

MODES = ("strict", "balanced", "loose")


@dataclass(frozen=True)
class ZoneConfig:
    """A polygon: ROI filter / counts per class, optional overcrowding threshold, dwell and queue."""

    name: str
    polygon: np.ndarray
    classes: tuple[int, ...] | None = None  # None: every class
    inverse: bool = False  # count objects OUTSIDE the polygon (DeepStream inverse-roi)
    filter: bool = False  # ROI filtering: with the element's filter-objects, drop objects outside
    crowd_threshold: int | None = None  # crowded when the count reaches this
    dwell: bool = True  # track entered / left and dwell time per object
    queue_min_dwell: float = 0.0  # queue length: objects inside for at least this many seconds


@dataclass(frozen=True)
class LineConfig:
    """A counting line p1 -> p2; ``direction`` (from, to) says which crossing counts as ``in``."""

    name: str
    line: np.ndarray  # [2, 2]
    direction: np.ndarray | None = None  # [2, 2]: a vector; None: "in" is to the right of p1 -> p2
    classes: tuple[int, ...] | None = None
    extended: bool = False  # treat the line as infinite
    mode: str = "loose"  # how well the motion must align with the direction (strict / balanced / loose)


@dataclass(frozen=True)
class DirectionConfig:
    """A named direction of travel (a vector from -> to)."""

    name: str
    vector: np.ndarray  # [2, 2]
    classes: tuple[int, ...] | None = None
    mode: str = "balanced"


@dataclass(frozen=True)
class StreamConfig:
    """Everything analysed on one stream."""

    zones: tuple[ZoneConfig, ...] = ()
    lines: tuple[LineConfig, ...] = ()
    directions: tuple[DirectionConfig, ...] = ()

    def scaled(self, sx: float, sy: float) -> StreamConfig:
        """A copy with every coordinate multiplied by (sx, sy)."""
        scale = np.array([sx, sy])
        return StreamConfig(
            zones=tuple(replace(z, polygon=z.polygon * scale) for z in self.zones),
            lines=tuple(replace(ln, line=ln.line * scale,
                                direction=None if ln.direction is None else ln.direction * scale)
                        for ln in self.lines),
            directions=tuple(replace(d, vector=d.vector * scale) for d in self.directions),
        )


@dataclass
class AnalyticsConfig:
    """Per-stream analytics set-up; ``streams[-1]`` applies to streams without their own entry."""

    streams: dict[int, StreamConfig] = field(default_factory=dict)
    config_width: int = 0
    config_height: int = 0
    anchor: str = "bottom-center"
    source: str = "<dict>"

    def for_source(self, source_id: int, width: int, height: int) -> StreamConfig:
        """The stream's configuration scaled to its frame size (empty when none applies)."""
        stream = self.streams.get(source_id, self.streams.get(-1, StreamConfig()))
        if self.config_width and self.config_height and width and height:
            sx, sy = width / self.config_width, height / self.config_height
            if (sx, sy) != (1.0, 1.0):
                return stream.scaled(sx, sy)
        return stream

    @classmethod
    def load(cls, path: str | Path) -> AnalyticsConfig:
        """Read a YAML file (``.yml`` / ``.yaml``) or a DeepStream nvdsanalytics INI (``.txt`` / ``.ini``)."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"analytics config file not found: {path}")
        if path.suffix.lower() in (".yml", ".yaml"):
            import yaml

            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: invalid YAML: {exc}") from None
            return cls.from_dict(data, source=str(path))
        from vistream.compat.deepstream.nvdsanalytics import read_nvdsanalytics

        return read_nvdsanalytics(path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> AnalyticsConfig:
        """Build from the YAML layout documented in this module."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: analytics config must be a mapping, got {type(data).__name__}")
        known = {"config-width", "config-height", "anchor", "streams"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{source}: unknown keys {sorted(unknown)}; valid keys: {sorted(known)}")
        streams: dict[int, StreamConfig] = {}
        for key, entry in (data.get("streams") or {}).items():
            where = f"{source}: streams.{key}"
            if str(key) in ("all", "*", "-1"):
                source_id = -1
            else:
                try:
                    source_id = int(key)
                except ValueError:
                    raise ConfigError(f"{where}: stream keys are source ids or 'all'") from None
            streams[source_id] = _stream_from_dict(entry or {}, where)
        return cls(
            streams=streams,
            config_width=_int(data.get("config-width", 0), f"{source}: config-width"),
            config_height=_int(data.get("config-height", 0), f"{source}: config-height"),
            anchor=check_anchor(str(data.get("anchor", "bottom-center")), source),
            source=source,
        )


def _stream_from_dict(entry: dict[str, Any], where: str) -> StreamConfig:
    unknown = set(entry) - {"zones", "lines", "directions"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; valid keys: zones, lines, directions")
    zones = []
    for i, z in enumerate(entry.get("zones") or []):
        w = f"{where}.zones[{i}]"
        _check_keys(z, {"name", "polygon", "classes", "inverse", "filter", "crowd-threshold", "dwell",
                        "queue-min-dwell"}, w)
        threshold = z.get("crowd-threshold")
        zones.append(ZoneConfig(
            name=str(z.get("name", f"zone{i}")),
            polygon=as_points(z.get("polygon"), 3, f"{w}.polygon"),
            classes=_classes(z.get("classes"), w),
            inverse=bool(z.get("inverse", False)),
            filter=bool(z.get("filter", False)),
            crowd_threshold=None if threshold is None else _int(threshold, f"{w}.crowd-threshold", 1),
            dwell=bool(z.get("dwell", True)),
            queue_min_dwell=float(z.get("queue-min-dwell", 0.0)),
        ))
    lines = []
    for i, ln in enumerate(entry.get("lines") or []):
        w = f"{where}.lines[{i}]"
        _check_keys(ln, {"name", "line", "direction", "classes", "extended", "mode"}, w)
        direction = ln.get("direction")
        lines.append(LineConfig(
            name=str(ln.get("name", f"line{i}")),
            line=_two_points(ln.get("line"), f"{w}.line"),
            direction=None if direction is None else _two_points(direction, f"{w}.direction"),
            classes=_classes(ln.get("classes"), w),
            extended=bool(ln.get("extended", False)),
            mode=_mode(ln.get("mode", "loose"), w),
        ))
    directions = []
    for i, d in enumerate(entry.get("directions") or []):
        w = f"{where}.directions[{i}]"
        _check_keys(d, {"name", "vector", "classes", "mode"}, w)
        directions.append(DirectionConfig(
            name=str(d.get("name", f"direction{i}")),
            vector=_two_points(d.get("vector"), f"{w}.vector"),
            classes=_classes(d.get("classes"), w),
            mode=_mode(d.get("mode", "balanced"), w),
        ))
    return StreamConfig(tuple(zones), tuple(lines), tuple(directions))


def _check_keys(entry: Any, valid: set[str], where: str) -> None:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping, got {entry!r}")
    unknown = set(entry) - valid
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; valid keys: {sorted(valid)}")


def _two_points(value: Any, where: str) -> np.ndarray:
    points = as_points(value, 2, where)
    if len(points) != 2:
        raise ConfigError(f"{where}: expected exactly 2 [x, y] points, got {len(points)}")
    if np.allclose(points[0], points[1]):
        raise ConfigError(f"{where}: the two points are the same, {value!r}")
    return points


def _classes(value: Any, where: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (int, str)):
        value = [value]
    ids = tuple(_int(v, f"{where}.classes", -1) for v in value)
    return None if -1 in ids or not ids else ids


def _mode(value: Any, where: str) -> str:
    if value not in MODES:
        raise ConfigError(f"{where}.mode: got {value!r}; valid modes: {', '.join(MODES)}")
    return str(value)


def _int(value: Any, where: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{where}: must be >= {minimum}, got {number}")
    return number
