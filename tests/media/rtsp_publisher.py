"""A test RTSP publisher: pushes H.264 to a listening reader (FFmpeg's RTSP listen mode via PyAV)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import av
import numpy as np

from tests.conftest import free_port  # noqa: F401 - the tests import it from here


class Publisher(threading.Thread):
    """Connects (retrying until the reader listens), pushes ``frames`` frames at ``fps``, disconnects."""

    def __init__(self, url: str, frames: int, fps: float = 30.0, size: tuple[int, int] = (160, 120),
                 connect_timeout: float = 20.0) -> None:
        super().__init__(daemon=True)
        self.url, self.frames, self.fps, self.size = url, frames, fps, size
        self.connect_timeout = connect_timeout
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.connect_timeout
        while True:
            try:
                output = av.open(self.url, "w", format="rtsp", options={"rtsp_transport": "tcp"})
                break
            except (av.FFmpegError, OSError) as exc:
                if time.monotonic() > deadline:
                    self.error = exc
                    return
                time.sleep(0.1)
        try:
            stream = output.add_stream("libx264", rate=int(self.fps))
            stream.width, stream.height = self.size
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "10", "bf": "0"}
            image = np.zeros((self.size[1], self.size[0], 3), np.uint8)
            started = time.monotonic()
            for index in range(self.frames):
                image[:] = (index * 7) % 255
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = index
                for packet in stream.encode(frame):
                    output.mux(packet)
                self.sent += 1
                delay = started + (index + 1) / self.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            for packet in stream.encode(None):
                output.mux(packet)
        except BaseException as exc:  # reported to the test
            self.error = exc
        finally:
            output.close()


class PublisherProcess:
    """The publisher in its own process, like a real camera (and free of the test's GIL).

    Example (not run here):
        publisher = PublisherProcess(url, frames=45).start(); publisher.join(40); publisher.returncode
    """

    def __init__(self, url: str, frames: int, fps: float = 30.0) -> None:
        self.args = [url, str(frames), str(fps)]
        self.process: subprocess.Popen | None = None

    def start(self) -> PublisherProcess:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.media.rtsp_publisher", *self.args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return self

    def join(self, timeout: float) -> tuple[int, str]:
        """Wait; returns (frames sent, error text)."""
        assert self.process is not None
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            return 0, f"publisher did not finish within {timeout}s: {err[-500:]}"
        sent = int(out.strip() or 0) if out.strip().isdigit() else 0
        return sent, err.strip()[-500:] if self.process.returncode else ""


if __name__ == "__main__":
    publisher = Publisher(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
    publisher.run()
    if publisher.error is not None:
        print(repr(publisher.error), file=sys.stderr)
        sys.exit(1)
    print(publisher.sent)
