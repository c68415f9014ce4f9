"""DeepStream-compatible REST payloads for adding and removing streams (nvmultiurisrcbin's API).

Clients written for DeepStream's ``nvds_rest_server`` post to ``/api/v1/stream/add`` and
``/api/v1/stream/remove`` bodies like::

    {"key": "sensor",
     "value": {"camera_id": "cam1", "camera_name": "front door", "camera_url": "rtsp://...",
               "change": "camera_add", "metadata": {"resolution": "1920x1080", "codec": "h264", "framerate": 30}},
     "headers": {"source": "vst", "created_at": "2021-06-01T14:34:13.417Z"}}

``camera_id`` becomes the stream name. The answer mirrors DeepStream's
``{"status": "HTTP/1.1 200 OK", "reason": "STREAM_ADD_SUCCESS"}``.

Example:
    >>> payload = SensorPayload.model_validate({"key": "sensor", "value": {
    ...     "camera_id": "cam1", "camera_url": "rtsp://127.0.0.1/x", "change": "camera_add"}})
    >>> payload.value.camera_id, payload.value.change
    ('cam1', 'camera_add')
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SensorValue(BaseModel):
    """The ``value`` object: which camera, where, and what changes."""

    model_config = ConfigDict(extra="allow")

    camera_id: str = Field(description="Unique sensor id; used as the stream name")
    camera_name: str = Field("", description="Human-readable name")
    camera_url: str = Field("", description="URI of the stream (required to add)")
    change: Literal["camera_add", "camera_remove", "camera_streaming"] = Field(
        description="camera_add (or camera_streaming) to add, camera_remove to remove")
    metadata: dict[str, Any] = Field(default_factory=dict, description="resolution, codec, framerate (informative)")


class SensorPayload(BaseModel):
    """A DeepStream REST body for ``/api/v1/stream/add`` and ``/api/v1/stream/remove``."""

    model_config = ConfigDict(extra="allow")

    key: str = Field("sensor", description="Always 'sensor'")
    value: SensorValue
    headers: dict[str, Any] = Field(default_factory=dict, description="source, created_at (informative)")


def reply(ok: bool, reason: str, code: int = 200) -> dict[str, str]:
    """DeepStream's answer shape.

    Example:
        >>> reply(True, "STREAM_ADD_SUCCESS")
        {'status': 'HTTP/1.1 200 OK', 'reason': 'STREAM_ADD_SUCCESS'}
    """
    phrase = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 503: "Service Unavailable"}
    return {"status": f"HTTP/1.1 {code} {phrase.get(code, 'Error')}", "reason": reason}
