"""Service mode: a pipeline as a long-lived service with a REST API, metrics, health and a dashboard.

``vistream serve pipeline.yaml`` (see :mod:`vistream.server.cli`); from Python,
:class:`~vistream.server.service.StreamService` (no HTTP) and
:class:`~vistream.server.http.ServiceServer` (FastAPI + uvicorn, in the ``server`` extra).
"""
