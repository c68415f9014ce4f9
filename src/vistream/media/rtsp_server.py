"""An RTSP server for encoded H.264 / H.265 access units: GStreamer's rtsp-server through PyGObject.

Every mount is a *shared* media factory fed through ``appsrc``, so any number of clients (TCP or
UDP) watch one stream. The server runs a GLib main loop in its own thread. A client that joins
gets data from the next keyframe on; ``on_join`` lets the producer force one.

Example:
    >>> from vistream.media.rtsp_server import RtspServer
    >>> server = RtspServer(port=0)  # doctest: +SKIP
    >>> mount = server.mount("/cam", codec="h264")  # doctest: +SKIP
    >>> server.start(); mount.url  # doctest: +SKIP
    'rtsp://127.0.0.1:40123/cam'
    >>> mount.push(access_unit_bytes, keyframe=True)  # doctest: +SKIP
    >>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from vistream.core.errors import ConfigError
from vistream.media.gstreamer import import_gst

LAUNCH = {
    "h264": "video/x-h264,stream-format=byte-stream,alignment=au ! h264parse ! rtph264pay name=pay0 pt=96 "
            "config-interval=1",
    "h265": "video/x-h265,stream-format=byte-stream,alignment=au ! h265parse ! rtph265pay name=pay0 pt=96 "
            "config-interval=1",
}
PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "udp-mcast": "UDP_MCAST"}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class RtspMount:
    """One path of the server; :meth:`push` access units from any thread."""

    def __init__(self, server: RtspServer, path: str, codec: str, max_bytes: int) -> None:
        self.server = server
        self.path = path
        self.codec = codec
        self.max_bytes = max_bytes
        self.on_join: Callable[[], None] | None = None
        self._appsrcs: list[Any] = []
        self._waiting_keyframe: set[int] = set()
        self._lock = threading.Lock()
        self.pushed = 0

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.server.address in ("0.0.0.0", "") else self.server.address
        return f"rtsp://{host}:{self.server.port}{self.path}"

    @property
    def clients_ready(self) -> bool:
        """True while a media is prepared (someone is watching)."""
        with self._lock:
            return bool(self._appsrcs)

    def _configure(self, _factory: Any, media: Any) -> None:
        appsrc = media.get_element().get_child_by_name("src")
        appsrc.set_property("max-bytes", self.max_bytes)
        try:
            appsrc.set_property("leaky-type", 2)  # downstream: drop the oldest when a client is slow
        except TypeError:  # GStreamer < 1.20
            pass
        with self._lock:
            self._appsrcs.append(appsrc)
            self._waiting_keyframe.add(id(appsrc))
        media.connect("unprepared", self._unprepared, appsrc)
        if self.on_join is not None:
            self.on_join()

    def _unprepared(self, _media: Any, appsrc: Any) -> None:
        # The shared media (and its appsrc) is rebuilt when the next client comes after the last left.
        with self._lock:
            if appsrc in self._appsrcs:
                self._appsrcs.remove(appsrc)
            self._waiting_keyframe.discard(id(appsrc))

    def push(self, data: bytes, keyframe: bool) -> int:
        """Send one access unit (Annex-B) to the clients; returns to how many medias it went."""
        Gst = self.server.Gst
        with self._lock:
            targets = []
            for appsrc in self._appsrcs:
                if id(appsrc) in self._waiting_keyframe:
                    if not keyframe:
                        continue
                    self._waiting_keyframe.discard(id(appsrc))
                targets.append(appsrc)
        for appsrc in targets:
            appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(bytes(data)))
        self.pushed += bool(targets)
        return len(targets)

    def wants_keyframe(self) -> bool:
        with self._lock:
            return bool(self._waiting_keyframe)


class RtspServer:
    """GStreamer RTSP server in a background GLib loop; add mounts before or after :meth:`start`.

    ``port=0`` picks a free port. ``protocols`` is any of ``tcp``, ``udp``, ``udp-mcast``.
    """

    def __init__(self, port: int = 8554, address: str = "0.0.0.0", protocols: tuple[str, ...] = ("tcp", "udp"),
                 max_bytes: int = 4_000_000) -> None:
        self.Gst, self.GstRtspServer, self.GLib = import_gst()
        from gi.repository import GstRtsp  # type: ignore[import-not-found]  # loaded by import_gst

        bad = [p for p in protocols if p not in PROTOCOLS]
        if bad or not protocols:
            raise ConfigError(f"RTSP protocols {bad or protocols} not valid; valid: {', '.join(PROTOCOLS)}")
        self.port = port or free_port(address if address not in ("0.0.0.0", "") else "127.0.0.1")
        self.address = address
        self.protocols = protocols
        self.max_bytes = max_bytes
        self.mounts: dict[str, RtspMount] = {}
        self._lower_trans = GstRtsp.RTSPLowerTrans
        self._context = self.GLib.MainContext.new()
        self._loop = self.GLib.MainLoop.new(self._context, False)
        self._server = self.GstRtspServer.RTSPServer.new()
        self._server.set_address(address)
        self._server.set_service(str(self.port))
        self._thread: threading.Thread | None = None
        self._source_id = 0

    def mount(self, path: str, codec: str = "h264") -> RtspMount:
        """Serve a stream at ``path`` (``/name``)."""
        if codec not in LAUNCH:
            raise ConfigError(f"RTSP serving supports codecs {', '.join(LAUNCH)}, not '{codec}'")
        if not path.startswith("/"):
            path = "/" + path
        if path in self.mounts:
            return self.mounts[path]
        mount = RtspMount(self, path, codec, self.max_bytes)
        factory = self.GstRtspServer.RTSPMediaFactory.new()
        factory.set_launch(f"( appsrc name=src is-live=true format=time do-timestamp=true caps={LAUNCH[codec]} )")
        factory.set_shared(True)
        flags = 0
        for protocol in self.protocols:
            flags |= int(getattr(self._lower_trans, PROTOCOLS[protocol]))
        factory.set_protocols(self._lower_trans(flags))
        factory.connect("media-configure", mount._configure)
        self._server.get_mount_points().add_factory(path, factory)
        self.mounts[path] = mount
        return mount

    def start(self) -> None:
        """Bind the port and serve in a background thread; ConfigError when the port is taken."""
        self._source_id = self._server.attach(self._context)
        if self._source_id == 0:
            raise ConfigError(f"RTSP server cannot listen on {self.address}:{self.port} (port in use?)")
        self._thread = threading.Thread(target=self._loop.run, name=f"vistream:rtsp:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; clients see the end of the stream."""
        for mount in self.mounts.values():
            with mount._lock:
                appsrcs = list(mount._appsrcs)
            for appsrc in appsrcs:
                appsrc.emit("end-of-stream")
        if self._thread is not None:
            self._context.invoke_full(self.GLib.PRIORITY_DEFAULT, self._close_all)
            self._loop.quit()
            source = self._context.find_source_by_id(self._source_id)
            if source is not None:
                source.destroy()  # frees the listening socket
            self._thread.join(5)
            self._thread = None

    def _close_all(self) -> bool:
        self._server.client_filter(lambda _server, _client: self.GstRtspServer.RTSPFilterResult.REMOVE)
        return False
