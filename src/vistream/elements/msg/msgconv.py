"""``msgconv`` element (DeepStream's nvmsgconv): turn frame metadata and analytics events into payloads.

Each payload is attached to its frame as user meta ``"payload"``: a dict with ``id`` (unique message
id, UUID4), ``source_id``, ``key`` (the source id as text: brokers keep order per key), ``topic``
(None: the broker's default), ``format`` and ``payload`` (the JSON text). ``msgbroker`` sends them.

``payload-type``: ``vistream`` (the ``vistream-event/1`` JSON Schema), ``deepstream`` / ``0``
(DeepStream's full schema: one message per object) or ``deepstream-minimal`` / ``1`` (one message
per frame with ``"trackId|left|top|right|bottom|Type"`` strings). ``mode`` picks frame-level
messages (every ``frame-interval`` frames), event-level messages (one per analytics event:
crossed, entered, left, crowded ...) or both. A frame's user meta ``"snapshot"`` (a path), when
present, is referenced in the message (``snapshot`` / DeepStream's ``videoPath``).

Example:
    >>> import json, vistream
    >>> p = vistream.parse_launch("testsrc pattern=scene num-objects=2 num-buffers=2 ! "
    ...                           "msgconv frame-interval=1 skip-empty=false ! appsink name=out")
    >>> _ = p.run(timeout=10)
    >>> envelope = list(p["out"].frames())[0].meta.user_meta("payload")[0]
    >>> json.loads(envelope["payload"])["schema"], envelope["key"]
    ('vistream-event/1', '0')
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vistream.compat.deepstream.msgconv_config import MsgconvConfig, read_msgconv_config
from vistream.core.buffer import Batch
from vistream.core.element import Element
from vistream.core.errors import ConfigError
from vistream.core.meta import FrameMeta
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.elements.msg.payloads import (
    DS_EVENT_TYPES,
    deepstream_full,
    deepstream_minimal,
    new_message_id,
    vistream_message,
)

PAYLOAD_TYPES = {"0": "deepstream", "1": "deepstream-minimal", "deepstream": "deepstream",
                 "deepstream-minimal": "deepstream-minimal", "vistream": "vistream"}


def _payload_type(value: Any) -> str:
    name = PAYLOAD_TYPES.get(str(value).strip().lower())
    if name is None:
        raise ValueError(f"valid payload types: {', '.join(PAYLOAD_TYPES)}")
    return name


class PayloadBuilder:
    """Builds the messages of one frame; usable without a pipeline.

    Example:
        >>> from vistream.core.meta import FrameMeta, Objects
        >>> meta = FrameMeta(frame_num=0, ingest_ns=0)
        >>> meta.objects = Objects.from_arrays([[0, 0, 10, 10]], object_id=[1], labels=["person"])
        >>> [m["format"] for m in PayloadBuilder("deepstream").build(meta)]
        ['deepstream']
    """

    def __init__(self, payload_type: str = "vistream", mode: str = "both", frame_interval: int = 30,
                 config: MsgconvConfig | None = None, topic: str | None = None, skip_empty: bool = True) -> None:
        self.payload_type = _payload_type(payload_type)
        self.mode = mode
        self.frame_interval = frame_interval
        self.config = config or MsgconvConfig()
        self.topic = topic
        self.skip_empty = skip_empty

    def build(self, meta: FrameMeta) -> list[dict[str, Any]]:
        """Envelopes for this frame: frame-level first, then one per event, in event order."""
        out: list[dict[str, Any]] = []
        snapshots = meta.user_meta("snapshot")
        snapshot = str(snapshots[-1]) if snapshots else None
        sensor = meta.source_name or str(meta.source_id)
        wants_frame = self.mode in ("frames", "both") and self.frame_interval > 0 \
            and meta.frame_num % self.frame_interval == 0 and not (self.skip_empty and len(meta.objects) == 0)
        if wants_frame:
            if self.payload_type == "vistream":
                message_id = new_message_id()
                out.append(self._envelope(meta, message_id, vistream_message(meta, message_id, "frame", None, snapshot)))
            elif self.payload_type == "deepstream-minimal":
                out.append(self._envelope(meta, new_message_id(), deepstream_minimal(meta, sensor)))
            else:
                for i in range(len(meta.objects)):
                    message_id = new_message_id()
                    out.append(self._envelope(meta, message_id, deepstream_full(
                        meta, i, "moving", self.config, message_id, sensor, snapshot or "")))
        events = meta.analytics.get("events", []) if self.mode in ("events", "both") else []
        for event in events:
            message_id = new_message_id()
            if self.payload_type == "vistream":
                out.append(self._envelope(meta, message_id, vistream_message(meta, message_id, "event", event, snapshot)))
                continue
            rows = np.flatnonzero(meta.objects.object_id == event.get("object_id", -2))
            if len(rows) == 0:
                continue  # zone-level events (crowded) have no object: DeepStream's schemas need one
            if self.payload_type == "deepstream-minimal":
                out.append(self._envelope(meta, message_id, deepstream_minimal(meta, sensor, rows[:1])))
            else:
                ds_type = DS_EVENT_TYPES.get((event["type"], event.get("direction", "") if event["type"] == "crossed" else ""),
                                             "moving")
                out.append(self._envelope(meta, message_id, deepstream_full(
                    meta, int(rows[0]), ds_type, self.config, message_id, sensor, snapshot or "")))
        return out

    def _envelope(self, meta: FrameMeta, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": message_id, "source_id": int(meta.source_id), "key": str(meta.source_id),
                "topic": self.topic, "format": self.payload_type,
                "payload": json.dumps(body, separators=(",", ":"))}


@register_element("msgconv")
class MsgConv(Element):
    """Metadata -> JSON payloads (DeepStream full / minimal schema or vistream-event/1) as user meta."""

    payload_type = Property(_payload_type, "vistream",
                            "vistream | deepstream (0, full schema) | deepstream-minimal (1, minimal schema)")
    mode = Property(str, "both", "Messages to make: frames, events or both", choices=("frames", "events", "both"))
    frame_interval = Property(int, 30, "Frame-level message every N frames per stream (0: none)", minimum=0)
    config = Property(str, "", "DeepStream msgconv config ([sensorN], [placeN], [analyticsN]) for the full schema")
    topic = Property(str, "", "Topic for these payloads (empty: msgbroker's topic)")
    skip_empty = Property(bool, True, "No frame-level message for frames without objects")

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.builder = PayloadBuilder()
        self.messages = 0

    def start(self) -> None:
        config = MsgconvConfig()
        if self.config:
            if not Path(self.config).is_file():
                raise ConfigError(f"msgconv '{self.name}': config file not found: {self.config}")
            config = read_msgconv_config(self.config)
        self.builder = PayloadBuilder(self.payload_type, self.mode, self.frame_interval, config,
                                      self.topic or None, self.skip_empty)

    def process(self, batch: Batch) -> Batch:
        for frame in batch.frames:
            for envelope in self.builder.build(frame.meta):
                frame.meta.add_user_meta("payload", envelope)
                self.messages += 1
        return batch
