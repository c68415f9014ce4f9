"""The HTTP face of a :class:`~vistream.server.service.StreamService`: REST API, metrics, health,
previews and the dashboard, in one FastAPI application (OpenAPI docs at ``/docs``).

With a token, every path except ``/health`` and ``/ready`` needs ``Authorization: Bearer <token>``
(or the ``vistream_token`` cookie the dashboard sets after being opened with ``/?token=<token>``).

Example:
    >>> import vistream
    >>> from fastapi.testclient import TestClient
    >>> from vistream.server.service import StreamService
    >>> service = StreamService(vistream.parse_launch("streammux name=mux ! fakesink")).start()
    >>> client = TestClient(create_app(service, token="s3cret"))
    >>> client.get("/api/streams").status_code, client.get("/api/streams", headers={"Authorization": "Bearer s3cret"}).json()
    (401, [])
    >>> service.stop()
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from vistream.core.errors import PipelineError, VistreamError
from vistream.server.deepstream import SensorPayload, reply
from vistream.server.service import StreamExists, StreamNotFound, StreamService
from vistream.server.uris import UriNotAllowed

OPEN_PATHS = frozenset({"/health", "/ready"})
COOKIE = "vistream_token"
STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


class StreamRequest(BaseModel):
    """A stream to add."""

    name: str = Field(description="Unique stream name (letters, digits, '_', '.', '-')", examples=["cam1"])
    uri: str = Field(description="rtsp://..., http(s)://..., or a file inside a media root when enabled",
                     examples=["rtsp://127.0.0.1:8554/cam1"])
    properties: dict[str, Any] = Field(default_factory=dict,
                                       description="Source element properties, e.g. {\"loop\": true}")


def status_of(exc: Exception) -> int:
    """HTTP status for a service error."""
    if isinstance(exc, StreamNotFound):
        return 404
    if isinstance(exc, StreamExists):
        return 409
    if isinstance(exc, PipelineError):
        return 503 if "not running" in str(exc) else 409
    return 400


def create_app(service: StreamService, token: str | None = None,
               on_stop: Callable[[], None] | None = None) -> FastAPI:
    """Build the application; ``on_stop`` is called after ``POST /api/stop`` stopped the pipeline."""
    app = FastAPI(title="vistream service", version="1", description=__doc__.split("\n\n")[0])
    app.state.service = service
    shutdown = threading.Event()
    app.state.shutdown = shutdown

    @app.middleware("http")
    async def authenticate(request: Request, call_next):  # type: ignore[no-untyped-def]
        if token and request.url.path not in OPEN_PATHS:
            given = request.headers.get("authorization", "")
            candidate = given[7:] if given.lower().startswith("bearer ") else ""
            candidate = candidate or request.cookies.get(COOKIE, "") or request.query_params.get("token", "")
            if not hmac.compare_digest(candidate.encode(), token.encode()):
                return JSONResponse({"error": "unauthorized", "detail": "missing or wrong bearer token"},
                                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="vistream"'})
        response = await call_next(request)
        if token and request.query_params.get("token") and request.url.path == "/":
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(VistreamError)
    async def vistream_error(request: Request, exc: VistreamError) -> JSONResponse:
        kind = "uri_not_allowed" if isinstance(exc, UriNotAllowed) else type(exc).__name__
        return JSONResponse({"error": kind, "detail": str(exc)}, status_code=status_of(exc))

    # ---- streams -----------------------------------------------------------------------------------
    @app.get("/api/streams", tags=["streams"], summary="List streams")
    def list_streams() -> list[dict[str, Any]]:
        return service.streams()

    @app.post("/api/streams", tags=["streams"], summary="Add a stream", status_code=201)
    def add_stream(body: StreamRequest) -> dict[str, Any]:
        return service.add_stream(body.name, body.uri, body.properties)

    @app.get("/api/streams/{name}", tags=["streams"], summary="One stream")
    def get_stream(name: str) -> dict[str, Any]:
        return service.stream(name)

    @app.delete("/api/streams/{name}", tags=["streams"], summary="Remove a stream")
    def remove_stream(name: str) -> dict[str, str]:
        service.remove_stream(name)
        return {"removed": name}

    @app.post("/api/streams/{name}/pause", tags=["streams"], summary="Pause a stream")
    def pause_stream(name: str) -> dict[str, Any]:
        return service.pause_stream(name)

    @app.post("/api/streams/{name}/resume", tags=["streams"], summary="Resume a paused stream")
    def resume_stream(name: str) -> dict[str, Any]:
        return service.resume_stream(name)

    @app.get("/api/stats", tags=["pipeline"], summary="Per-stream and per-element statistics")
    def stats() -> dict[str, Any]:
        return service.stats()

    @app.get("/api/events", tags=["pipeline"], summary="Last events (bus messages, stream changes)")
    def events(limit: int = 50) -> list[dict[str, Any]]:
        return list(service.events)[-max(0, min(limit, 1000)):]

    @app.post("/api/stop", tags=["pipeline"], summary="Stop the pipeline and the service")
    def stop() -> dict[str, str]:
        shutdown.set()
        service.stop()
        if on_stop is not None:
            on_stop()
        return {"state": service.pipeline.state}

    # ---- DeepStream-compatible -----------------------------------------------------------------------
    @app.post("/api/v1/stream/add", tags=["deepstream"], summary="Add a stream (DeepStream nvmultiurisrcbin payload)")
    def ds_add(body: SensorPayload) -> JSONResponse:
        value = body.value
        if value.change == "camera_remove":
            return JSONResponse(reply(False, "STREAM_ADD_FAIL: change is camera_remove", 400), status_code=400)
        try:
            service.add_stream(value.camera_id, value.camera_url)
        except VistreamError as exc:
            code = status_of(exc)
            return JSONResponse(reply(False, f"STREAM_ADD_FAIL: {exc}", code), status_code=code)
        return JSONResponse(reply(True, "STREAM_ADD_SUCCESS"))

    @app.post("/api/v1/stream/remove", tags=["deepstream"], summary="Remove a stream (DeepStream nvmultiurisrcbin payload)")
    def ds_remove(body: SensorPayload) -> JSONResponse:
        try:
            service.remove_stream(body.value.camera_id)
        except VistreamError as exc:
            code = status_of(exc)
            return JSONResponse(reply(False, f"STREAM_REMOVE_FAIL: {exc}", code), status_code=code)
        return JSONResponse(reply(True, "STREAM_REMOVE_SUCCESS"))

    @app.get("/api/v1/stream/get-stream-info", tags=["deepstream"], summary="Streams (DeepStream shape)")
    def ds_info() -> dict[str, Any]:
        streams = [{"camera_id": s["name"], "camera_name": s["name"], "camera_url": s["uri"],
                    "source_id": s["source_id"]} for s in service.streams()]
        return {"reason": "GET_LIVE_STREAM_INFO_SUCCESS", "status": "HTTP/1.1 200 OK",
                "stream-info": {"stream-count": len(streams), "stream-info": streams}}

    # ---- observability ---------------------------------------------------------------------------------
    @app.get("/health", tags=["observability"], summary="Healthy: playing, and no stream silent for stall-timeout")
    def health() -> JSONResponse:
        report = service.health()
        return JSONResponse(report.to_dict(), status_code=200 if report.healthy else 503)

    @app.get("/ready", tags=["observability"], summary="Ready: the pipeline is playing")
    def ready() -> JSONResponse:
        ok = service.ready() and not shutdown.is_set()
        return JSONResponse({"ready": ok, "state": service.pipeline.state}, status_code=200 if ok else 503)

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    from vistream.server.metrics import ServiceCollector

    registry = CollectorRegistry()
    registry.register(ServiceCollector(service))

    @app.get("/metrics", tags=["observability"], summary="Prometheus metrics", response_class=PlainTextResponse)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # ---- previews and dashboard -------------------------------------------------------------------------
    @app.get("/api/streams/{name}/preview.jpg", tags=["preview"], summary="Latest annotated frame (JPEG)")
    def preview_jpeg(name: str) -> Response:
        record = service.stream(name)
        data = service.preview.latest(record["source_id"])
        if data is None:
            return JSONResponse({"error": "no_frame", "detail": f"stream '{name}' has no frame yet"}, status_code=404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get("/api/streams/{name}/preview.mjpg", tags=["preview"], summary="Live preview (MJPEG)")
    def preview_mjpeg(name: str) -> StreamingResponse:
        record = service.stream(name)
        return StreamingResponse(service.preview.mjpeg(record["source_id"], shutdown),
                                 media_type="multipart/x-mixed-replace; boundary=frame",
                                 headers={"Cache-Control": "no-store"})

    @app.get("/", include_in_schema=False)
    def dashboard() -> Response:
        return Response(_static("index.html"), media_type="text/html")

    @app.get("/static/{file}", include_in_schema=False)
    def static(file: str) -> Response:
        if file not in STATIC:
            return JSONResponse({"error": "not_found", "detail": f"no static file '{file}'"}, status_code=404)
        return Response(_static(file), media_type=STATIC[file])

    return app


def _static(name: str) -> bytes:
    return resources.files("vistream.server").joinpath("static", name).read_bytes()
