"""Adapter interface, DeepStream-style connection strings and config files, and the adapter factory.

Example:
    >>> from vistream.elements.msg.adapters.base import parse_conn_str, protocol_from_proto_lib
    >>> parse_conn_str("localhost;9092;events", "kafka")
    ('localhost', 9092, 'events')
    >>> parse_conn_str("127.0.0.1:1883", "mqtt")
    ('127.0.0.1', 1883, None)
    >>> protocol_from_proto_lib("/opt/nvidia/deepstream/deepstream/lib/libnvds_redis_proto.so")
    'redis'
"""

from __future__ import annotations

import configparser
import importlib
from pathlib import Path
from typing import Any

from vistream.core.errors import ConfigError
from vistream.elements.msg.message import Message

PROTOCOLS = ("kafka", "mqtt", "redis", "amqp", "file")
DEFAULT_PORTS = {"kafka": 9092, "mqtt": 1883, "redis": 6379, "amqp": 5672}
_MODULES = {"kafka": "KafkaAdapter", "mqtt": "MqttAdapter", "redis": "RedisAdapter", "amqp": "AmqpAdapter",
            "file": "FileAdapter"}


class Adapter:
    """A broker client. ``connect`` and ``send`` raise
    :class:`~vistream.elements.msg.message.BrokerUnavailable` when the broker cannot take messages;
    ``send`` returns only once the broker has them (acknowledged)."""

    protocol = ""

    def connect(self) -> None:
        """(Re)open the connection."""

    def send(self, messages: list[Message]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection; never raises."""


def protocol_from_proto_lib(proto_lib: str) -> str:
    """Map DeepStream's ``proto-lib`` (``libnvds_kafka_proto.so``) or a plain name to a protocol."""
    text = Path(proto_lib).name.lower()
    for protocol in PROTOCOLS:
        if protocol == text or f"_{protocol}_" in text or text.startswith(protocol):
            return protocol
    raise ConfigError(f"unknown proto-lib {proto_lib!r}; valid: {', '.join(PROTOCOLS)} "
                      "(or DeepStream's libnvds_<protocol>_proto.so)")


def parse_conn_str(conn_str: str, protocol: str) -> tuple[str, int, str | None]:
    """``host;port[;topic]`` (DeepStream) or ``host:port`` -> (host, port, topic or None)."""
    text = conn_str.strip()
    if not text:
        raise ConfigError(f"{protocol}: empty conn-str; expected 'host;port' or 'host;port;topic'")
    if ";" in text:
        parts = [p.strip() for p in text.split(";")]
    elif text.count(":") == 1:
        parts = [p.strip() for p in text.split(":")]
    else:
        parts = [text]
    host = parts[0] or "localhost"
    port = DEFAULT_PORTS.get(protocol, 0)
    if len(parts) > 1 and parts[1]:
        try:
            port = int(parts[1])
        except ValueError:
            raise ConfigError(f"{protocol}: conn-str {conn_str!r}: port {parts[1]!r} is not a number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{protocol}: conn-str {conn_str!r}: port must be 1..65535")
    topic = parts[2] if len(parts) > 2 and parts[2] else None
    return host, port, topic


def read_broker_config(path: str | Path) -> dict[str, str]:
    """Keys of the ``[message-broker]`` group of a DeepStream cfg_kafka.txt / cfg_mqtt.txt / ... file."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, configparser.Error) as exc:
        raise ConfigError(f"cannot read broker config {path}: {exc}") from None
    if not parser.has_section("message-broker"):
        raise ConfigError(f"{path}: missing group [message-broker]")
    return {k: v.strip().strip('"') for k, v in parser["message-broker"].items()}


def make_adapter(protocol: str, conn_str: str, topic: str, options: dict[str, Any]) -> Adapter:
    """Build the adapter of ``protocol`` (its client library is imported when it connects)."""
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
    module = importlib.import_module(f"vistream.elements.msg.adapters.{protocol}")
    cls = getattr(module, _MODULES[protocol])
    return cls(conn_str, topic, options)
