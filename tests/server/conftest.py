"""Fixtures of the service tests: a served pipeline on a free 127.0.0.1 port, and a live TCP publisher."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def serve(tmp_path: Path):
    """``serve(launch, **service_options)`` -> (ServiceServer, httpx.Client); stopped at the end."""
    import httpx

    import vistream
    from vistream.server.http import ServiceServer
    from vistream.server.service import StreamService

    servers: list[tuple[ServiceServer, httpx.Client]] = []

    def start(launch: str, token: str | None = None, **options):
        service = StreamService(vistream.parse_launch(launch), **options)
        server = ServiceServer(service, port=0, token=token).start()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=server.url, headers=headers, timeout=60)
        servers.append((server, client))
        return server, client

    yield start
    for server, client in servers:
        client.close()
        server.stop()


def _wait_until(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll ``condition()`` until truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def wait_until():
    """``wait_until(condition, timeout, what=...)``: poll until truthy, fail on timeout."""
    return _wait_until


class TcpPublisher:
    """A live MPEG-TS (H.264) stream served on 127.0.0.1: a camera that can freeze and recover.

    ``flowing`` cleared: the connection stays open but no frame is sent (a stalled camera).
    """

    def __init__(self, fps: float = 25.0, size: tuple[int, int] = (160, 120)) -> None:
        self.fps = fps
        self.size = size
        self.flowing = threading.Event()
        self.flowing.set()
        self.stopped = threading.Event()
        self.frames = 0
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self._server.settimeout(20)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="test-publisher", daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _run(self) -> None:
        import av
        import numpy as np

        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        writer = _SocketWriter(conn)
        try:
            out = av.open(writer, "w", format="mpegts")
            stream = out.add_stream("libx264", rate=int(self.fps))
            stream.width, stream.height = self.size
            stream.pix_fmt = "yuv420p"
            stream.options = {"tune": "zerolatency", "preset": "ultrafast", "g": str(int(self.fps))}
            period = 1.0 / self.fps
            while not self.stopped.is_set():
                if not self.flowing.wait(0.05):
                    continue
                image = np.full((self.size[1], self.size[0], 3), self.frames % 255, np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = self.frames
                for packet in stream.encode(frame):
                    out.mux(packet)
                self.frames += 1
                time.sleep(period)
        except OSError:
            pass  # the reader went away
        finally:
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self._server.close()
        self._thread.join(5)


class _SocketWriter:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def write(self, data: bytes) -> int:
        self.conn.sendall(bytes(data))
        return len(data)


@pytest.fixture
def publisher() -> Iterator[TcpPublisher]:
    pub = TcpPublisher()
    yield pub
    pub.close()
