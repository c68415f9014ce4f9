"""``redis`` adapter (redis-py): one ``XADD`` per message to a Redis Stream named by the topic.

Fields: ``id`` (message id), ``source_id``, ``key`` and the payload under ``payloadkey``
(DeepStream's cfg_redis.txt key; default ``metadata``). Other cfg_redis.txt keys read from
``[message-broker]``: ``hostname``, ``port``, ``password``, ``streamsize`` (MAXLEN, approximate).
"""

from __future__ import annotations

from typing import Any

from vistream.core.errors import ConfigError
from vistream.elements.msg.adapters.base import Adapter, parse_conn_str
from vistream.elements.msg.message import BrokerUnavailable, Message


class RedisAdapter(Adapter):
    """Append to a Redis Stream; ``send`` returns when the pipeline of XADDs has executed."""

    protocol = "redis"

    def __init__(self, conn_str: str, topic: str = "", options: dict[str, Any] | None = None) -> None:
        options = dict(options or {})
        self.host, self.port, conn_topic = parse_conn_str(
            conn_str or f"{options.get('hostname', 'localhost')};{options.get('port', 6379)}", "redis")
        self.topic = topic or conn_topic or ""
        if not self.topic:
            raise ConfigError("redis: no stream name; set msgbroker 'topic'")
        self.password = options.get("password") or None
        self.payload_key = options.get("payloadkey", "metadata")
        size = int(options.get("streamsize", 0))
        self.maxlen = size if size > 0 else None
        self._client: Any = None

    def connect(self) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.close()
        # No client-side retries: the courier retries (and spools meanwhile) instead of blocking here.
        client = redis.Redis(host=self.host, port=self.port, password=self.password, socket_timeout=3,
                             socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))
        try:
            client.ping()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BrokerUnavailable(f"redis {self.host}:{self.port}: {exc}") from None
        self._client = client

    def send(self, messages: list[Message]) -> None:
        import redis

        if self._client is None:
            raise BrokerUnavailable("redis is not connected")
        pipe = self._client.pipeline(transaction=False)
        for m in messages:
            pipe.xadd(m.topic or self.topic, {"id": m.id, "source_id": m.source_id, "key": m.key or "",
                                              self.payload_key: m.payload},
                      maxlen=self.maxlen, approximate=True)
        try:
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
            raise BrokerUnavailable(f"redis {self.host}:{self.port}: {exc}") from None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None
