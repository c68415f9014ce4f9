"""Broker adapters: kafka, mqtt, redis, amqp and file (one module each, clients imported lazily)."""
