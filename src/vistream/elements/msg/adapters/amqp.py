"""``amqp`` adapter (pika): persistent publishes with publisher confirms to an exchange.

The routing key is the topic; the message id travels as the AMQP ``message_id`` property and the
stream key as header ``key``. DeepStream cfg_amqp.txt keys read from ``[message-broker]``:
``hostname``, ``port``, ``username``, ``password``, ``exchange`` (default ``amq.topic``),
``topic``, ``amqp-heartbeat``.
"""

from __future__ import annotations

from typing import Any

from vistream.core.errors import ConfigError
from vistream.elements.msg.adapters.base import Adapter, parse_conn_str
from vistream.elements.msg.message import BrokerUnavailable, Message


class AmqpAdapter(Adapter):
    """Publish to RabbitMQ (or any AMQP 0-9-1 broker); ``send`` returns once the broker confirmed."""

    protocol = "amqp"

    def __init__(self, conn_str: str, topic: str = "", options: dict[str, Any] | None = None) -> None:
        options = dict(options or {})
        self.host, self.port, conn_topic = parse_conn_str(
            conn_str or f"{options.get('hostname', 'localhost')};{options.get('port', 5672)}", "amqp")
        self.topic = topic or conn_topic or options.get("topic", "")
        if not self.topic:
            raise ConfigError("amqp: no topic (routing key); set msgbroker 'topic'")
        self.exchange = options.get("exchange", "amq.topic")
        self.username = options.get("username", "guest")
        self.password = options.get("password", "guest")
        self.heartbeat = int(options.get("amqp-heartbeat", 10))
        self._connection: Any = None
        self._channel: Any = None

    def connect(self) -> None:
        import pika
        import pika.exceptions

        self.close()
        params = pika.ConnectionParameters(
            host=self.host, port=self.port, credentials=pika.PlainCredentials(self.username, self.password),
            heartbeat=self.heartbeat, connection_attempts=1, socket_timeout=3, blocked_connection_timeout=5,
            stack_timeout=5)
        try:
            self._connection = pika.BlockingConnection(params)
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
        except (pika.exceptions.AMQPError, OSError) as exc:
            self.close()
            raise BrokerUnavailable(f"amqp {self.host}:{self.port}: {exc!r}") from None

    def send(self, messages: list[Message]) -> None:
        import pika
        import pika.exceptions

        if self._channel is None:
            raise BrokerUnavailable("amqp is not connected")
        try:
            for m in messages:
                self._channel.basic_publish(
                    exchange=self.exchange, routing_key=m.topic or self.topic, body=m.payload,
                    properties=pika.BasicProperties(message_id=m.id, delivery_mode=2, content_type="application/json",
                                                    headers={"key": m.key or "", "source_id": m.source_id}))
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerUnavailable(f"amqp {self.host}:{self.port}: {exc!r}") from None

    def close(self) -> None:
        if self._connection is not None:
            try:
                if self._connection.is_open:
                    self._connection.close()
            except Exception:
                pass
        self._connection = None
        self._channel = None
