"""``urisrc``: decode a file, RTSP / HTTP stream, camera or image sequence with PyAV (FFmpeg).

Network sources reconnect with exponential back-off; local inputs fail with a clear error.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch("urisrc uri=lavfi:testsrc2=size=64x48:rate=10 num-buffers=3 ! appsink name=out")
    >>> _ = p.run(timeout=20)
    >>> [(f.width, f.height) for b in p["out"].batches for f in b.frames]
    [(64, 48), (64, 48), (64, 48)]
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from vistream.core.buffer import Frame
from vistream.core.element import Source
from vistream.core.errors import SourceError
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.media.nvdec import NVDEC_KINDS, NvdecReader, SessionLimiter, nvdec_usable, upload_nv12
from vistream.media.uri import SourceURI, check_local, parse_uri

log = logging.getLogger("vistream.urisrc")


def choose_memory(source: Source, decoder: str, gpu_id: int) -> tuple[str, str]:
    """Where ``source``'s frames live for ``decoder`` (auto, cpu, nvdec): ``("cuda" | "cpu", why not cuda)``.

    ``auto`` gives ``cuda`` when NVDEC is usable and every element downstream takes GPU frames.
    """
    if decoder == "cpu":
        return "cpu", "decoder=cpu"
    if decoder == "nvdec":
        return "cuda", ""
    if not downstream_takes_cuda(source):
        return "cpu", "the elements downstream take CPU frames only"
    usable, reason = nvdec_usable(gpu_id)
    return ("cuda" if usable else "cpu"), reason


def downstream_takes_cuda(source: Source) -> bool:
    """Whether the elements after ``source`` take GPU frames up to one that converts or consumes them."""
    pad, seen = source.pads["src"], set()
    while pad.peer is not None and pad.peer.element.name not in seen:
        element = pad.peer.element
        seen.add(element.name)
        if not element.accepts_memory("cuda"):
            return False
        if element.output_memory("cuda") != "cuda":
            return True  # it converts (videoconvert) or consumes the frames
        pad = next((p for p in element.src_pads() if p.peer is not None), None)
        if pad is None:
            return True
    return True


def probe_file_size(uri: str) -> set[tuple[int, int]] | None:
    """``{(width, height)}`` of a local video file's first video stream, or None (not a file, unreadable).

    A file is opened once while it is unchanged (80 streams of one clip read its header once).
    """
    try:
        source = parse_uri(uri)
        if source.kind != "file":
            return None
        check_local(source)
        stat = os.stat(source.target)
        size = _video_size(source.target, stat.st_mtime_ns, stat.st_size)
    except Exception:  # av.FFmpegError, SourceError, OSError, IndexError: the source reports it when it runs
        return None
    return {size} if size else None


@functools.lru_cache(maxsize=64)
def _video_size(path: str, mtime_ns: int, length: int) -> tuple[int, int] | None:
    """The first video stream's size from a file header (cached per path and version of the file)."""
    import av

    with av.open(path) as container:
        context = container.streams.video[0].codec_context
        return (int(context.width), int(context.height)) if context.width and context.height else None


class _Disconnected(Exception):
    """The network stream ended or failed; reconnect."""


@register_element("urisrc")
class UriSource(Source):
    """Decode a video URI (file, rtsp://, http(s)://, /dev/videoN, image pattern, lavfi:) to RGB frames."""

    uri = Property(str, "", "What to read: file path, file://, rtsp://, http(s)://, /dev/videoN, frames/%05d.jpg, lavfi:<graph>")
    loop = Property(bool, False, "Start again at the end of a file")
    num_buffers = Property(int, -1, "Stop after this many frames (-1: no limit)", minimum=-1)
    sync = Property(bool, False, "Pace file frames at their timestamps, like a camera (files are otherwise read as fast as possible)")
    decoder = Property(str, "auto", "Decoder: cpu (PyAV), nvdec (PyNvVideoCodec), auto (nvdec when usable, else cpu)",
                       choices=("auto", "cpu", "nvdec"))
    gpu_id = Property(int, 0, "GPU used by decoder=nvdec", minimum=0)
    threads = Property(int, 0, "Decoder threads (0: FFmpeg decides)", minimum=0)
    rtsp_transport = Property(str, "tcp", "RTSP transport", choices=("tcp", "udp"))
    rtsp_listen = Property(bool, False, "Act as the RTSP server and wait for a camera / publisher to push the stream")
    timeout = Property(float, 10.0, "Seconds to wait when opening or reading a network stream", minimum=0.1)
    reconnect_interval = Property(float, 1.0, "First wait before reconnecting a network source (doubles up to reconnect-max-interval)", minimum=0.0)
    reconnect_max_interval = Property(float, 10.0, "Longest wait between reconnect attempts", minimum=0.0)
    reconnect_attempts = Property(int, -1, "Reconnect attempts before giving up (-1: forever)", minimum=-1)
    drop_frame_interval = Property(int, 0, "Output every Nth frame only (0 or 1: all)", minimum=0)
    nvdec_sessions = Property(int, 0, "With decoder=auto: most NVDEC decoders per GPU in this process; "
                              "further streams decode on the CPU and are uploaded (0: no limit)", minimum=0)

    #: NVDEC decoders open in this process, per GPU (shared by every urisrc)
    nvdec_limiter = SessionLimiter()
    #: "nvdec" or "cpu", decided at start; frames copied host -> device (CPU-decoded, uploaded)
    decoding_on = "cpu"
    host_to_device = 0
    _memory: str | None = None
    _pace_origin: float | None = None

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        self.reconnects = 0
        self.loops = 0  # times a looping file started again
        self.decode_errors = 0
        self.frames_out = 0
        self.connected = False
        #: set to hold the stream (files wait; network streams keep reading and discard frames)
        self.paused = threading.Event()
        super().__init__(name, **properties)

    def start(self) -> None:
        if not self.uri:
            raise SourceError(f"urisrc '{self.name}': property 'uri' is not set")
        self._source = parse_uri(self.uri)
        self._choose_decoder()
        if not self.properties_set_live:
            self.live = self._source.is_live

    @property
    def properties_set_live(self) -> bool:
        return "live" in self.__dict__

    # ---- decoder choice (NVDEC / CPU) ------------------------------------------------------------------
    def output_memory(self, input_memory: str | None) -> str:
        """``cuda`` with decoder=nvdec, and with auto when NVDEC is usable and downstream takes GPU frames."""
        if self._memory is None:
            self._memory, self._cpu_reason = choose_memory(self, self.decoder, self.gpu_id)
        return self._memory

    def _choose_decoder(self) -> None:
        memory = self.output_memory(None)
        self.decoding_on = "cpu"
        if self.decoder == "nvdec":
            usable, reason = nvdec_usable(self.gpu_id)
            if not usable:
                raise SourceError(f"urisrc '{self.name}': decoder=nvdec is not usable: {reason}; use decoder=cpu or auto")
            if self._source.kind not in NVDEC_KINDS:
                raise SourceError(f"urisrc '{self.name}': decoder=nvdec reads files and network streams, not "
                                  f"'{self._source.kind}' sources ('{self.uri}'); use decoder=cpu or auto")
            self.decoding_on = "nvdec"
        elif memory == "cuda":
            if self.decoder == "cpu":  # GPU frames from CPU decoding (multiurisrc's streams beyond its NVDEC sessions)
                log.debug("urisrc '%s': CPU decoding; frames are uploaded", self.name)
            elif self._source.kind not in NVDEC_KINDS:
                log.info("urisrc '%s': CPU decoding (NVDEC cannot read %s sources); frames are uploaded", self.name, self._source.kind)
            elif not self.nvdec_limiter.acquire(self.gpu_id, self.nvdec_sessions):
                log.info("urisrc '%s': CPU decoding (all %d NVDEC sessions of GPU %d in use); frames are uploaded",
                         self.name, self.nvdec_sessions, self.gpu_id)
            else:
                self.decoding_on = "nvdec"
                self._holds_session = True
        elif self.decoder == "auto":
            reason = getattr(self, "_cpu_reason", "")
            # On CPU-only installs this is the normal case: say it only when asked (-vv).
            level = logging.DEBUG if "not installed" in reason or "take CPU frames" in reason else logging.INFO
            log.log(level, "urisrc '%s': CPU decoding: %s", self.name, reason)

    def stop(self) -> None:
        if getattr(self, "_holds_session", False):
            self._holds_session = False
            self.nvdec_limiter.release(self.gpu_id)

    def frame_sizes(self) -> set[tuple[int, int]] | None:
        """A local file's frame size (read from its header); None for other sources or on any error
        (the source reports the error itself when it runs)."""
        return probe_file_size(self.uri)

    # ---- opening ---------------------------------------------------------------------------------
    def _open(self, source: SourceURI) -> Any:
        if self.decoding_on == "nvdec":
            return NvdecReader(source.target, self.gpu_id, low_latency=self.sync or source.is_live,
                               threaded=source.kind == "file")
        import av

        options = dict(source.options)
        if source.kind == "rtsp":
            options["rtsp_transport"] = self.rtsp_transport
            options.setdefault("probesize", "32768")
            options.setdefault("analyzeduration", "0")
            if self.rtsp_listen:
                # FFmpeg 8 overflows without an explicit listen_timeout (seconds).
                # Short listen windows, retried by generate(), keep stop() prompt while nobody publishes.
                options.update(rtsp_flags="listen", listen_timeout="1")
        if source.is_network:
            options["timeout"] = str(int(self.timeout * 1_000_000))
        try:
            # RTSP has its own socket timeout option; PyAV's interrupt-callback timeout stalls the
            # RTSP handshake in listen mode, so it is used for the other network protocols only.
            interrupt_timeout = (self.timeout, self.timeout) if source.is_network and source.kind != "rtsp" else None
            container = av.open(source.target, format=source.format, options=options, timeout=interrupt_timeout)
        except av.FFmpegError as exc:
            raise SourceError(f"urisrc '{self.name}': cannot open '{self.uri}': {exc}") from None
        if not container.streams.video:
            container.close()
            raise SourceError(f"urisrc '{self.name}': '{self.uri}' has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if self.threads:
            stream.codec_context.thread_count = self.threads
        return container

    # ---- frames ------------------------------------------------------------------------------------
    def generate(self) -> Iterator[Frame]:
        source = self._source
        check_local(source)
        backoff = self.reconnect_interval
        attempts = 0
        frame_num = 0
        pts_offset = 0
        opened_before = False
        while not self.should_stop:
            try:
                container = self._open(source)
            except SourceError as exc:
                if not source.is_network:
                    raise
                if self.rtsp_listen:
                    continue  # nobody is publishing yet: listen again
                attempts += 1
                backoff = self._back_off(exc, attempts, backoff)
                if backoff < 0:
                    return
                continue
            if opened_before and (source.is_live or source.is_network):  # not a file starting its next loop
                self.reconnects += 1
            opened_before = True
            self.connected = True
            last_pts = pts_offset
            produced = 0
            lost: str | None = None
            try:
                for frame in self._decode(container, pts_offset, frame_num):
                    yield frame
                    frame_num += 1
                    produced += 1
                    last_pts = frame.meta.pts
                    if 0 <= self.num_buffers <= frame_num:
                        return
            except _Disconnected as exc:
                lost = str(exc)
            finally:
                self.connected = False
                container.close()
            if produced:  # frames flowed: the connection was good, start counting afresh
                attempts, backoff = 0, self.reconnect_interval
            if lost is not None:
                attempts += 1
                backoff = self._back_off(SourceError(f"urisrc '{self.name}': stream '{self.uri}' lost ({lost})"),
                                         attempts, backoff)
                if backoff < 0:
                    return
                continue
            if source.is_live:  # a camera / RTSP stream that ended will come back: reconnect
                self.post_warning(f"urisrc '{self.name}': stream '{self.uri}' ended; reconnecting")
                if self.wait(self.reconnect_interval):
                    return
                continue
            if not self.loop or frame_num == 0:
                return
            self.loops += 1
            pts_offset = last_pts + int(1e9 / max(self._fps, 1.0))

    def _back_off(self, error: SourceError, attempts: int, backoff: float) -> float:
        """Warn and wait before the next attempt; raise after the last one. Returns the next
        back-off, or -1 when asked to stop while waiting."""
        if 0 <= self.reconnect_attempts < attempts:
            raise SourceError(f"{error} (gave up after {attempts - 1} reconnect attempts)") from None
        self.post_warning(f"{error}; retrying in {backoff:.1f}s (attempt {attempts})")
        if self.wait(backoff):
            return -1.0
        return min(max(backoff * 2, 0.1), self.reconnect_max_interval)

    def _decode(self, container: Any, pts_offset: int, first_frame_num: int) -> Iterator[Frame]:
        if isinstance(container, NvdecReader):
            yield from self._decode_nvdec(container, pts_offset, first_frame_num)
            return
        import av

        upload = self._memory == "cuda"
        if upload:
            import torch

            device = torch.device("cuda", self.gpu_id)
            copy_stream = torch.cuda.Stream(device=device)
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        self._fps = float(rate) if rate else 30.0
        time_base = float(stream.time_base) if stream.time_base else 1.0 / self._fps
        interval = max(self.drop_frame_interval, 1)
        index = 0
        frame_num = first_frame_num
        started = time.monotonic()
        first_pts: int | None = None
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as exc:
                if self._source.is_network:
                    raise _Disconnected(str(exc)) from None
                raise SourceError(f"urisrc '{self.name}': cannot read '{self.uri}': {exc}") from None
            try:
                decoded = packet.decode()
            except av.FFmpegError as exc:
                self.decode_errors += 1
                if self.decode_errors in (1, 10, 100, 1000):
                    self.post_warning(f"urisrc '{self.name}': corrupt data in '{self.uri}' ({exc}); {self.decode_errors} packets skipped")
                continue
            for av_frame in decoded:
                index += 1
                if (index - 1) % interval:
                    continue
                pts = av_frame.pts if av_frame.pts is not None else index - 1
                pts_ns = int(pts * time_base * 1e9) if av_frame.pts is not None else int((index - 1) * 1e9 / self._fps)
                if first_pts is None:
                    first_pts = pts_ns
                if self.paused.is_set():
                    if self._source.is_network:
                        continue  # keep the connection alive; a live stream cannot be held
                    held = time.monotonic()
                    while self.paused.is_set():
                        if self.wait(0.05):
                            return
                    started += time.monotonic() - held  # paced files resume where they were
                if self.sync:
                    due = started + (pts_ns - first_pts) / 1e9
                    delay = due - time.monotonic()
                    if delay > 0 and self.wait(delay):
                        return
                if upload:
                    image = upload_nv12(av_frame, device, copy_stream)
                    self.host_to_device += 1
                else:
                    image = av_frame.to_ndarray(format="rgb24")
                frame = Frame.from_image(
                    image, source_id=0, frame_num=frame_num, pts=pts_offset + pts_ns - (first_pts or 0),
                    fps=self._fps / interval, source_name=self.name, memory="cuda" if upload else "cpu",
                )
                frame_num += 1
                self.frames_out += 1
                yield frame

    def _decode_nvdec(self, reader: NvdecReader, pts_offset: int, first_frame_num: int) -> Iterator[Frame]:
        self._fps = reader.fps
        interval = max(self.drop_frame_interval, 1)
        # One clock for the whole stream: the time spent re-opening a looped file is caught up,
        # not lost (a camera does not pause while a decoder restarts).
        if first_frame_num == 0 or self._pace_origin is None:
            self._pace_origin = time.monotonic() - pts_offset / 1e9
        frame_num = first_frame_num
        while True:
            last_pts: int | None = None
            for index, decoded in enumerate(reader.frames()):
                if index % interval:
                    continue
                if self.sync:
                    delay = self._pace_origin + (pts_offset + decoded.pts_ns) / 1e9 - time.monotonic()
                    if delay > 0 and self.wait(delay):
                        return
                if self.should_stop:
                    return
                last_pts = pts_offset + decoded.pts_ns
                frame = Frame.from_image(decoded.image, source_id=0, frame_num=frame_num, pts=last_pts,
                                         fps=self._fps / interval, source_name=self.name, memory="cuda")
                frame_num += 1
                self.frames_out += 1
                yield frame
            # a looping file starts again on the same decoder when the reader can (only threaded file readers
            # can; generate() re-opens otherwise, and reconnects live streams)
            if not self.loop or last_pts is None or not reader.rewind():
                return
            self.loops += 1
            pts_offset = last_pts + int(1e9 / max(self._fps, 1.0))

    _fps = 30.0
