"""DeepStream-style broker configuration: proto-lib names, connection strings, cfg_*.txt files."""

from __future__ import annotations

import pytest

from vistream.core.errors import ConfigError
from vistream.elements.msg.adapters.base import parse_conn_str, protocol_from_proto_lib, read_broker_config
from vistream.elements.msg.adapters.kafka import KafkaAdapter, parse_proto_cfg


@pytest.mark.parametrize("proto_lib, protocol", [
    ("/opt/nvidia/deepstream/deepstream/lib/libnvds_kafka_proto.so", "kafka"),
    ("libnvds_mqtt_proto.so", "mqtt"), ("libnvds_amqp_proto.so", "amqp"), ("redis", "redis"), ("file", "file"),
])
def test_proto_lib(proto_lib, protocol):
    assert protocol_from_proto_lib(proto_lib) == protocol


@pytest.mark.parametrize("conn, protocol, expected", [
    ("localhost;9092;topic1", "kafka", ("localhost", 9092, "topic1")),
    ("10.0.0.2;1883", "mqtt", ("10.0.0.2", 1883, None)),
    ("127.0.0.1:6380", "redis", ("127.0.0.1", 6380, None)),
    ("rabbit", "amqp", ("rabbit", 5672, None)),
])
def test_conn_str(conn, protocol, expected):
    assert parse_conn_str(conn, protocol) == expected


def test_conn_str_errors():
    with pytest.raises(ConfigError, match="port must be 1..65535"):
        parse_conn_str("h;70000", "mqtt")
    with pytest.raises(ConfigError, match="empty conn-str"):
        parse_conn_str(" ", "kafka")


def test_cfg_kafka_file(tmp_path):
    cfg = tmp_path / "cfg_kafka.txt"
    cfg.write_text('[message-broker]\nproto-cfg = "message.timeout.ms=2000;retries=5"\npartition-key = sensor.id\n')
    options = read_broker_config(cfg)
    assert options["proto-cfg"] == "message.timeout.ms=2000;retries=5"
    adapter = KafkaAdapter("localhost;9092;events", "", options)
    assert adapter.topic == "events" and adapter.settings["message.timeout.ms"] == "2000"
    assert adapter.settings["retries"] == "5" and adapter.settings["enable.idempotence"] is True
    with pytest.raises(ConfigError, match="not key=value"):
        parse_proto_cfg("retries")
    (tmp_path / "bad.txt").write_text("[broker]\nx=1\n")
    with pytest.raises(ConfigError, match=r"missing group \[message-broker\]"):
        read_broker_config(tmp_path / "bad.txt")
