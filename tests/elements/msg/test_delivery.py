"""At-least-once delivery against real brokers that go away: stopped mid-run, stopped across a pipeline
restart; the spool's bound; the pipeline's frame rate while the broker is down."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest
from test_brokers import (
    MqttConsumer,
    _pipeline,
    amqp_messages,
    amqp_queue,
    check_received,
    kafka_messages,
    redis_messages,
)

import vistream


def _frame_clock(pipeline) -> list[float]:
    """Arrival times of frames at msgbroker's input (a blocked broker would stall this)."""
    times: list[float] = []
    pipeline["conv"].src.add_probe(lambda batch: times.extend([time.monotonic()] * len(batch)))
    return times


def _outage(server, stop_at: float, restart_at: float, window: dict[str, float]) -> threading.Thread:
    def run() -> None:
        time.sleep(stop_at)
        window["down"] = time.monotonic()
        server.stop()
        time.sleep(max(0.0, restart_at - stop_at - (time.monotonic() - window["down"])))
        window["up"] = time.monotonic()
        server.start()
        window["restarted"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _rate(times: list[float], start: float, end: float) -> float:
    stamps = np.array(times)
    return float(((stamps >= start) & (stamps < end)).sum() / (end - start))


@pytest.mark.parametrize("broker", ["redis", "mqtt"])
def test_broker_stopped_mid_run_loses_nothing_and_video_keeps_its_pace(broker, redis_server, mosquitto, tmp_path):
    fps, frames = 40.0, 160  # 4 s of live video; the broker is away from 1.0 s to 2.4 s
    server = redis_server if broker == "redis" else mosquitto
    topic = f"fault-{uuid.uuid4().hex[:6]}"
    consumer = MqttConsumer(mosquitto.port, topic) if broker == "mqtt" else None
    try:
        pipeline = _pipeline(f"msgbroker name=broker proto-lib={broker} conn-str=127.0.0.1;{server.port} "
                             f"topic={topic} spool-dir={tmp_path} retry-interval=0.05 max-retry-interval=0.2 "
                             "flush-timeout=15", frames=frames, live=True, fps=fps)
        times = _frame_clock(pipeline)
        window: dict[str, float] = {}
        pipeline.start()
        outage = _outage(server, 1.0, 2.4, window)
        assert pipeline.wait(timeout=30)
        outage.join(30)
        broker_element = pipeline["broker"]
        pipeline.stop(timeout=20)
        assert not pipeline.bus.errors, [str(m) for m in pipeline.bus.errors]
        total = sum(len(v) for v in pipeline.sent.values())
        assert total >= 0.95 * 2 * frames  # a live source may drop a frame while the pipeline warms up
        counters = broker_element.counters()
        assert counters["spooled"] > 0 and counters["failures"] > 0, counters
        assert counters["failures"] > 0 and counters["dropped"] == 0
        assert counters["pending"] == 0 and counters["delivered"] >= total
        received = redis_messages(server.port, topic) if consumer is None else consumer.wait_for(total, timeout=20)
        check_received(pipeline.sent, received)
        # Frame rate at msgbroker's input: as high while the broker is down as before it went away.
        start = min(times)
        before = _rate(times, start + 0.2, window["down"])
        during = _rate(times, window["down"], window["up"])
        assert during >= 0.85 * 2 * fps, (before, during)
        assert during >= 0.85 * before, (before, during)
    finally:
        if consumer is not None:
            consumer.close()


def test_spooled_messages_are_delivered_after_a_pipeline_restart(redis_server, tmp_path):
    topic = f"restart-{uuid.uuid4().hex[:6]}"
    broker = (f"msgbroker name=broker proto-lib=redis conn-str=127.0.0.1;{redis_server.port} topic={topic} "
              f"spool-dir={tmp_path} retry-interval=0.05 flush-timeout=0.5")
    redis_server.stop()
    try:
        first = _pipeline(broker, frames=15)
        first.run(timeout=30)
        counters = first["broker"].counters()
        assert counters["delivered"] == 0 and counters["spooled"] == 30 and counters["pending"] == 30
    finally:
        redis_server.start()
    assert (tmp_path / "broker.sqlite").is_file()
    second = _pipeline(broker.replace("flush-timeout=0.5", "flush-timeout=10"), frames=5)
    second.run(timeout=30)
    assert second["broker"].counters()["retried"] >= 30
    sent = {sid: first.sent[sid] + second.sent[sid] for sid in first.sent}  # the old ones first
    check_received(sent, redis_messages(redis_server.port, topic))


def test_spool_bound_drops_the_oldest_and_counts_them(redis_server, tmp_path):
    topic = f"bound-{uuid.uuid4().hex[:6]}"
    broker = (f"msgbroker name=broker proto-lib=redis conn-str=127.0.0.1;{redis_server.port} topic={topic} "
              f"spool-dir={tmp_path} spool-max-messages=10 flush-timeout=0.2")
    redis_server.stop()
    try:
        pipeline = _pipeline(broker, frames=15, streams=1)
        pipeline.run(timeout=30)
        assert pipeline["broker"].dropped == 5 and pipeline["broker"].counters()["pending"] == 10
    finally:
        redis_server.start()
    again = vistream.parse_launch(f"testsrc num-buffers=0 ! msgconv ! {broker.replace('flush-timeout=0.2', 'flush-timeout=10')}")
    again.run(timeout=30)
    received = [m for m, _ in redis_messages(redis_server.port, topic)]
    assert received == pipeline.sent[0][5:]  # the 10 newest, in order


def test_amqp_broker_restarted_mid_run_loses_nothing(rabbitmq, tmp_path):
    """RabbitMQ takes seconds to come back: a live pipeline keeps running and spooling meanwhile."""
    topic = f"fault.{uuid.uuid4().hex[:6]}"
    queue = amqp_queue(rabbitmq.port, topic)  # durable, so it outlives the restart
    pipeline = _pipeline(f"msgbroker name=broker proto-lib=amqp conn-str=127.0.0.1;{rabbitmq.port} topic={topic} "
                         f"spool-dir={tmp_path} retry-interval=0.1 max-retry-interval=0.5 flush-timeout=20",
                         frames=-1, live=True, fps=20.0)
    pipeline.start()
    try:
        time.sleep(1.0)
        rabbitmq.stop()
        time.sleep(0.5)
        rabbitmq.start()
        time.sleep(1.5)
    finally:
        broker = pipeline["broker"]
        pipeline.stop(timeout=30)
    counters = broker.counters()
    assert counters["spooled"] > 0 and counters["failures"] > 0 and counters["pending"] == 0, counters
    check_received(pipeline.sent, amqp_messages(rabbitmq.port, queue))


def test_kafka_broker_frozen_mid_run_loses_nothing(kafka_helper, tmp_path):
    """The mock Kafka cluster is frozen (SIGSTOP) for a while: sends time out, messages are spooled and
    delivered after it resumes; the consumer de-duplicates by the message-id header."""
    import os
    import signal

    bootstrap, helper = kafka_helper
    host, port = bootstrap.split(":")
    topic = f"fault-{uuid.uuid4().hex[:6]}"
    cfg = tmp_path / "cfg_kafka.txt"
    cfg.write_text('[message-broker]\nproto-cfg = "message.timeout.ms=1500;socket.timeout.ms=1000"\n')
    pipeline = _pipeline(f"msgbroker name=broker proto-lib=kafka conn-str={host};{port};{topic} config={cfg} "
                         f"spool-dir={tmp_path} retry-interval=0.1 max-retry-interval=0.5 flush-timeout=20",
                         frames=120, live=True, fps=40.0)
    pipeline.start()
    try:
        time.sleep(1.0)
        os.kill(helper.pid, signal.SIGSTOP)
        time.sleep(2.5)
    finally:
        os.kill(helper.pid, signal.SIGCONT)
    assert pipeline.wait(timeout=30)
    broker = pipeline["broker"]
    pipeline.stop(timeout=30)
    counters = broker.counters()
    assert counters["spooled"] > 0 and counters["failures"] > 0 and counters["pending"] == 0, counters
    total = sum(len(v) for v in pipeline.sent.values())
    check_received(pipeline.sent, kafka_messages(bootstrap, topic, total, timeout=20))
