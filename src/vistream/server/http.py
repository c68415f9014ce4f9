"""Run a service's application with uvicorn in a background thread (CLI, tests, benchmarks).

Example:
    >>> import vistream, httpx
    >>> from vistream.server.service import StreamService
    >>> service = StreamService(vistream.parse_launch("streammux name=mux ! fakesink"))
    >>> with ServiceServer(service, port=0) as server:
    ...     httpx.get(server.url + "/ready").json()["ready"]
    True
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from vistream.core.errors import PipelineError
from vistream.server.service import StreamService

log = logging.getLogger("vistream.server")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServiceServer:
    """Starts the pipeline, serves the API on ``host:port`` (0: a free port), stops both."""

    def __init__(self, service: StreamService, host: str = "127.0.0.1", port: int = 8080,
                 token: str | None = None, log_level: str = "warning") -> None:
        self.service = service
        self.host = host
        self.port = port or free_port(host)
        self.token = token
        self.log_level = log_level
        self.stopped = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServiceServer:
        import uvicorn

        from vistream.server.app import create_app

        if not self.service.running:
            self.service.start()
        self.app = create_app(self.service, token=self.token, on_stop=self.request_stop)
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level=self.log_level,
                                lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="vistream-server:http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.service.stop()
                raise PipelineError(f"the HTTP server could not listen on {self.host}:{self.port} "
                                    "(port taken? choose another with --port)")
            time.sleep(0.02)
        return self

    def _serve(self) -> None:
        try:
            self._server.run()
        finally:
            self.stopped.set()

    def request_stop(self) -> None:
        """Ask the HTTP server to exit (from any thread, e.g. after ``POST /api/stop``)."""
        self.app.state.shutdown.set()
        if self._server is not None:
            self._server.should_exit = True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stopped (True) or ``timeout`` (False)."""
        return self.stopped.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, then stop the pipeline. Idempotent."""
        if self._server is not None:
            self.request_stop()
            if self._thread is not None:
                self._thread.join(timeout)
        self.service.stop()

    def __enter__(self) -> ServiceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
