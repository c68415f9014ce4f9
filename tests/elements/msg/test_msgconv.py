"""msgconv payloads: vistream-event/1 validates against the published JSON Schema; DeepStream's full and
minimal payloads have the fields and shapes DeepStream's nvmsgconv writes."""

from __future__ import annotations

import json
import re
import uuid

import jsonschema
import pytest

import vistream
from vistream.core.errors import PropertyError
from vistream.elements.msg.schema import load_schema, validate
from vistream.media.scene import Scene, SceneObject

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LINE_Y = 100.0


def _scene() -> Scene:
    return Scene(320, 200, [
        SceneObject(1, 0, "person", (20.0, 40.0), [(0, 60, 40), (19, 60, 160)], (200, 50, 50)),
        SceneObject(2, 2, "car", (60.0, 30.0), [(0, 200, 170), (19, 200, 30)], (50, 200, 50)),
    ])


def _run(conv: str, frames: int = 20, tmp_path=None, snapshot: str | None = None) -> list:
    analytics = {"streams": {"all": {
        "lines": [{"name": "road", "line": [[0, LINE_Y], [320, LINE_Y]]}],
        "zones": [{"name": "left", "polygon": [[0, 0], [120, 0], [120, 200], [0, 200]], "crowd-threshold": 1}]}}}
    pipeline = vistream.parse_launch(
        f"testsrc name=src pattern=scene width=320 height=200 num-buffers={frames} ! analytics name=a ! "
        f"{conv} ! appsink name=out")
    pipeline["src"].scene = _scene()
    pipeline["a"].config = analytics

    def detect(batch):
        for frame in batch:
            frame.meta.objects = frame.meta.user_meta("ground-truth")[0].copy()
            if snapshot:
                frame.meta.add_user_meta("snapshot", snapshot)

    pipeline["src"].src.add_probe(detect)
    pipeline.run(timeout=30)
    assert not pipeline.bus.errors, [str(m) for m in pipeline.bus.errors]
    return [envelope for frame in pipeline["out"].frames() for envelope in frame.meta.user_meta("payload")]


def test_vistream_payloads_validate_against_published_schema():
    envelopes = _run("msgconv frame-interval=5", snapshot="/clips/cam0/frame.jpg")
    messages = [json.loads(e["payload"]) for e in envelopes]
    for message in messages:
        validate(message)
    kinds = [m["kind"] for m in messages]
    assert kinds.count("frame") == 4  # frames 0, 5, 10, 15
    events = [m["event"] for m in messages if m["kind"] == "event"]
    assert sorted((e["type"], e.get("object_id"), e.get("direction")) for e in events if e["type"] == "crossed") == \
        [("crossed", 1, "in"), ("crossed", 2, "out")]
    assert {e["type"] for e in events} >= {"crossed", "entered", "crowded"}
    assert len({m["id"] for m in messages}) == len(messages)
    assert [e["id"] for e in envelopes] == [m["id"] for m in messages]
    assert all(m["snapshot"] == "/clips/cam0/frame.jpg" for m in messages)
    assert all("image" not in e["payload"] for e in envelopes)  # metadata only
    frame = next(m for m in messages if m["kind"] == "frame")
    assert frame["analytics"]["lines"]["road"]["in"] == 0 and frame["source"]["id"] == 0


@pytest.mark.parametrize("broken", [
    lambda m: m.pop("id"),
    lambda m: m.update(kind="frames"),
    lambda m: m.update(timestamp="2024-01-01 10:00:00"),
    lambda m: m["objects"][0].update(bbox=[1, 2, 3]),
    lambda m: m.update(pixels="AAAA"),
])
def test_schema_rejects_malformed_messages(broken):
    envelopes = _run("msgconv frame-interval=1 mode=frames", frames=2)
    message = json.loads(envelopes[0]["payload"])
    validate(message)
    broken(message)
    with pytest.raises(jsonschema.ValidationError):
        validate(message)


def test_schema_is_a_valid_draft_2020_12_schema_in_the_package():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"]["const"] == "vistream-event/1"


def test_deepstream_full_payload_shape(tmp_path):
    config = tmp_path / "msgconv_config.txt"
    config.write_text("[sensor0]\nenable=1\ntype=Camera\nid=CAMERA_ID\nlocation=45.293701447;-75.8303914499;48.1557479338\n"
                      "description=Entrance of Garage Right Lane\ncoordinate=5.2;10.1;11.2\n\n"
                      "[place0]\nenable=1\nid=0\ntype=intersection/road\nname=HWY_20_AND_LOCUST__EBA\n"
                      "location=30.32;-40.55;100.0\ncoordinate=1.0;2.0;3.0\nplace-sub-field1=C_127_158\n"
                      "place-sub-field2=Lane 1\nplace-sub-field3=P1\n\n"
                      "[analytics0]\nenable=1\nid=XYZ_1\ndescription=Vehicle Detection and License Plate Recognition\n"
                      "source=OpenALR\nversion=1.0\n")
    envelopes = _run(f"msgconv payload-type=0 config={config} frame-interval=10", tmp_path=tmp_path)
    messages = [json.loads(e["payload"]) for e in envelopes]
    for message in messages:
        assert set(message) == {"messageid", "mdsversion", "@timestamp", "place", "sensor", "analyticsModule",
                                "object", "event", "videoPath"}
        assert message["mdsversion"] == "1.0" and TIMESTAMP.match(message["@timestamp"])
        assert str(uuid.UUID(message["messageid"])) == message["messageid"]
        obj = message["object"]
        sub = {"person", "vehicle"} & set(obj)
        assert len(sub) == 1
        assert set(obj) == {"id", "speed", "direction", "orientation", *sub, "bbox", "location", "coordinate"}
        assert set(obj["bbox"]) == {"topleftx", "toplefty", "bottomrightx", "bottomrighty"}
        assert all(isinstance(v, int) for v in obj["bbox"].values())
        assert obj["bbox"]["bottomrightx"] > obj["bbox"]["topleftx"]
        assert set(obj["location"]) == {"lat", "lon", "alt"} and set(obj["coordinate"]) == {"x", "y", "z"}
        assert set(message["event"]) == {"id", "type"}
        assert message["event"]["type"] in {"entry", "exit", "moving", "stopped", "parked", "empty", "reset"}
        assert message["sensor"] == {"id": "CAMERA_ID", "type": "Camera", "description": "Entrance of Garage Right Lane",
                                     "location": {"lat": 45.293701447, "lon": -75.8303914499, "alt": 48.1557479338},
                                     "coordinate": {"x": 5.2, "y": 10.1, "z": 11.2}}
        assert message["place"]["entrance"] == {"name": "C_127_158", "lane": "Lane 1", "level": "P1",
                                                "coordinate": {"x": 1.0, "y": 2.0, "z": 3.0}}
        assert message["analyticsModule"] == {"id": "XYZ_1", "description": "Vehicle Detection and License Plate Recognition",
                                              "source": "OpenALR", "version": "1.0"}
    vehicles = [m["object"]["vehicle"] for m in messages if "vehicle" in m["object"]]
    assert vehicles and set(vehicles[0]) == {"type", "make", "model", "color", "licenseState", "license", "confidence"}
    persons = [m["object"]["person"] for m in messages if "person" in m["object"]]
    assert persons and set(persons[0]) == {"age", "gender", "hair", "cap", "apparel", "confidence"}
    events = {(m["object"]["id"], m["event"]["type"]) for m in messages if m["event"]["type"] != "moving"}
    assert events == {("1", "entry"), ("2", "exit")}  # person: entered zone + crossed in; car: crossed out
    frame_messages = [m for m in messages if m["event"]["type"] == "moving"]
    assert len(frame_messages) == 2 * 2  # frames 0 and 10, one message per object


def test_deepstream_minimal_payload_shape():
    envelopes = _run("msgconv payload-type=deepstream-minimal frame-interval=1 mode=frames", frames=6)
    assert len(envelopes) == 6
    pattern = re.compile(r"^(\d+)\|([-\d.e+]+)\|([-\d.e+]+)\|([-\d.e+]+)\|([-\d.e+]+)\|(\w+)$")
    scene = _scene()
    for frame_num, envelope in enumerate(envelopes):
        message = json.loads(envelope["payload"])
        assert list(message) == ["version", "id", "@timestamp", "sensorId", "objects"]
        assert message["version"] == "4.0" and message["id"] == str(frame_num)
        assert TIMESTAMP.match(message["@timestamp"]) and message["sensorId"] == "src"
        truth, _ = scene.truth(frame_num)
        assert len(message["objects"]) == len(truth)
        for text, box, object_id in zip(message["objects"], truth.xyxy, truth.object_id, strict=True):
            match = pattern.match(text)
            assert match, text
            assert int(match.group(1)) == object_id
            assert [float(v) for v in match.group(2, 3, 4, 5)] == pytest.approx(box.tolist(), abs=1e-3)
            assert match.group(6) == {1: "Person", 2: "Vehicle"}[int(object_id)]


def test_untracked_objects_get_deepstream_track_ids():
    from vistream.compat.deepstream.msgconv_config import MsgconvConfig
    from vistream.core.meta import FrameMeta, Objects
    from vistream.elements.msg.payloads import deepstream_full, deepstream_minimal

    meta = FrameMeta(frame_num=3, ingest_ns=0)
    meta.objects = Objects.from_arrays([[1.5, 2, 30, 40.25]], labels=["dog"])  # object_id -1: untracked
    assert deepstream_minimal(meta, "cam")["objects"] == ["-1|1.5|2|30|40.25|dog"]
    full = deepstream_full(meta, 0, "moving", MsgconvConfig(), "m-1", "cam")
    assert full["object"]["id"] == "18446744073709551615" and full["object"]["dog"] == {}
    assert full["object"]["bbox"] == {"topleftx": 1, "toplefty": 2, "bottomrightx": 30, "bottomrighty": 40}


def test_events_only_and_bad_payload_type():
    envelopes = _run("msgconv mode=events payload-type=1")
    assert envelopes and all(len(json.loads(e["payload"])["objects"]) == 1 for e in envelopes)
    with pytest.raises(PropertyError, match="valid payload types"):
        vistream.parse_launch("testsrc ! msgconv payload-type=xml ! fakesink")
