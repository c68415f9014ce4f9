"""Messaging: ``msgconv`` (metadata -> JSON payloads) and ``msgbroker`` (at-least-once delivery)."""
