"""REST API over real HTTP: auth, URI refusals, DeepStream payloads, pause / resume, docs, stop."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from vistream.server.uris import UriPolicy

LAVFI = "lavfi:testsrc2=size=96x64:rate=25"
MUX = "streammux name=mux ! fakesink name=sink"


def test_token_required_everywhere_but_health(serve) -> None:
    server, client = serve(MUX, token="s3cret", policy=UriPolicy(schemes=("lavfi",)))
    anonymous = httpx.Client(base_url=server.url, timeout=10)
    wrong = httpx.Client(base_url=server.url, headers={"Authorization": "Bearer nope"}, timeout=10)
    for method, path in [("GET", "/api/streams"), ("POST", "/api/streams"), ("DELETE", "/api/streams/x"),
                         ("GET", "/metrics"), ("GET", "/"), ("GET", "/docs"), ("GET", "/openapi.json"),
                         ("POST", "/api/v1/stream/add"), ("POST", "/api/stop"), ("GET", "/api/streams/x/preview.mjpg")]:
        for who in (anonymous, wrong):
            response = who.request(method, path, json={})
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["detail"] == "missing or wrong bearer token"
    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/ready").json() == {"ready": True, "state": "playing"}
    assert client.get("/api/streams").json() == []
    # the dashboard opened with ?token= sets a cookie, so its own requests need no header
    assert anonymous.get("/?token=s3cret").status_code == 200
    assert anonymous.get("/api/streams").status_code == 200
    assert server.service.running  # nothing above stopped the pipeline


def test_bad_uris_are_refused_with_clear_errors(serve, tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    policy = UriPolicy(schemes=("rtsp", "file"), allow_local_files=True, media_roots=(str(root),))
    server, client = serve(MUX, policy=policy)
    cases = [
        ("ftp://127.0.0.1/x.mp4", "scheme 'ftp' is not allowed; allowed schemes: rtsp, file"),
        (f"{root}/../../../etc/passwd", "path traversal ('..') is not allowed"),
        ("/etc/passwd", "outside the allowed media roots"),
        ("lavfi:testsrc2", "scheme 'lavfi' is not allowed"),
    ]
    for uri, words in cases:
        response = client.post("/api/streams", json={"name": "evil", "uri": uri})
        assert response.status_code == 400, uri
        assert response.json()["error"] == "uri_not_allowed"
        assert words in response.json()["detail"]
        ds = client.post("/api/v1/stream/add", json={"key": "sensor", "value": {
            "camera_id": "evil", "camera_url": uri, "change": "camera_add"}})
        assert ds.status_code == 400 and ds.json()["reason"].startswith("STREAM_ADD_FAIL") and words in ds.json()["reason"]
    assert client.get("/api/streams").json() == []
    bad_name = client.post("/api/streams", json={"name": "../x", "uri": "rtsp://127.0.0.1:1/x"})
    assert bad_name.status_code == 400 and "stream name '../x' is invalid" in bad_name.json()["detail"]
    bad_property = client.post("/api/streams", json={"name": "a", "uri": "rtsp://127.0.0.1:1/x", "properties": {"lop": 1}})
    assert bad_property.status_code == 400 and "no property 'lop'" in bad_property.json()["detail"]
    missing = client.post("/api/streams", json={"uri": "rtsp://127.0.0.1:1/x"})
    assert missing.status_code == 422


def test_deepstream_payloads_add_and_remove(serve, wait_until) -> None:
    server, client = serve(MUX, policy=UriPolicy(schemes=("lavfi",)))
    body = {"key": "sensor",
            "value": {"camera_id": "uniqueSensorID1", "camera_name": "front_door", "camera_url": LAVFI,
                      "change": "camera_add", "metadata": {"resolution": "96x64", "codec": "h264", "framerate": 25}},
            "headers": {"source": "vst", "created_at": "2021-06-01T14:34:13.417Z"}}
    response = client.post("/api/v1/stream/add", json=body)
    assert response.status_code == 200
    assert response.json() == {"status": "HTTP/1.1 200 OK", "reason": "STREAM_ADD_SUCCESS"}
    wait_until(lambda: client.get("/api/streams/uniqueSensorID1").json()["frames"] > 3, 10, what="frames")
    info = client.get("/api/v1/stream/get-stream-info").json()
    assert info["stream-info"]["stream-count"] == 1
    assert info["stream-info"]["stream-info"][0]["camera_url"] == LAVFI
    again = client.post("/api/v1/stream/add", json=body)
    assert again.status_code == 409 and "exists already" in again.json()["reason"]
    body["value"]["change"] = "camera_remove"
    response = client.post("/api/v1/stream/remove", json=body)
    assert response.json() == {"status": "HTTP/1.1 200 OK", "reason": "STREAM_REMOVE_SUCCESS"}
    assert client.get("/api/streams").json() == []
    gone = client.post("/api/v1/stream/remove", json=body)
    assert gone.status_code == 404 and "no stream named 'uniqueSensorID1'" in gone.json()["reason"]


def test_pause_resume_and_stream_errors(serve, wait_until) -> None:
    server, client = serve(MUX, policy=UriPolicy(schemes=("lavfi",)))
    created = client.post("/api/streams", json={"name": "cam", "uri": LAVFI, "properties": {"sync": True}})
    assert created.status_code == 201 and created.json()["source_id"] == 0
    wait_until(lambda: client.get("/api/streams/cam").json()["state"] == "playing", 10, what="playing")
    assert client.post("/api/streams/cam/pause").json()["state"] == "paused"
    import time

    time.sleep(0.3)  # let the frames already decoded drain
    held = client.get("/api/streams/cam").json()["frames"]
    time.sleep(0.6)
    assert client.get("/api/streams/cam").json()["frames"] == held
    assert client.post("/api/streams/cam/resume").json()["state"] in ("playing", "stalled")
    wait_until(lambda: client.get("/api/streams/cam").json()["frames"] > held + 5, 10, what="frames after resume")
    assert client.post("/api/streams/nope/pause").status_code == 404
    assert client.post("/api/streams", json={"name": "cam", "uri": LAVFI}).status_code == 409
    stats = client.get("/api/stats").json()
    assert set(stats["elements"]) == {"mux", "sink", "cam"} and stats["state"] == "playing"
    kinds = [e["type"] for e in client.get("/api/events").json() if e["element"] == "cam"]
    assert [k for k in kinds if k.startswith("stream-")] == ["stream-added", "stream-paused", "stream-resumed"]


def test_openapi_docs_and_clean_stop(serve) -> None:
    server, client = serve(MUX, policy=UriPolicy(schemes=("lavfi",)))
    schema = client.get("/openapi.json").json()
    for path in ("/api/streams", "/api/streams/{name}", "/api/streams/{name}/pause", "/api/v1/stream/add",
                 "/api/v1/stream/remove", "/metrics", "/health", "/ready"):
        assert path in schema["paths"], path
    assert "swagger" in client.get("/docs").text.lower()
    client.post("/api/streams", json={"name": "cam", "uri": LAVFI})
    assert client.post("/api/stop").json() == {"state": "stopped"}
    assert server.wait(10), "the HTTP server did not exit after /api/stop"
    assert not server.service.running
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/ready", timeout=2)
