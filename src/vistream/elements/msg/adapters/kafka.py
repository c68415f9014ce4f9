"""``kafka`` adapter (confluent-kafka): idempotent producer, key = stream, id in the ``message-id`` header.

DeepStream cfg_kafka.txt keys read from ``[message-broker]``: ``proto-cfg`` (librdkafka settings
``"key=value;key=value"``) and ``partition-key`` (ignored: the key is always the source id, which
keeps each stream's messages in one partition, in order).
"""

from __future__ import annotations

from typing import Any

from vistream.core.errors import ConfigError
from vistream.elements.msg.adapters.base import Adapter, parse_conn_str
from vistream.elements.msg.message import BrokerUnavailable, Message


def parse_proto_cfg(text: str) -> dict[str, str]:
    """``"message.timeout.ms=2000;retries=5"`` -> dict (DeepStream's proto-cfg)."""
    out = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"kafka proto-cfg item {item!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


class KafkaAdapter(Adapter):
    """Send to Kafka; ``send`` returns when every message is acknowledged (acks=all)."""

    protocol = "kafka"

    def __init__(self, conn_str: str, topic: str = "", options: dict[str, Any] | None = None) -> None:
        host, port, conn_topic = parse_conn_str(conn_str, "kafka")
        self.topic = topic or conn_topic or ""
        if not self.topic:
            raise ConfigError("kafka: no topic; set msgbroker 'topic' or use conn-str 'host;port;topic'")
        options = dict(options or {})
        self.settings: dict[str, Any] = {
            "bootstrap.servers": f"{host}:{port}",
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": 5000,
            "socket.timeout.ms": 3000,
            "reconnect.backoff.max.ms": 1000,
            "linger.ms": 2,
        }
        self.settings.update(parse_proto_cfg(str(options.get("proto-cfg", ""))))
        self.timeout = float(options.get("send-timeout", 10.0))
        self._producer: Any = None

    def connect(self) -> None:
        from confluent_kafka import KafkaException, Producer

        self.close()
        try:
            self._producer = Producer(self.settings)
            self._producer.list_topics(timeout=3)
        except KafkaException as exc:
            self.close()
            raise BrokerUnavailable(f"kafka {self.settings['bootstrap.servers']}: {exc}") from None

    def send(self, messages: list[Message]) -> None:
        if self._producer is None:
            raise BrokerUnavailable("kafka producer is not connected")
        errors: list[str] = []

        def on_delivery(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        try:
            for m in messages:
                self._producer.produce(m.topic or self.topic, value=m.payload, key=m.key,
                                       headers={"message-id": m.id}, on_delivery=on_delivery)
                self._producer.poll(0)
        except (BufferError, Exception) as exc:  # KafkaException: queue full, producer fenced ...
            raise BrokerUnavailable(f"kafka produce failed: {exc}") from None
        left = self._producer.flush(self.timeout)
        if left or errors:
            raise BrokerUnavailable(f"kafka: {left} messages unacknowledged, errors: {errors[:3]}")

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.flush(0)
            except Exception:
                pass
            self._producer = None
