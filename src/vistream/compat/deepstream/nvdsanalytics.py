"""Read DeepStream's nvdsanalytics config file (INI) into an :class:`AnalyticsConfig`.

Supported groups and keys (DeepStream's names): ``[property]`` ``enable``, ``config-width``,
``config-height`` (``osd-mode``, ``display-font-size`` are accepted and ignored);
``[roi-filtering-stream-N]`` ``enable``, ``roi-<NAME>=x1;y1;x2;y2;...``, ``inverse-roi``,
``class-id``; ``[overcrowding-stream-N]`` ``enable``, ``roi-<NAME>``, ``object-threshold``,
``class-id``; ``[line-crossing-stream-N]`` ``enable``, ``line-crossing-<NAME>=dx1;dy1;dx2;dy2;x1;y1;x2;y2``
(a direction vector, then the line), ``class-id``, ``extended``, ``mode``;
``[direction-detection-stream-N]`` ``enable``, ``direction-<NAME>=x1;y1;x2;y2``, ``class-id``, ``mode``.

Example:
    >>> import tempfile, os
    >>> from vistream.compat.deepstream.nvdsanalytics import read_nvdsanalytics
    >>> path = os.path.join(tempfile.mkdtemp(), "analytics.txt")
    >>> _ = open(path, "w").write('''
    ... [property]
    ... enable=1
    ... config-width=1920
    ... config-height=1080
    ... [line-crossing-stream-0]
    ... enable=1
    ... line-crossing-Exit=789;672;1084;900;851;773;1203;732
    ... class-id=0
    ... mode=loose
    ... ''')
    >>> cfg = read_nvdsanalytics(path)
    >>> line = cfg.for_source(0, 960, 540).lines[0]
    >>> line.name, line.line.tolist(), line.classes
    ('Exit', [[425.5, 386.5], [601.5, 366.0]], (0,))
"""

from __future__ import annotations

import configparser
import logging
import re
from pathlib import Path

import numpy as np

from vistream.core.errors import ConfigError
from vistream.elements.analytics.config import (
    MODES,
    AnalyticsConfig,
    DirectionConfig,
    LineConfig,
    StreamConfig,
    ZoneConfig,
)

log = logging.getLogger("vistream.compat.nvdsanalytics")

_GROUP = re.compile(r"^(roi-filtering|overcrowding|line-crossing|direction-detection)-stream-(\d+)$")
_IGNORED_PROPERTY_KEYS = {"osd-mode", "display-font-size"}


def read_nvdsanalytics(path: str | Path) -> AnalyticsConfig:
    """Parse the INI file; invalid values raise :class:`ConfigError` naming file, group and key."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep roi-<NAME> case
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, configparser.Error) as exc:
        raise ConfigError(f"{path}: cannot read nvdsanalytics config: {exc}") from None
    width = height = 0
    if parser.has_section("property"):
        prop = parser["property"]
        if not _bool(prop.get("enable", "1"), path, "property", "enable"):
            return AnalyticsConfig(source=str(path))
        width = _int(prop.get("config-width", "0"), path, "property", "config-width")
        height = _int(prop.get("config-height", "0"), path, "property", "config-height")
        unknown = set(prop) - {"enable", "config-width", "config-height"} - _IGNORED_PROPERTY_KEYS
        if unknown:
            log.warning("%s [property]: unsupported keys ignored: %s", path, sorted(unknown))
    parts: dict[int, dict[str, list]] = {}
    for section in parser.sections():
        if section == "property":
            continue
        match = _GROUP.match(section)
        if match is None:
            raise ConfigError(
                f"{path}: unknown group [{section}]; valid groups: [property], [roi-filtering-stream-N], "
                "[overcrowding-stream-N], [line-crossing-stream-N], [direction-detection-stream-N]")
        kind, stream = match.group(1), int(match.group(2))
        group = parser[section]
        if not _bool(group.get("enable", "1"), path, section, "enable"):
            continue
        slot = parts.setdefault(stream, {"zones": [], "lines": [], "directions": []})
        classes = _classes(group.get("class-id", "-1"), path, section)
        mode = group.get("mode", "balanced" if kind == "direction-detection" else "loose").strip()
        if mode not in MODES:
            raise ConfigError(f"{path}: [{section}] mode={mode!r}; valid modes: {', '.join(MODES)}")
        for key, value in group.items():
            if kind == "roi-filtering" and key.startswith("roi-"):
                slot["zones"].append(ZoneConfig(
                    name=key[4:], polygon=_points(value, path, section, key, 6), classes=classes,
                    inverse=_bool(group.get("inverse-roi", "0"), path, section, "inverse-roi"), filter=True))
            elif kind == "overcrowding" and key.startswith("roi-"):
                name = key[4:]
                if any(z.name == name for z in slot["zones"]):
                    name = f"{name}-oc"
                slot["zones"].append(ZoneConfig(
                    name=name, polygon=_points(value, path, section, key, 6), classes=classes,
                    crowd_threshold=max(1, _int(group.get("object-threshold", "1"), path, section, "object-threshold"))))
            elif kind == "line-crossing" and key.startswith("line-crossing-"):
                points = _points(value, path, section, key, 8)
                if len(points) != 4:
                    raise ConfigError(f"{path}: [{section}] {key}: expected 8 numbers (direction x1;y1;x2;y2 "
                                      f"then line x1;y1;x2;y2), got {len(points) * 2}")
                slot["lines"].append(LineConfig(
                    name=key[len("line-crossing-"):], line=points[2:], direction=points[:2], classes=classes,
                    extended=_bool(group.get("extended", "0"), path, section, "extended"), mode=mode))
            elif kind == "direction-detection" and key.startswith("direction-"):
                points = _points(value, path, section, key, 4)
                if len(points) != 2:
                    raise ConfigError(f"{path}: [{section}] {key}: expected 4 numbers x1;y1;x2;y2")
                slot["directions"].append(DirectionConfig(name=key[len("direction-"):], vector=points,
                                                          classes=classes, mode=mode))
    streams = {sid: StreamConfig(tuple(p["zones"]), tuple(p["lines"]), tuple(p["directions"]))
               for sid, p in parts.items()}
    return AnalyticsConfig(streams=streams, config_width=width, config_height=height, source=str(path))


def _points(value: str, path: Path, section: str, key: str, minimum: int) -> np.ndarray:
    try:
        numbers = [float(v) for v in value.replace(",", ";").split(";") if v.strip()]
    except ValueError:
        raise ConfigError(f"{path}: [{section}] {key}={value!r}: expected numbers separated by ';'") from None
    if len(numbers) < minimum or len(numbers) % 2:
        raise ConfigError(f"{path}: [{section}] {key}: expected an even count of at least {minimum} "
                          f"numbers (x;y pairs), got {len(numbers)}")
    return np.array(numbers, dtype=np.float64).reshape(-1, 2)


def _classes(value: str, path: Path, section: str) -> tuple[int, ...] | None:
    try:
        ids = tuple(int(v) for v in value.replace(",", ";").split(";") if v.strip())
    except ValueError:
        raise ConfigError(f"{path}: [{section}] class-id={value!r}: expected integers separated by ';' (-1: all)") from None
    return None if not ids or -1 in ids else ids


def _bool(value: str, path: Path, section: str, key: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ConfigError(f"{path}: [{section}] {key}={value!r}: expected 0 or 1")


def _int(value: str, path: Path, section: str, key: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigError(f"{path}: [{section}] {key}={value!r}: expected an integer") from None
