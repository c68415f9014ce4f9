"""Read a deepstream-app configuration file and build the equivalent vistream pipeline.

Groups understood: ``[application]``, ``[source<N>]``, ``[streammux]``, ``[primary-gie]``,
``[secondary-gie<N>]``, ``[tracker]``, ``[nvds-analytics]``, ``[tiled-display]``, ``[osd]``,
``[sink<N>]`` (fakesink, file, RTSP streaming, message broker), ``[message-converter]``,
``[tests]``. Paths are relative to the config file, as in DeepStream. Keys that only tune NVIDIA
memory or hardware (``gpu-id``, ``nvbuf-memory-type`` ...) are accepted and ignored; unknown keys
are listed in one warning; invalid values are errors naming the file, group and key.

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "app.txt").write_text('''
    ... [source0]
    ... enable=1
    ... type=3
    ... uri=file://clip.mp4
    ... num-sources=2
    ... [streammux]
    ... batch-size=2
    ... width=640
    ... height=360
    ... [sink0]
    ... enable=1
    ... type=1
    ... ''')
    >>> pipeline = load_app_config(folder / "app.txt")
    >>> sorted(pipeline.links())[:2]
    [('mux.src', 'sink0.sink'), ('source0_0.src', 'mux.sink_0')]
"""

from __future__ import annotations

import configparser
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistream.core.element import Element
from vistream.core.errors import ConfigError, VistreamError
from vistream.core.pipeline import Pipeline
from vistream.core.registry import Registry, default_registry

log = logging.getLogger("vistream.deepstream")

#: Keys that tune NVIDIA memory / hardware placement: accepted, no meaning here.
HARDWARE_KEYS = {
    "gpu-id", "nvbuf-memory-type", "cudadec-memtype", "camera-id", "camera-csi-sensor-id",
    "camera-v4l2-dev-node", "intra-decode-enable", "smart-record", "smart-rec-dir-path",
    "smart-rec-file-prefix", "smart-rec-cache", "smart-rec-container", "smart-rec-default-duration",
    "smart-rec-duration", "smart-rec-interval", "process-mode", "qos", "clock-x-offset", "clock-y-offset",
    "clock-text-size", "clock-color", "font", "display-mask", "tracker-width", "tracker-height",
    "ll-lib-file", "enable-batch-process", "enable-past-frame", "display-tracking-id", "plugin-type",
    "iframeinterval", "profile", "enc-type", "sync", "overlay-id", "attach-sys-ts", "compute-hw", "buffer-pool-size", "width", "height", "offset-x", "offset-y", "square-seq-grid",
}


@dataclass
class _Group:
    name: str
    values: dict[str, str]
    path: Path
    used: set[str] = field(default_factory=set)

    def get(self, key: str, default: str | None = None) -> str | None:
        self.used.add(key)
        return self.values.get(key, default)

    def number(self, key: str, default: float | None, kind: Callable[[str], Any] = int) -> Any:
        raw = self.get(key)
        if raw is None:
            return default
        try:
            return kind(raw)
        except ValueError:
            raise ConfigError(f"{self.path}: [{self.name}] {key}={raw!r}: expected {kind.__name__}") from None

    def flag(self, key: str, default: bool = False) -> bool:
        return bool(self.number(key, int(default)))

    def file(self, key: str) -> str | None:
        raw = self.get(key)
        if raw is None:
            return None
        if raw.startswith("file://"):
            raw = raw[len("file://"):]
        candidate = Path(raw)
        return str(candidate if candidate.is_absolute() else (self.path.parent / candidate))

    def unknown(self, known: set[str]) -> list[str]:
        return sorted(k for k in self.values if k not in known and k not in self.used and k not in HARDWARE_KEYS)


def _read(path: Path) -> dict[str, _Group]:
    parser = configparser.ConfigParser(interpolation=None, strict=False, inline_comment_prefixes=("#", ";"))
    parser.optionxform = str
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid deepstream-app config: {exc}") from None
    return {name: _Group(name, {k.strip(): v.strip() for k, v in parser.items(name)}, path) for name in parser.sections()}


def _uri(group: _Group) -> str:
    raw = group.get("uri")
    if not raw:
        raise ConfigError(f"{group.path}: [{group.name}] uri is missing")
    if raw.startswith("file://"):
        relative = raw[len("file://"):]
        return str(Path(relative) if Path(relative).is_absolute() else group.path.parent / relative)
    return raw


class AppConfigBuilder:
    """Turns the groups of one deepstream-app config into elements and links."""

    SOURCE_TYPES = {1: "v4l2 camera", 2: "uri", 3: "multi-uri", 4: "rtsp", 5: "csi camera"}
    SINK_TYPES = {1: "fakesink", 2: "display", 3: "file", 4: "rtsp", 5: "overlay", 6: "message broker"}

    def __init__(self, path: Path, registry: Registry) -> None:
        self.path = path
        self.registry = registry
        self.groups = _read(path)
        self.pipeline = Pipeline(name=path.stem, registry=registry)
        self.warnings: list[str] = []

    def make(self, factory: str, name: str, group: _Group | None = None, **properties: Any) -> Element:
        clean = {k: v for k, v in properties.items() if v is not None}
        try:
            element = self.registry.make(factory, name=name, **clean)
        except VistreamError as exc:
            where = f"[{group.name}]" if group else factory
            raise ConfigError(f"{self.path}: {where}: {exc}") from None
        self.pipeline.add(element)
        return element

    def enabled(self, prefix: str) -> list[_Group]:
        pattern = re.compile(rf"^{re.escape(prefix)}(\d*)$")
        chosen = [g for name, g in self.groups.items() if pattern.match(name)]
        return sorted((g for g in chosen if g.flag("enable", True)), key=lambda g: g.name)

    def build(self) -> Pipeline:
        loop = bool(self.groups["tests"].flag("file-loop")) if "tests" in self.groups else False
        mux_group = self.groups.get("streammux", _Group("streammux", {}, self.path))
        mux = self.make("streammux", "mux", mux_group,
                        batch_size=mux_group.number("batch-size", None),
                        batched_push_timeout=mux_group.number("batched-push-timeout", None),
                        width=mux_group.number("width", None), height=mux_group.number("height", None),
                        enable_padding=mux_group.flag("enable-padding") if "enable-padding" in mux_group.values else None,
                        live_source=mux_group.flag("live-source") if "live-source" in mux_group.values else None)
        self._check(mux_group, {"batch-size", "batched-push-timeout", "width", "height", "enable-padding", "live-source"})
        index = 0
        for group in self.enabled("source"):
            kind = group.number("type", 3)
            if kind not in self.SOURCE_TYPES:
                raise ConfigError(f"{self.path}: [{group.name}] type={kind}; valid: "
                                  + ", ".join(f"{k} ({v})" for k, v in self.SOURCE_TYPES.items()))
            if kind == 5:
                raise ConfigError(f"{self.path}: [{group.name}] type=5 (CSI camera) is Jetson-only; use type=1 (V4L2) or 4 (RTSP)")
            uri = f"/dev/video{group.number('camera-v4l2-dev-node', 0)}" if kind == 1 else _uri(group)
            count = group.number("num-sources", 1) if kind == 3 else 1
            protocol = group.number("select-rtp-protocol", 4)
            for copy in range(count):
                source = self.make(
                    "urisrc", f"{group.name}_{copy}", group, uri=uri,
                    loop=loop if not uri.startswith(("rtsp://", "/dev/")) else None,
                    drop_frame_interval=group.number("drop-frame-interval", None),
                    reconnect_interval=group.number("rtsp-reconnect-interval-sec", None, float) or None,
                    rtsp_transport="udp" if protocol == 0 else None,
                )
                self.pipeline.link(source, f"mux.sink_{index}")
                index += 1
            self._check(group, {"enable", "type", "uri", "num-sources", "drop-frame-interval",
                                "rtsp-reconnect-interval-sec", "select-rtp-protocol", "latency",
                                "camera-width", "camera-height", "camera-fps-n", "camera-fps-d"})
        if index == 0:
            raise ConfigError(f"{self.path}: no enabled [source<N>] group")
        chain: list[Element] = [mux]
        chain += self._inference()
        chain += self._tracker()
        chain += self._analytics()
        tiler = self.groups.get("tiled-display")
        if tiler is not None and tiler.flag("enable"):
            chain.append(self.make("tiler", "tiler", tiler, rows=tiler.number("rows", None),
                                   columns=tiler.number("columns", None),
                                   width=tiler.number("width", None), height=tiler.number("height", None)))
            self._check(tiler, {"enable", "rows", "columns", "width", "height"})
        osd = self.groups.get("osd")
        if osd is not None and osd.flag("enable"):
            chain.append(self.make("osd", "osd", osd, border_width=osd.number("border-width", None)))
            self._check(osd, {"enable", "border-width", "text-size", "text-color", "text-bg-color", "show-clock"})
        self.pipeline.link_many(*chain)
        sinks = self._sinks()
        if not sinks:
            raise ConfigError(f"{self.path}: no enabled [sink<N>] group")
        if len(sinks) == 1:
            self.pipeline.link(chain[-1], sinks[0])
        else:
            tee = self.make("tee", "sinks_tee")
            self.pipeline.link(chain[-1], tee)
            for head in sinks:
                queue = self.make("queue", f"queue_{head.name}")
                self.pipeline.link(tee, queue)
                self.pipeline.link(queue, head)
        if "application" in self.groups:
            self._check(self.groups["application"], {"enable-perf-measurement", "perf-measurement-interval-sec",
                                                     "kitti-track-output-dir", "gie-kitti-output-dir"})
        if self.warnings:
            log.warning("%s: keys without an equivalent here were ignored: %s", self.path, "; ".join(self.warnings))
        return self.pipeline

    def _inference(self) -> list[Element]:
        out = []
        for group in [*self.enabled("primary-gie"), *self.enabled("secondary-gie")]:
            config = group.file("config-file")
            if config is None:
                raise ConfigError(f"{self.path}: [{group.name}] config-file is missing (the nvinfer config)")
            out.append(self.make(
                "infer", group.name.replace("-", "_"), group, config=config,
                batch_size=group.number("batch-size", None), interval=group.number("interval", None),
                unique_id=group.number("gie-unique-id", None),
                operate_on_gie_id=group.number("operate-on-gie-id", None),
                operate_on_class_ids=group.get("operate-on-class-ids"),
            ))
            self._check(group, {"enable", "config-file", "batch-size", "interval", "gie-unique-id",
                                "operate-on-gie-id", "operate-on-class-ids", "bbox-border-color0",
                                "bbox-border-color1", "bbox-border-color2", "bbox-border-color3",
                                "model-engine-file", "labelfile-path"})
        return out

    def _tracker(self) -> list[Element]:
        group = self.groups.get("tracker")
        if group is None or not group.flag("enable"):
            return []
        config = group.file("ll-config-file")
        self._check(group, {"enable", "ll-config-file"})
        return [self.make("tracker", "tracker", group, config=config)]

    def _analytics(self) -> list[Element]:
        group = self.groups.get("nvds-analytics")
        if group is None or not group.flag("enable"):
            return []
        self._check(group, {"enable", "config-file"})
        return [self.make("analytics", "analytics", group, config_file=group.file("config-file"))]

    def _sinks(self) -> list[Element]:
        heads = []
        for group in self.enabled("sink"):
            kind = group.number("type", 1)
            if kind not in self.SINK_TYPES:
                raise ConfigError(f"{self.path}: [{group.name}] type={kind}; valid: "
                                  + ", ".join(f"{k} ({v})" for k, v in self.SINK_TYPES.items()))
            codec = {1: "h264", 2: "h265"}.get(group.number("codec", 1))
            if codec is None:
                raise ConfigError(f"{self.path}: [{group.name}] codec must be 1 (H.264) or 2 (H.265)")
            bitrate = group.number("bitrate", None)
            if kind in (1, 2, 5):
                if kind != 1:
                    self.warnings.append(f"[{group.name}] type={kind} ({self.SINK_TYPES[kind]}) has no screen here: fakesink used")
                heads.append(self.make("fakesink", group.name, group))
            elif kind == 3:
                container = {1: "mp4", 2: "mkv"}.get(group.number("container", 1), "mp4")
                location = group.file("output-file") or str(self.path.parent / f"out_{group.name}.{container}")
                encoder = self.make("encode", f"{group.name}_encode", group, codec=codec, bitrate=bitrate)
                sink = self.make("filesink", group.name, group, location=location)
                self.pipeline.link(encoder, sink)
                heads.append(encoder)
            elif kind == 4:
                encoder = self.make("encode", f"{group.name}_encode", group, codec=codec, bitrate=bitrate, zerolatency=True)
                # deepstream-app serves its RTSP sink at rtsp://host:port/ds-test; keep that address.
                sink = self.make("rtspsink", group.name, group, port=group.number("rtsp-port", 8554), codec=codec,
                                 mount="/ds-test")
                self.pipeline.link(encoder, sink)
                heads.append(encoder)
            else:
                heads.append(self._broker(group))
            self._check(group, {"enable", "type", "codec", "bitrate", "container", "output-file", "rtsp-port",
                                "udp-port", "source-id", "msg-conv-config", "msg-conv-payload-type",
                                "msg-broker-proto-lib", "msg-broker-conn-str", "topic", "msg-broker-config",
                                "msg-conv-frame-interval", "udp-buffer-size"})
        return heads

    def _broker(self, group: _Group) -> Element:
        payload = {0: "deepstream", 1: "deepstream-minimal"}.get(group.number("msg-conv-payload-type", 0), "vistream")
        conv = self.make("msgconv", f"{group.name}_msgconv", group, payload_type=payload,
                         config=group.file("msg-conv-config"),
                         frame_interval=group.number("msg-conv-frame-interval", None),
                         topic=group.get("topic"))
        proto = (group.get("msg-broker-proto-lib") or "").lower()
        protocol = next((name for name in ("kafka", "mqtt", "redis", "amqp") if name in proto), proto)
        broker = self.make("msgbroker", group.name, group, proto_lib=protocol or None,
                           conn_str=group.get("msg-broker-conn-str"), topic=group.get("topic"),
                           config=group.file("msg-broker-config"))
        self.pipeline.link(conv, broker)
        return conv

    def _check(self, group: _Group, known: set[str]) -> None:
        for key in group.unknown(known):
            self.warnings.append(f"[{group.name}] {key}")


def load_app_config(path: str | Path, registry: Registry | None = None) -> Pipeline:
    """Build a pipeline from a deepstream-app config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"deepstream-app config not found: '{path}'")
    return AppConfigBuilder(path, registry or default_registry).build()
