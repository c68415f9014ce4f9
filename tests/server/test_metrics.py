"""/metrics agrees with what jsonsink recorded in the same run; the collector reads elements generically."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from vistream.server.metrics import message_counters
from vistream.server.uris import UriPolicy


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_agree_with_jsonsink(serve, bikes: Path, vtest: Path, tmp_path: Path, wait_until) -> None:
    out = tmp_path / "meta.jsonl"
    policy = UriPolicy(schemes=("file", "lavfi"), allow_local_files=True, media_roots=(str(bikes.parent),))
    server, client = serve(f"streammux name=mux ! identity name=work ! jsonsink name=sink location={out}",
                           policy=policy)
    streams = {"bikes": (str(bikes), 120), "vtest": (str(vtest), 90), "synthetic": ("lavfi:testsrc2=size=64x48:rate=30", 75)}
    for name, (uri, count) in streams.items():
        response = client.post("/api/streams", json={"name": name, "uri": uri, "properties": {"num-buffers": count}})
        assert response.status_code == 201
    wait_until(lambda: all(s["state"] == "ended" for s in client.get("/api/streams").json()), 30, what="streams to end")
    listed = {s["name"]: s for s in client.get("/api/streams").json()}
    metrics = _samples(client.get("/metrics").text)
    server.stop()  # flush jsonsink

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    per_source = Counter(line["source_id"] for line in lines)
    for name, (_uri, count) in streams.items():
        sid = listed[name]["source_id"]
        labels = (("source_id", str(sid)), ("stream", name))
        assert per_source[sid] == count
        assert metrics[("vistream_stream_frames_total", labels)] == per_source[sid]
        assert metrics[("vistream_stream_frames_produced_total", labels)] == per_source[sid]
        assert metrics[("vistream_stream_frames_dropped", labels)] == 0
        assert metrics[("vistream_stream_reconnects_total", labels)] == 0
    assert metrics[("vistream_streams", (("state", "ended"),))] == 3
    assert metrics[("vistream_end_to_end_latency_seconds_count", ())] == len(lines)
    assert metrics[("vistream_end_to_end_latency_seconds_bucket", (("le", "+Inf"),))] == len(lines)
    assert metrics[("vistream_element_frames_total", (("element", "sink"),))] == len(lines)
    assert metrics[("vistream_element_frames_total", (("element", "work"),))] == len(lines)
    batches = metrics[("vistream_element_batches_total", (("element", "sink"),))]
    assert metrics[("vistream_element_batch_size", (("element", "sink"),))] > 0
    assert batches <= len(lines)
    assert metrics[("vistream_element_processing_seconds_total", (("element", "work"),))] > 0
    assert ("vistream_element_queue_depth", (("element", "sink"),)) in metrics


def test_message_counters_are_read_generically() -> None:
    class Broker:
        def __init__(self) -> None:
            self.messages_delivered = 7
            self.messages_spooled = 2
            self.messages_label = "not a count"
            self.messages_flag = True

    assert message_counters(Broker()) == {"delivered": 7, "spooled": 2}


def test_msgbroker_counters_reach_metrics(serve, tmp_path: Path, wait_until) -> None:
    sent = tmp_path / "messages.jsonl"
    launch = ("testsrc name=scene pattern=scene num-objects=3 num-buffers=40 width=160 height=120 ! mux.sink_0 "
              "streammux name=mux ! oracle-detector ! msgconv frame-interval=1 ! "
              f"msgbroker name=broker proto-lib=file conn-str={sent} spool-dir={tmp_path / 'spool'}")
    server, client = serve(launch)
    wait_until(lambda: client.get("/api/streams/scene").json()["state"] == "ended", 20, what="the scene to end")
    broker = server.service.pipeline["broker"]
    seen: list[tuple[int, int]] = []

    def settled() -> bool:  # the same counts twice in a row, nothing pending
        counters = broker.counters()
        lines = len(sent.read_text().splitlines()) if sent.is_file() else -1
        seen.append((counters["delivered"], lines))
        return counters["pending"] == 0 and len(seen) > 1 and seen[-1] == seen[-2] and lines == counters["delivered"] > 0

    wait_until(settled, 15, interval=0.3, what="the broker to deliver every message")
    metrics = _samples(client.get("/metrics").text)
    delivered = metrics[("vistream_element_messages_total", (("element", "broker"), ("kind", "delivered")))]
    assert delivered == len(sent.read_text().splitlines()) == broker.counters()["delivered"]
    assert metrics[("vistream_element_messages_total", (("element", "broker"), ("kind", "spooled")))] == 0


def test_reconnects_of_a_live_camera_reach_metrics(serve, wait_until) -> None:
    from tests.media.rtsp_publisher import Publisher, free_port

    server, client = serve("streammux name=mux live-source=true ! fakesink name=sink",
                           policy=UriPolicy(schemes=("rtsp",)))
    url = f"rtsp://127.0.0.1:{free_port()}/gate"
    assert client.post("/api/streams", json={"name": "gate", "uri": url, "properties": {
        "rtsp-listen": True, "reconnect-interval": 0.1}}).status_code == 201
    for _ in range(2):  # the camera streams, hangs up, and calls again
        for _attempt in range(100):  # PyAV connects at the first packet: retry until the source listens
            publisher = Publisher(url, frames=30, fps=30)
            publisher.start()
            publisher.join(40)
            if publisher.sent or not isinstance(publisher.error, ConnectionRefusedError):
                break
            time.sleep(0.1)
        assert publisher.error is None and publisher.sent == 30
    def settled() -> dict | None:
        stream = client.get("/api/streams/gate").json()
        decoded_all = stream["frames_produced"] == 2 * 30  # both calls, decoder flushed
        return stream if stream["reconnects"] == 1 and decoded_all and stream["frames"] == 60 else None

    stream = wait_until(settled, 10, what="the reconnect, and every frame delivered")
    metrics = _samples(client.get("/metrics").text)
    labels = (("source_id", "0"), ("stream", "gate"))
    assert metrics[("vistream_stream_reconnects_total", labels)] == 1
    assert metrics[("vistream_stream_frames_total", labels)] == stream["frames"] == 60
    assert metrics[("vistream_stream_frames_produced_total", labels)] == stream["frames_produced"]
