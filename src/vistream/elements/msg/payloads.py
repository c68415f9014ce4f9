"""Message payloads: DeepStream's "full" (payload-type 0) and "minimal" (payload-type 1) JSON, and
vistream's own versioned schema (``schemas/vistream-event-v1.json``). Metadata only, never pixels.

Example:
    >>> from vistream.core.meta import FrameMeta, Objects
    >>> from vistream.elements.msg.payloads import deepstream_minimal
    >>> meta = FrameMeta(source_id=0, frame_num=12, ingest_ns=1_700_000_000_123_000_000)
    >>> meta.objects = Objects.from_arrays([[10, 20, 50.5, 80]], object_id=[3], class_id=[2], labels=["car"])
    >>> payload = deepstream_minimal(meta, sensor_id="CAM_0")
    >>> payload["version"], payload["id"], payload["@timestamp"], payload["objects"]
    ('4.0', '12', '2023-11-14T22:13:20.123Z', ['3|10|20|50.5|80|Vehicle'])
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import numpy as np

from vistream.compat.deepstream.msgconv_config import MsgconvConfig
from vistream.core.meta import FrameMeta

SCHEMA_ID = "vistream-event/1"

#: COCO-style labels -> DeepStream's NvDsObjectType name (others travel as "unknown" with the label)
DS_OBJECT_TYPES: dict[str, str] = {
    **dict.fromkeys(("car", "truck", "bus", "motorcycle", "motorbike", "vehicle", "van"), "Vehicle"),
    **dict.fromkeys(("person", "pedestrian"), "Person"),
    "face": "Face",
    "bicycle": "Bicycle",
    **dict.fromkeys(("backpack", "handbag", "suitcase", "bag"), "Bag"),
    **dict.fromkeys(("stop sign", "roadsign", "traffic sign"), "RoadSign"),
}

#: vistream analytics event -> DeepStream event type (``event.type`` of the full schema)
DS_EVENT_TYPES = {("crossed", "in"): "entry", ("crossed", "out"): "exit", ("entered", ""): "entry",
                  ("left", ""): "exit"}


def new_message_id() -> str:
    """A random UUID4 string (DeepStream uses the same form for ``messageid``)."""
    return str(uuid.uuid4())


def iso_timestamp(ns: int) -> str:
    """RFC 3339 UTC with milliseconds and ``Z`` (DeepStream's ``@timestamp``)."""
    moment = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ds_object_type(label: str) -> str:
    """DeepStream object-type name for a label (``car`` -> ``Vehicle``), or the label itself."""
    return DS_OBJECT_TYPES.get(label.lower(), label or "Unknown")


def _num(value: float) -> str:
    """A number the way C++ iostreams print a double by default (6 significant digits)."""
    return f"{float(value):g}"


# ---- DeepStream "minimal" (payload-type 1) -----------------------------------------------------------
def deepstream_minimal(meta: FrameMeta, sensor_id: str, rows: np.ndarray | None = None) -> dict[str, Any]:
    """One message for a frame: ``"trackId|left|top|right|bottom|Type"`` per object.

    ``rows`` selects objects (default: all).
    """
    objects = meta.objects
    index = range(len(objects)) if rows is None else rows
    lines = []
    for i in index:
        x1, y1, x2, y2 = (float(v) for v in objects.xyxy[i])
        # DeepStream streams the signed trackingId here: untracked objects print as -1.
        track = int(objects.object_id[i])
        lines.append("|".join([str(track), _num(x1), _num(y1), _num(x2), _num(y2),
                               ds_object_type(objects.labels[i])]))
    return {"version": "4.0", "id": str(meta.frame_num), "@timestamp": iso_timestamp(meta.ingest_ns),
            "sensorId": sensor_id, "objects": lines}


# ---- DeepStream "full" (payload-type 0) ---------------------------------------------------------------
def _sub_object(label: str, confidence: float) -> tuple[str, dict[str, Any]]:
    kind = ds_object_type(label)
    if kind == "Vehicle":
        return "vehicle", {"type": "", "make": "", "model": "", "color": "", "licenseState": "", "license": "",
                           "confidence": confidence}
    if kind == "Person":
        return "person", {"age": 0, "gender": "", "hair": "", "cap": "", "apparel": "", "confidence": confidence}
    if kind == "Face":
        return "face", {"age": 0, "gender": "", "hair": "", "cap": "", "glasses": "", "facialhair": "",
                        "name": "", "eyecolor": "", "confidence": confidence}
    return label or "unknown", {}


def deepstream_full(meta: FrameMeta, index: int, event_type: str, config: MsgconvConfig,
                    message_id: str, sensor_id: str = "", video_path: str = "") -> dict[str, Any]:
    """One message for one object, shaped like DeepStream's ``generate_event_message``."""
    objects = meta.objects
    x1, y1, x2, y2 = (float(v) for v in objects.xyxy[index])
    track = int(objects.object_id[index])
    key, sub = _sub_object(objects.labels[index], round(float(objects.confidence[index]), 5))
    heading = objects.data.get("heading_deg")
    obj: dict[str, Any] = {
        # DeepStream formats trackingId with %lu: untracked (-1) prints as 18446744073709551615.
        "id": str(track & 0xFFFFFFFFFFFFFFFF),
        "speed": 0.0,
        "direction": float(heading[index]) if heading is not None else 0.0,
        "orientation": 0.0,
        key: sub,
        # DeepStream writes the box as integers (json_object_set_int_member on a float).
        "bbox": {"topleftx": int(x1), "toplefty": int(y1), "bottomrightx": int(x2), "bottomrighty": int(y2)},
        "location": {"lat": 0.0, "lon": 0.0, "alt": 0.0},
        "coordinate": {"x": 0.0, "y": 0.0, "z": 0.0},
    }
    return {
        "messageid": message_id,
        "mdsversion": "1.0",
        "@timestamp": iso_timestamp(meta.ingest_ns),
        "place": config.place(meta.source_id),
        "sensor": config.sensor(meta.source_id, sensor_id),
        "analyticsModule": config.module(meta.source_id),
        "object": obj,
        "event": {"id": new_message_id(), "type": event_type},
        "videoPath": video_path,
    }


# ---- vistream-event/1 ---------------------------------------------------------------------------------
def _object_entry(meta: FrameMeta, i: int) -> dict[str, Any]:
    objects = meta.objects
    entry: dict[str, Any] = {
        "object_id": int(objects.object_id[i]),
        "class_id": int(objects.class_id[i]),
        "label": objects.labels[i],
        "confidence": round(float(objects.confidence[i]), 5),
        "bbox": [round(float(v), 2) for v in objects.xyxy[i]],
    }
    for column in ("zones", "direction", "dwell_s"):
        values = objects.data.get(column)
        if values is not None and values[i] is not None:
            value = values[i]
            entry[column] = list(value) if column == "zones" else (str(value) if column == "direction" else float(value))
    return entry


def vistream_message(meta: FrameMeta, message_id: str, kind: str, event: dict[str, Any] | None = None,
                     snapshot: str | None = None) -> dict[str, Any]:
    """A ``vistream-event/1`` message: a frame's objects and analytics, or one analytics event."""
    message: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "id": message_id,
        "kind": kind,
        "timestamp": iso_timestamp(meta.ingest_ns),
        "source": {"id": int(meta.source_id), "name": meta.source_name},
        "frame": {"num": int(meta.frame_num), "pts": int(meta.pts), "width": int(meta.width),
                  "height": int(meta.height)},
    }
    if kind == "event":
        assert event is not None
        message["event"] = {k: v for k, v in event.items() if k not in ("source_id", "timestamp", "pts")}
        ids = meta.objects.object_id
        rows = np.flatnonzero(ids == event.get("object_id", -2)) if "object_id" in event else []
        message["objects"] = [_object_entry(meta, int(i)) for i in rows[:1]]
    else:
        message["objects"] = [_object_entry(meta, i) for i in range(len(meta.objects))]
        analytics = {k: meta.analytics[k] for k in ("zones", "lines") if k in meta.analytics}
        if analytics:
            message["analytics"] = analytics
    if snapshot:
        message["snapshot"] = snapshot
    return message
