"""``rtspsink``: serve encoded video over RTSP to many clients, or publish it to an RTSP server.

Serving (default) uses GStreamer's rtsp-server (see :mod:`vistream.media.rtsp_server`): every
source is one mount (``mount`` may contain ``{source_id}``), shared by any number of TCP and UDP
clients; a joining client gets a forced keyframe. With ``location=rtsp://host:port/path`` the sink
instead publishes (RTSP ANNOUNCE / RECORD) to an external server through FFmpeg's rtsp muxer.

Frames carrying packets from ``encode`` are sent as they are (use ``encode zerolatency=true``
for low delay); raw frames are encoded here (H.264, zero-latency, ``bitrate``).

Example:
    >>> import vistream
    >>> p = vistream.parse_launch("testsrc live=true num-buffers=-1 ! encode zerolatency=true "
    ...                           "! rtspsink port=8554 mount=/cam")  # doctest: +SKIP
    >>> p.start(); p["rtspsink0"].urls  # doctest: +SKIP
    ['rtsp://127.0.0.1:8554/cam']
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import av

from vistream.core.buffer import Batch, Frame
from vistream.core.element import Pad, Sink
from vistream.core.errors import ConfigError
from vistream.core.events import EOS, Event, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.media.encode import VideoEncoder
from vistream.media.rtsp_server import PROTOCOLS, RtspMount, RtspServer

RETRY_SECONDS = 2.0


class RtspPublisher:
    """Push one stream's packets to an external RTSP server (PyAV's rtsp muxer, ANNOUNCE / RECORD)."""

    def __init__(self, url: str, encoder: VideoEncoder, transport: str = "tcp", timeout: float = 10.0) -> None:
        self.url = url
        options = {"rtsp_transport": transport}
        try:
            self.container = av.open(url, mode="w", format="rtsp", options=options, timeout=timeout)
        except av.error.FFmpegError as exc:
            raise ConfigError(f"rtspsink: cannot publish to '{url}': {exc}") from None
        codec = "h264" if encoder.codec == "h264" else "hevc"
        self.stream = self.container.add_stream(codec, rate=Fraction(encoder.fps).limit_denominator(1001))
        self.stream.width, self.stream.height = encoder.width, encoder.height
        self.stream.time_base = encoder.time_base
        self.time_base = encoder.time_base
        self._base: int | None = None
        self._last_dts = -1
        self.packets = 0

    def write(self, packets: list[av.Packet]) -> None:
        for original in packets:
            if self._base is None:
                if not original.is_keyframe:
                    continue  # a reader can only start at a keyframe
                self._base = original.pts
            packet = av.Packet(bytes(original))
            packet.pts = original.pts - self._base
            packet.dts = max((original.dts if original.dts is not None else original.pts) - self._base,
                             self._last_dts + 1)
            self._last_dts = packet.dts
            packet.time_base = self.time_base
            packet.is_keyframe = original.is_keyframe
            packet.stream = self.stream
            self.container.mux(packet)
            self.packets += 1

    def close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except av.error.FFmpegError:
                pass  # the server may be gone already
            self.container = None  # type: ignore[assignment]


@register_element("rtspsink")
class RtspSink(Sink):
    """Serve H.264 / H.265 over RTSP (GStreamer rtsp-server), or publish to an external RTSP server."""

    port = Property(int, 8554, "RTSP port to serve on (0: a free one)", minimum=0, maximum=65535)
    address = Property(str, "0.0.0.0", "Address to serve on")
    mount = Property(str, "/stream", "Mount path; may contain {source_id} (one mount per source)")
    protocols = Property("str-list", ["tcp", "udp"], "Transports offered to clients: tcp, udp, udp-mcast")
    location = Property(str, "", "Publish to this rtsp:// URL instead of serving")
    transport = Property(str, "tcp", "Transport when publishing", choices=("tcp", "udp"))
    codec = Property(str, "h264", "Codec served (must match the packets of encode)", choices=("h264", "h265"))
    bitrate = Property(int, 2_000_000, "Bits per second when this sink encodes raw frames", minimum=10_000)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.server: RtspServer | None = None
        self.mounts: dict[int, RtspMount] = {}
        self.publishers: dict[int, RtspPublisher] = {}
        self._own_encoders: dict[int, VideoEncoder] = {}
        self._single_source: int | None = None
        self._retry_at = 0.0

    @property
    def urls(self) -> list[str]:
        """URLs clients can open now (one per mount), or the publish target."""
        if self.location:
            return [self.location]
        return [m.url for m in self.mounts.values()]

    def _path(self, source_id: int) -> str:
        path = self.mount.format(source_id=source_id)
        return path if path.startswith("/") else "/" + path

    def start(self) -> None:
        if self.location:
            if not self.location.startswith(("rtsp://", "rtsps://")):
                raise ConfigError(f"rtspsink '{self.name}': location must be an rtsp:// URL, got '{self.location}'")
            return
        bad = [p for p in self.protocols if p not in PROTOCOLS]
        if bad:
            raise ConfigError(f"rtspsink '{self.name}': protocols {bad} not valid; valid: {', '.join(PROTOCOLS)}")
        try:
            self.server = RtspServer(self.port, self.address, tuple(self.protocols))
            self.server.start()
            if "{source_id}" not in self.mount:  # clients may connect before the first frame
                self.mounts[0] = self.server.mount(self._path(0), self.codec)
        except ConfigError as exc:
            self.server = None
            raise ConfigError(f"rtspsink '{self.name}': {exc}") from None

    def render(self, batch: Batch) -> None:
        for frame in batch.frames:
            packets, encoder = self._packets(frame)
            if self.location:
                self._publish(frame.source_id, packets, encoder)
            else:
                self._serve(frame.source_id, packets, encoder)

    def _serve(self, source_id: int, packets: list[av.Packet], encoder: VideoEncoder) -> None:
        assert self.server is not None
        if encoder.codec != self.codec:
            raise ConfigError(f"rtspsink '{self.name}' serves {self.codec} but got {encoder.codec} packets; "
                              f"set codec={encoder.codec}")
        single = "{source_id}" not in self.mount
        mount = self.mounts.get(0 if single else source_id)
        if single:
            if self._single_source not in (None, source_id):
                raise ConfigError(f"rtspsink '{self.name}' got frames of sources {self._single_source} and "
                                  f"{source_id}; use mount=/stream{{source_id}} or put tiler before it")
            self._single_source = source_id
        if mount is None:
            mount = self.server.mount(self._path(source_id), encoder.codec)
            self.mounts[source_id] = mount
        if mount.wants_keyframe():
            encoder.request_keyframe()
        for packet in packets:
            mount.push(bytes(packet), bool(packet.is_keyframe))

    def _publish(self, source_id: int, packets: list[av.Packet], encoder: VideoEncoder) -> None:
        publisher = self.publishers.get(source_id)
        if publisher is None:
            if self.publishers:
                raise ConfigError(f"rtspsink '{self.name}': publishing takes one stream; put tiler or "
                                  "streamdemux before it")
            if time.monotonic() < self._retry_at:
                return  # the server was unreachable: drop frames until the next attempt
            try:
                publisher = RtspPublisher(self.location, encoder, self.transport)
            except ConfigError as exc:
                self._retry_at = time.monotonic() + RETRY_SECONDS
                self.post_error(f"{exc}; retrying in {RETRY_SECONDS:.0f}s", source_id)
                return
            self.publishers[source_id] = publisher
        try:
            publisher.write(packets)
        except av.error.FFmpegError as exc:  # server went away: reconnect later
            self.publishers.pop(source_id).close()
            self._retry_at = time.monotonic() + RETRY_SECONDS
            self.post_error(f"rtspsink '{self.name}': publishing to '{self.location}' failed: {exc}; "
                            f"retrying in {RETRY_SECONDS:.0f}s", source_id)

    def _packets(self, frame: Frame) -> tuple[list[av.Packet], VideoEncoder]:
        if "packets" in frame.extra:
            return frame.extra["packets"], frame.extra["encoder"]
        encoder = self._own_encoders.get(frame.source_id)
        if encoder is None:
            encoder = VideoEncoder(frame.width, frame.height, fps=frame.fps or 30.0, bitrate=self.bitrate,
                                   zerolatency=True)
            self._own_encoders[frame.source_id] = encoder
        image = frame.image if frame.memory == "cpu" else frame.image.cpu().numpy()
        return encoder.encode(image, frame.pts), encoder

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            publisher = self.publishers.pop(event.source_id, None)
            if publisher is not None:
                publisher.close()
        elif isinstance(event, EOS):
            for source_id in list(self.publishers):
                self.publishers.pop(source_id).close()
        super().handle_event(event, pad)

    def stop(self) -> None:
        for source_id in list(self.publishers):
            self.publishers.pop(source_id).close()
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.mounts = {}
        self._own_encoders = {}
        self._single_source = None
