"""/health turns red when a live source stalls, naming it, within stall-timeout; green again when it recovers."""

from __future__ import annotations

import time

from vistream.server.uris import UriPolicy

STALL_TIMEOUT = 1.0


def test_stalled_live_source_turns_health_red_and_recovers(serve, publisher, wait_until) -> None:
    server, client = serve("streammux name=mux ! fakesink name=sink", stall_timeout=STALL_TIMEOUT,
                           policy=UriPolicy(schemes=("tcp", "lavfi")))
    assert client.post("/api/streams", json={"name": "steady", "uri": "lavfi:testsrc2=size=64x48:rate=25",
                                             "properties": {"sync": True}}).status_code == 201
    # a read timeout longer than the stall: the connection stays up, frames simply stop coming
    assert client.post("/api/streams", json={"name": "camera", "uri": publisher.uri,
                                             "properties": {"timeout": 30}}).status_code == 201
    wait_until(lambda: client.get("/api/streams/camera").json()["state"] == "playing", 20, what="camera playing")
    assert client.get("/health").status_code == 200

    publisher.flowing.clear()
    stalled_at = time.monotonic()
    response = wait_until(lambda: (r := client.get("/health")).status_code == 503 and r, 10, interval=0.05,
                          what="/health to turn red")
    elapsed = time.monotonic() - stalled_at
    assert STALL_TIMEOUT <= elapsed + 0.1 and elapsed < STALL_TIMEOUT + 2.0, elapsed
    body = response.json()
    assert body["status"] == "unhealthy" and body["stalled_streams"] == ["camera"]
    assert "stream 'camera' sent no frame for" in body["reasons"][0]
    assert client.get("/api/streams/camera").json()["state"] == "stalled"
    assert client.get("/api/streams/steady").json()["state"] == "playing"
    assert client.get("/ready").status_code == 200  # still serving: ready, not healthy
    assert 'vistream_stream_up{source_id="1",stream="camera"} 0.0' in client.get("/metrics").text

    publisher.flowing.set()
    wait_until(lambda: client.get("/health").status_code == 200, 10, what="/health to recover")
    assert client.get("/health").json() == {"status": "ok", "reasons": [], "stalled_streams": []}
    assert client.get("/api/streams/camera").json()["state"] == "playing"
    assert client.get("/api/streams/camera").json()["reconnects"] == 0  # the same connection carried on


def test_paused_stream_is_not_a_stall_but_a_stopped_pipeline_is_unhealthy(serve, wait_until) -> None:
    server, client = serve("streammux name=mux ! fakesink name=sink", stall_timeout=0.5,
                           policy=UriPolicy(schemes=("lavfi",)))
    client.post("/api/streams", json={"name": "cam", "uri": "lavfi:testsrc2=size=64x48:rate=25", "properties": {"sync": True}})
    wait_until(lambda: client.get("/api/streams/cam").json()["frames"] > 0, 10, what="frames")
    client.post("/api/streams/cam/pause")
    time.sleep(1.0)
    assert client.get("/health").status_code == 200
    server.service.pipeline.stop()
    body = client.get("/health").json()
    assert body["status"] == "unhealthy" and body["reasons"][0] == "pipeline is stopped"
    assert client.get("/ready").status_code == 503
