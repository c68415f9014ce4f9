"""Read DeepStream's nvmsgconv config file: ``[sensorN]``, ``[placeN]`` and ``[analyticsN]`` groups.

These describe the camera, the place it watches and the analytics module; the "full" DeepStream
payload copies them into ``sensor``, ``place`` and ``analyticsModule``. Group index N is the
stream's ``source_id``.

Example:
    >>> import tempfile, os
    >>> from vistream.compat.deepstream.msgconv_config import read_msgconv_config
    >>> path = os.path.join(tempfile.mkdtemp(), "msgconv.txt")
    >>> _ = open(path, "w").write("[sensor0]\\nenable=1\\ntype=Camera\\nid=CAM_0\\nlocation=45.29;-75.83;48.15\\n")
    >>> read_msgconv_config(path).sensor(0)["location"]
    {'lat': 45.29, 'lon': -75.83, 'alt': 48.15}
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistream.core.errors import ConfigError

_GROUP = re.compile(r"^(sensor|place|analytics)(\d+)$")


@dataclass
class MsgconvConfig:
    """Sensor, place and analytics-module descriptions by source id."""

    sensors: dict[int, dict[str, Any]] = field(default_factory=dict)
    places: dict[int, dict[str, Any]] = field(default_factory=dict)
    modules: dict[int, dict[str, Any]] = field(default_factory=dict)

    def sensor(self, source_id: int, default_id: str = "") -> dict[str, Any]:
        """``sensor`` object of the full payload (configured, or an empty one with ``default_id``)."""
        found = self.sensors.get(source_id)
        if found is not None:
            return found
        return {"id": default_id or str(source_id), "type": "Camera", "description": "",
                "location": _location(None), "coordinate": _coordinate(None)}

    def place(self, source_id: int) -> dict[str, Any]:
        found = self.places.get(source_id)
        if found is not None:
            return found
        return {"id": "", "name": "", "type": "", "location": _location(None)}

    def module(self, source_id: int) -> dict[str, Any]:
        found = self.modules.get(source_id, self.modules.get(0))
        if found is not None:
            return found
        return {"id": "", "description": "", "source": "vistream", "version": "1.0"}


def read_msgconv_config(path: str | Path) -> MsgconvConfig:
    """Parse the file; unknown groups and bad numbers raise :class:`ConfigError` naming file and key."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, configparser.Error) as exc:
        raise ConfigError(f"{path}: cannot read msgconv config: {exc}") from None
    config = MsgconvConfig()
    for section in parser.sections():
        match = _GROUP.match(section)
        if match is None:
            raise ConfigError(f"{path}: unknown group [{section}]; valid groups: [sensorN], [placeN], [analyticsN]")
        group = parser[section]
        if group.get("enable", "1").strip() != "1":
            continue
        kind, index = match.group(1), int(match.group(2))
        where = f"{path}: [{section}]"
        if kind == "sensor":
            config.sensors[index] = {
                "id": group.get("id", str(index)), "type": group.get("type", ""),
                "description": group.get("description", ""),
                "location": _location(group.get("location"), where),
                "coordinate": _coordinate(group.get("coordinate"), where),
            }
        elif kind == "place":
            place: dict[str, Any] = {
                "id": group.get("id", ""), "name": group.get("name", ""), "type": group.get("type", ""),
                "location": _location(group.get("location"), where),
            }
            sub = [group.get(f"place-sub-field{i}", "") for i in (1, 2, 3)]
            if any(sub):
                place["entrance"] = {"name": sub[0], "lane": sub[1], "level": sub[2],
                                     "coordinate": _coordinate(group.get("coordinate"), where)}
            config.places[index] = place
        else:
            config.modules[index] = {
                "id": group.get("id", ""), "description": group.get("description", ""),
                "source": group.get("source", ""), "version": group.get("version", ""),
            }
    return config


def _numbers(value: str | None, where: str, keys: tuple[str, str, str]) -> dict[str, float]:
    if value is None:
        return dict.fromkeys(keys, 0.0)
    try:
        numbers = [float(v) for v in value.split(";") if v.strip()]
    except ValueError:
        raise ConfigError(f"{where}: expected three numbers separated by ';', got {value!r}") from None
    if len(numbers) != 3:
        raise ConfigError(f"{where}: expected three numbers separated by ';', got {value!r}")
    return dict(zip(keys, numbers, strict=True))


def _location(value: str | None, where: str = "") -> dict[str, float]:
    return _numbers(value, f"{where} location", ("lat", "lon", "alt"))


def _coordinate(value: str | None, where: str = "") -> dict[str, float]:
    return _numbers(value, f"{where} coordinate", ("x", "y", "z"))
