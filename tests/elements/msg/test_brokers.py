"""Every message a pipeline sends reaches an independent client of a real broker (started by the tests),
in order per stream."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

import vistream


def _pipeline(broker: str, frames: int = 20, streams: int = 2, live: bool = False, fps: float = 30.0) -> Any:
    sources = " ".join(
        f"testsrc name=src{i} pattern=scene num-objects=2 width=160 height=120 num-buffers={frames} "
        f"framerate={fps} live={str(live).lower()} seed={i} ! mux.sink_{i}" for i in range(streams))
    pipeline = vistream.parse_launch(
        f"{sources} streammux name=mux batch-size={streams} batched-push-timeout=20000 ! "
        f"msgconv name=conv frame-interval=1 skip-empty=false ! {broker}")
    sent: dict[int, list[str]] = {}

    def record(batch):
        for frame in batch:
            for envelope in frame.meta.user_meta("payload"):
                sent.setdefault(envelope["source_id"], []).append(envelope["id"])

    pipeline["conv"].src.add_probe(record)
    pipeline.sent = sent
    return pipeline


def check_received(sent: dict[int, list[str]], received: list[tuple[str, int]]) -> None:
    """After dropping duplicates by id, every sent id arrived, in order per stream."""
    seen: set[str] = set()
    per_stream: dict[int, list[str]] = {}
    for message_id, source_id in received:
        if message_id in seen:
            continue
        seen.add(message_id)
        per_stream.setdefault(source_id, []).append(message_id)
    assert {k: len(v) for k, v in per_stream.items()} == {k: len(v) for k, v in sent.items()}
    assert per_stream == sent


def _run(pipeline: Any, timeout: float = 60) -> None:
    pipeline.run(timeout=timeout)
    assert not pipeline.bus.errors, [str(m) for m in pipeline.bus.errors]


# ---- consumers (independent clients) -------------------------------------------------------------------
class MqttConsumer:
    """A persistent-session QoS 1 subscriber: the broker keeps its messages while it is away."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.received: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"consumer-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.subscribed = threading.Event()

        def on_connect(client, userdata, flags, reason, properties):
            client.subscribe(topic, qos=1)

        def on_message(client, userdata, message):
            user = dict(message.properties.UserProperty)
            with self._lock:
                self.received.append((user["message-id"], int(user["key"])))

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        assert self.subscribed.wait(10), "MQTT consumer could not subscribe"

    def wait_for(self, count: int, timeout: float = 20) -> list[tuple[str, int]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len({m for m, _ in self.received}) < count:
            time.sleep(0.05)
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def redis_messages(port: int, stream: str) -> list[tuple[str, int]]:
    import redis

    client = redis.Redis(port=port, socket_timeout=5)
    entries = client.xrange(stream, "-", "+")
    client.close()
    return [(fields[b"id"].decode(), int(fields[b"source_id"])) for _, fields in entries]


def kafka_messages(bootstrap: str, topic: str, count: int, timeout: float = 20) -> list[tuple[str, int]]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    out: list[tuple[str, int]] = []
    unique: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(unique) < count and time.monotonic() < deadline:  # duplicates may come on top
        message = consumer.poll(0.2)
        if message is None or message.error():
            continue
        headers = dict(message.headers())
        out.append((headers["message-id"].decode(), int(message.key())))
        unique.add(out[-1][0])
    consumer.close()
    return out


def amqp_queue(port: int, topic: str) -> str:
    import pika

    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    channel = connection.channel()
    queue = f"q-{uuid.uuid4().hex[:6]}"
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, "amq.topic", routing_key=topic)
    connection.close()
    return queue


def amqp_messages(port: int, queue: str) -> list[tuple[str, int]]:
    import pika

    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    channel = connection.channel()
    out = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        out.append((properties.message_id, int(properties.headers["key"])))
    connection.close()
    return out


# ---- tests -----------------------------------------------------------------------------------------------
def test_mqtt_every_message_consumed(mosquitto, tmp_path):
    topic = f"vistream/{uuid.uuid4().hex[:6]}"
    consumer = MqttConsumer(mosquitto.port, topic)
    try:
        pipeline = _pipeline(f"msgbroker name=broker proto-lib=mqtt conn-str=127.0.0.1;{mosquitto.port} "
                             f"topic={topic} spool-dir={tmp_path}")
        _run(pipeline)
        total = sum(len(v) for v in pipeline.sent.values())
        assert total == 40
        check_received(pipeline.sent, consumer.wait_for(total))
        assert pipeline["broker"].delivered == total and pipeline["broker"].dropped == 0
    finally:
        consumer.close()


def test_redis_every_message_consumed(redis_server, tmp_path, no_thread_leaks):
    stream = f"vistream-{uuid.uuid4().hex[:6]}"
    pipeline = _pipeline(f"msgbroker name=broker proto-lib=libnvds_redis_proto.so "
                         f"conn-str=127.0.0.1;{redis_server.port} topic={stream} spool-dir={tmp_path}")
    _run(pipeline)
    check_received(pipeline.sent, redis_messages(redis_server.port, stream))
    stats = pipeline.stats()["elements"]["broker"]
    assert stats["delivered"] == 40 and stats["spooled"] == 0


def test_kafka_every_message_consumed(kafka_cluster, tmp_path):
    topic = f"vistream-{uuid.uuid4().hex[:6]}"
    host, port = kafka_cluster.split(":")
    pipeline = _pipeline(f"msgbroker name=broker protocol=kafka conn-str={host};{port};{topic} spool-dir={tmp_path}")
    _run(pipeline)
    total = sum(len(v) for v in pipeline.sent.values())
    check_received(pipeline.sent, kafka_messages(kafka_cluster, topic, total))


def test_amqp_every_message_consumed(rabbitmq, tmp_path):
    topic = f"vistream.{uuid.uuid4().hex[:6]}"
    queue = amqp_queue(rabbitmq.port, topic)
    pipeline = _pipeline(f"msgbroker name=broker proto-lib=amqp conn-str=127.0.0.1;{rabbitmq.port} "
                         f"topic={topic} spool-dir={tmp_path}")
    _run(pipeline)
    check_received(pipeline.sent, amqp_messages(rabbitmq.port, queue))


def test_deepstream_cfg_file_and_payload_reach_redis(redis_server, tmp_path):
    cfg = tmp_path / "cfg_redis.txt"
    cfg.write_text(f"[message-broker]\nhostname=127.0.0.1\nport={redis_server.port}\npayloadkey=metadata\n"
                   "streamsize=10000\n")
    stream = f"ds-{uuid.uuid4().hex[:6]}"
    pipeline = vistream.parse_launch(
        "testsrc pattern=scene num-objects=2 width=160 height=120 num-buffers=5 ! "
        f"msgconv payload-type=1 frame-interval=1 skip-empty=false ! msgbroker name=broker proto-lib=redis "
        f"config={cfg} topic={stream} spool-dir={tmp_path}")
    _run(pipeline)
    import redis

    client = redis.Redis(port=redis_server.port)
    entries = client.xrange(stream)
    client.close()
    assert len(entries) == 5
    body = json.loads(entries[0][1][b"metadata"])
    assert body["version"] == "4.0" and body["id"] == "0" and isinstance(body["objects"], list)


@pytest.mark.parametrize("props, message", [
    ("proto-lib=zmq conn-str=a;1", "unknown proto-lib 'zmq'"),
    ("proto-lib=kafka conn-str=localhost;notaport;t", "port 'notaport' is not a number"),
    ("proto-lib=kafka conn-str=localhost;9092", "no topic"),
    ("proto-lib=mqtt", "set 'conn-str'"),
    ("conn-str=a;1", "set 'proto-lib'"),
    ("protocol=mqtt proto-lib=kafka conn-str=a;1;t", "disagree"),
])
def test_bad_configuration_fails_at_start(props, message, tmp_path):
    pipeline = vistream.parse_launch(f"testsrc num-buffers=1 ! msgconv ! msgbroker {props} spool-dir={tmp_path}")
    with pytest.raises(Exception, match=message):
        pipeline.start()
    pipeline.stop()
