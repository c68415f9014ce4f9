"""``msgbroker`` element (DeepStream's nvmsgbroker): deliver ``msgconv`` payloads to a broker, at least once.

A sink, like nvmsgbroker (put it behind a ``tee`` to keep the video flowing elsewhere). Sending
never blocks the pipeline: payloads go to a :class:`~vistream.elements.msg.courier.Courier`
with its own thread. While the broker is unreachable, messages wait in a bounded on-disk spool
(SQLite under ``spool-dir``, one file per element name, so a restarted pipeline delivers what the
previous run could not) and are retried with back-off; order is kept per stream; every message
carries its id. Counters: the ``delivered``, ``spooled``, ``retried``, ``dropped`` attributes and
``pipeline.stats()["elements"][name]``.

Broker choice follows DeepStream: ``proto-lib`` (``libnvds_kafka_proto.so`` or simply ``kafka``,
``mqtt``, ``redis``, ``amqp``, ``file``), ``conn-str`` (``host;port;topic``, or the file path for
``file``), ``topic`` and ``config`` (DeepStream's cfg_kafka.txt / cfg_mqtt.txt / cfg_redis.txt /
cfg_amqp.txt, group ``[message-broker]``).

Example:
    >>> import json, os, tempfile, vistream
    >>> folder = tempfile.mkdtemp()
    >>> p = vistream.parse_launch(
    ...     "testsrc pattern=scene num-objects=2 num-buffers=3 ! msgconv frame-interval=1 skip-empty=false ! "
    ...     f"msgbroker name=broker proto-lib=file conn-str={folder}/out.jsonl spool-dir={folder}/spool")
    >>> _ = p.run(timeout=20)
    >>> p["broker"].delivered, len(open(f"{folder}/out.jsonl").readlines())
    (3, 3)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vistream.core.buffer import Batch
from vistream.core.element import Sink
from vistream.core.errors import ConfigError
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.core.scheduler import ElementStats
from vistream.elements.msg.adapters.base import (
    PROTOCOLS,
    make_adapter,
    protocol_from_proto_lib,
    read_broker_config,
)
from vistream.elements.msg.courier import Courier
from vistream.elements.msg.message import Message
from vistream.elements.msg.spool import Spool


class DeliveryStats(ElementStats):
    """Element statistics plus the courier's delivery counters (shown by ``pipeline.stats()``)."""

    def __init__(self, element: MsgBroker) -> None:
        super().__init__()
        self._element = element

    def summary(self) -> dict[str, float]:
        out = super().summary()
        out.update(self._element.counters())
        return out


def _default_spool_dir() -> str:
    import platformdirs

    return str(Path(platformdirs.user_cache_dir("vistream")) / "spool")


@register_element("msgbroker")
class MsgBroker(Sink):
    """Send msgconv payloads to Kafka, MQTT, Redis Streams, AMQP or a file; spool and retry while away."""

    proto_lib = Property(str, "", "kafka | mqtt | redis | amqp | file, or DeepStream's libnvds_<proto>_proto.so")
    protocol = Property(str, "", "Same as proto-lib, by name only", choices=("", *PROTOCOLS))
    conn_str = Property(str, "", "host;port[;topic] (DeepStream style) or host:port; the path for 'file'")
    topic = Property(str, "", "Topic / stream / routing key (default: from conn-str or config)")
    config = Property(str, "", "DeepStream broker config file ([message-broker] group)")
    spool_dir = Property(str, "", "Folder of the on-disk spool (default: the user cache folder)")
    spool_max_messages = Property(int, 100_000, "Spool bound: the oldest messages are dropped beyond it", minimum=1)
    retry_interval = Property(float, 0.2, "First retry delay in seconds (doubles up to max-retry-interval)", minimum=0.01)
    max_retry_interval = Property(float, 5.0, "Largest retry delay in seconds", minimum=0.01)
    batch_size = Property(int, 64, "Messages sent at once", minimum=1)
    flush_timeout = Property(float, 5.0, "Seconds spent delivering pending messages at stop before spooling them", minimum=0)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.courier: Courier | None = None
        self.stats = DeliveryStats(self)

    # counters as plain attributes
    @property
    def delivered(self) -> int:
        return self.courier.delivered if self.courier else 0

    @property
    def spooled(self) -> int:
        return self.courier.spooled if self.courier else 0

    @property
    def retried(self) -> int:
        return self.courier.retried if self.courier else 0

    @property
    def dropped(self) -> int:
        return self.courier.dropped if self.courier else 0

    def counters(self) -> dict[str, int]:
        """delivered, spooled, retried, dropped, pending, failures, connected."""
        if self.courier is None:
            return {"delivered": 0, "spooled": 0, "retried": 0, "dropped": 0, "pending": 0, "failures": 0,
                    "connected": 0}
        return self.courier.counters()

    def start(self) -> None:
        if self.protocol and self.proto_lib and protocol_from_proto_lib(self.proto_lib) != self.protocol:
            raise ConfigError(f"msgbroker '{self.name}': 'protocol' ({self.protocol}) and 'proto-lib' "
                              f"({self.proto_lib}) disagree; set one of them")
        if not self.proto_lib and not self.protocol:
            raise ConfigError(f"msgbroker '{self.name}': set 'proto-lib' (kafka, mqtt, redis, amqp or file)")
        self.protocol = self.protocol or protocol_from_proto_lib(self.proto_lib)
        options: dict[str, Any] = {}
        if self.config:
            if not Path(self.config).is_file():
                raise ConfigError(f"msgbroker '{self.name}': config file not found: {self.config}")
            options = read_broker_config(self.config)
        conn_str = self.conn_str
        if not conn_str and self.protocol not in ("redis", "amqp", "file"):
            raise ConfigError(f"msgbroker '{self.name}': set 'conn-str' (host;port;topic)")
        if self.protocol == "file" and not conn_str:
            raise ConfigError(f"msgbroker '{self.name}': set 'conn-str' to the output file for proto-lib=file")
        try:
            adapter = make_adapter(self.protocol, conn_str, self.topic, options)
        except ConfigError as exc:
            raise ConfigError(f"msgbroker '{self.name}': {exc}") from None
        spool_path = Path(self.spool_dir or _default_spool_dir()) / f"{self.name}.sqlite"
        spool = Spool(spool_path, self.spool_max_messages)
        self.courier = Courier(adapter, spool, self.batch_size, self.retry_interval, self.max_retry_interval,
                               on_error=self.post_warning, name=self.name)
        self.courier.start()

    def render(self, batch: Batch) -> None:
        courier = self.courier
        assert courier is not None
        messages = [Message.from_envelope(envelope) for frame in batch.frames
                    for envelope in frame.meta.user_meta("payload")]
        if messages:
            courier.submit_many(messages)

    def stop(self) -> None:
        if self.courier is not None:
            self.courier.close(self.flush_timeout)
