"""``mqtt`` adapter (paho-mqtt, MQTT 5): QoS 1 publishes, id in the ``message-id`` user property.

DeepStream cfg_mqtt.txt keys read from ``[message-broker]``: ``username``, ``password``,
``client-id``, ``keep-alive``; plus ``qos`` (1 or 2).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from vistream.core.errors import ConfigError
from vistream.elements.msg.adapters.base import Adapter, parse_conn_str
from vistream.elements.msg.message import BrokerUnavailable, Message


class MqttAdapter(Adapter):
    """Publish to an MQTT broker; ``send`` returns when the broker acknowledged every message."""

    protocol = "mqtt"

    def __init__(self, conn_str: str, topic: str = "", options: dict[str, Any] | None = None) -> None:
        self.host, self.port, conn_topic = parse_conn_str(conn_str, "mqtt")
        self.topic = topic or conn_topic or ""
        if not self.topic:
            raise ConfigError("mqtt: no topic; set msgbroker 'topic'")
        options = dict(options or {})
        self.username = options.get("username") or None
        self.password = options.get("password") or None
        self.client_id = options.get("client-id") or f"vistream-{uuid.uuid4().hex[:8]}"
        self.keep_alive = int(options.get("keep-alive", 10))
        self.qos = int(options.get("qos", 1))
        if self.qos not in (1, 2):
            raise ConfigError(f"mqtt: qos must be 1 or 2 for at-least-once delivery, got {self.qos}")
        self.timeout = float(options.get("send-timeout", 5.0))
        self.max_inflight = int(options.get("max-inflight", 1000))
        self._client: Any = None
        self._connected = threading.Event()

    def connect(self) -> None:
        import paho.mqtt.client as mqtt

        self.close()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        if self.username:
            client.username_pw_set(self.username, self.password)
        client.on_connect = lambda *args: self._connected.set()
        client.on_disconnect = lambda *args: self._connected.clear()
        client.reconnect_delay_set(0.2, 2)
        client.max_inflight_messages_set(self.max_inflight)  # paho's default of 20 caps throughput
        client.max_queued_messages_set(0)
        self._connected.clear()
        try:
            client.connect(self.host, self.port, keepalive=self.keep_alive)
        except OSError as exc:
            raise BrokerUnavailable(f"mqtt {self.host}:{self.port}: {exc}") from None
        client.loop_start()
        self._client = client
        if not self._connected.wait(5):
            self.close()
            raise BrokerUnavailable(f"mqtt {self.host}:{self.port}: no CONNACK within 5 s")

    def send(self, messages: list[Message]) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        if self._client is None or not self._connected.is_set():
            raise BrokerUnavailable(f"mqtt {self.host}:{self.port}: not connected")
        infos = []
        for m in messages:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [("message-id", m.id), ("key", m.key or "")]
            info = self._client.publish(m.topic or self.topic, m.payload, qos=self.qos, properties=props)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise BrokerUnavailable(f"mqtt publish failed: {mqtt.error_string(info.rc)}")
            infos.append(info)
        deadline = time.monotonic() + self.timeout
        for info in infos:
            # Poll instead of one long wait: a dropped connection fails the batch at once (it is spooled
            # and resent; paho's own resend after reconnecting would only add duplicates).
            while not info.is_published():
                if not self._connected.is_set():
                    raise BrokerUnavailable(f"mqtt {self.host}:{self.port}: connection lost")
                if time.monotonic() > deadline:
                    raise BrokerUnavailable(f"mqtt {self.host}:{self.port}: no PUBACK within {self.timeout} s")
                try:
                    info.wait_for_publish(0.05)
                except (RuntimeError, ValueError) as exc:
                    raise BrokerUnavailable(f"mqtt publish failed: {exc}") from None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()  # first: it wakes the network loop, so loop_stop returns at once
                self._client.loop_stop()
            except Exception:
                pass
            self._client = None
