"""``multiurisrc``: many URIs decoded and batched by one element (DeepStream's nvmultiurisrcbin).

Each stream runs as a ``urisrc`` in a helper thread; the element batches (and with ``sync``
paces) their frames and pushes full batches, like ``urisrc ! streammux``, in one element.
With ``direct-nvdec=true`` the NVDEC file streams are instead read from the element's own thread
(PyNvVideoCodec decodes in threads of its own), the frames of a whole round copied out of the
decoders' surfaces in one kernel per frame size: dozens of per-stream threads then no longer hand
the GIL to each other. That mode is experimental: on an H100 it gave the best throughput measured
(3,174 frames/s over 3 processes, once) but PyNvVideoCodec crashed in it (a segmentation fault
inside ``get_batch_frames``) with 25-40 streams in a process.

``source_id`` is a stream's index in ``uri-list``; each stream ends with its own StreamEOS, and a
stream that fails is reported and ended without stopping the others. Sources are fixed for the
run; use ``urisrc ! streammux`` (or the service) to add and remove sources while it runs.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch(
    ...     "multiurisrc uri-list=lavfi:testsrc2=size=64x48:rate=10:duration=0.3,"
    ...     "lavfi:testsrc2=size=32x24:rate=10:duration=0.3 ! appsink name=out")
    >>> _ = p.run(timeout=20)
    >>> sorted((f.source_id, f.width) for b in p["out"].batches for f in b.frames)
    [(0, 64), (0, 64), (0, 64), (1, 32), (1, 32), (1, 32)]
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from vistream.core.buffer import Batch, Frame
from vistream.core.element import Source
from vistream.core.errors import SourceError
from vistream.core.events import StreamAdded, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.media.nvdec import NvdecReader, copy_frames, nvdec_usable
from vistream.media.uri import check_local, parse_uri
from vistream.media.urisrc import UriSource, choose_memory, probe_file_size

log = logging.getLogger("vistream.multiurisrc")

#: frames read from one NVDEC decoder at a time
READ_AHEAD = 4


def _copy_stream(gpu_id: int) -> Any:
    """A CUDA stream of the element's thread (made current there) for the copies out of NVDEC surfaces."""
    import torch

    torch.cuda.set_device(gpu_id)
    stream = torch.cuda.Stream(device=torch.device("cuda", gpu_id))
    torch.cuda.set_stream(stream)
    return stream


class _Stream:
    """One stream of the element: frames decoded but not yet sent (``ready``: image, pts in ns)."""

    def __init__(self, index: int, uri: str, name: str) -> None:
        self.index, self.uri, self.name = index, uri, name
        self.ready: deque[tuple[Any, int]] = deque()
        self.fps = 30.0
        self.frame_num = 0
        self.origin: float | None = None  # pacing clock: monotonic time of pts 0
        self.exhausted = False  # no more frames will come (end of stream, or failed)

    def due(self, pts_ns: int, now: float) -> float:
        """Seconds until a frame with ``pts_ns`` is due (paced streams); the clock starts at the first frame."""
        if self.origin is None:
            self.origin = now - pts_ns / 1e9
        return self.origin + pts_ns / 1e9 - now

    @property
    def on_nvdec(self) -> bool:
        """Whether the stream holds an NVDEC decoder (counted against ``nvdec-sessions``)."""
        return False

    def close(self) -> None:
        """Release the decoder (or stop the helper thread)."""


class _NvdecFile(_Stream):
    """A file decoded by PyNvVideoCodec's threaded decoder, read from the element's thread."""

    on_nvdec = True

    def __init__(self, index: int, uri: str, name: str, gpu_id: int, loop: bool) -> None:
        super().__init__(index, uri, name)
        self.source = parse_uri(uri)
        check_local(self.source)
        self.gpu_id, self.loop = gpu_id, loop
        self.reader = NvdecReader(self.source.target, gpu_id, threaded=True)
        self.fps = self.reader.fps
        self.read_count = 0  # frames read from the file, loops included (the pts clock)

    def read(self, stream_ptr: int) -> list[Any]:
        """The next views of decoded surfaces ([] at the end; a looping file starts again)."""
        views = self.reader.read_views(READ_AHEAD, stream_ptr)
        if not views and self.loop and self.read_count:
            if not self.reader.rewind():  # the same decoder when it can, else a new one
                self.reader.close()
                self.reader = NvdecReader(self.source.target, self.gpu_id, threaded=True)
            views = self.reader.read_views(READ_AHEAD, stream_ptr)
        return views

    def close(self) -> None:
        self.reader.close()


class _Helper(_Stream):
    """Any other stream: a ``urisrc`` running in a helper thread, its frames passed through a small queue."""

    def __init__(self, index: int, uri: str, name: str, child: UriSource, stop: threading.Event) -> None:
        super().__init__(index, uri, name)
        self.child = child
        self.frames: queue.Queue[Frame | BaseException | None] = queue.Queue(maxsize=8)
        self.stop = stop
        self.thread = threading.Thread(target=self._run, name=f"vistream:{name}", daemon=True)

    @property
    def on_nvdec(self) -> bool:
        return self.child.decoding_on == "nvdec"

    def _run(self) -> None:
        end: BaseException | None = None
        try:
            for frame in self.child.generate():
                if not self._put(frame):
                    return
        except Exception as exc:  # reported by the element's thread, which ends this stream
            end = exc
        finally:
            self._put(end)
            self.child.stop()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


class _ChildRunner:
    """What a helper ``urisrc`` asks its runner: whether to stop, and an event to wait on."""

    def __init__(self, stop_event: threading.Event) -> None:
        self.stop_event = stop_event

    def should_abort(self) -> bool:
        return self.stop_event.is_set()


@register_element("multiurisrc")
class MultiUriSource(Source):
    """Decode and batch many URIs in one element (nvmultiurisrcbin: sources + streammux)."""

    uri_list = Property("str-list", [], "The streams, comma-separated (source_id = position in the list)")
    batch_size = Property(int, 0, "Frames per batch (0: the number of streams)", minimum=0)
    batched_push_timeout = Property(int, -1, "Microseconds to wait for a full batch after its first frame "
                                    "(-1: one frame interval of the fastest stream)", minimum=-1)
    sync = Property(bool, False, "Pace file frames at their timestamps, like cameras")
    loop = Property(bool, False, "Start each file again at its end")
    decoder = Property(str, "auto", "Decoder: cpu (PyAV), nvdec (PyNvVideoCodec), auto (nvdec when usable, else cpu)",
                       choices=("auto", "cpu", "nvdec"))
    gpu_id = Property(int, 0, "GPU used by NVDEC", minimum=0)
    nvdec_sessions = Property(int, 0, "Most NVDEC decoders of this element; further streams decode on the CPU "
                              "(0: no limit)", minimum=0)
    drop_frame_interval = Property(int, 0, "Output every Nth frame of each stream only (0 or 1: all)", minimum=0)
    rtsp_transport = Property(str, "tcp", "RTSP transport of network streams", choices=("tcp", "udp"))
    timeout = Property(float, 10.0, "Seconds to wait when opening or reading a network stream", minimum=0.1)
    reconnect_interval = Property(float, 1.0, "First wait before reconnecting a network stream (doubles up to 10 s)",
                                  minimum=0.0)
    reconnect_attempts = Property(int, -1, "Reconnect attempts before a network stream is given up (-1: forever)",
                                  minimum=-1)
    direct_nvdec = Property(bool, False, "Read NVDEC file streams from this element's own thread, copying a round "
                            "of frames at once (fewer GIL hand-offs; experimental: PyNvVideoCodec has crashed in "
                            "this mode with 25+ streams in a process); otherwise each runs in a helper urisrc thread")

    _memory: str | None = None

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.streams: list[_Stream] = []
        self.frames_out = 0

    @property
    def host_to_device(self) -> int:
        """Frames decoded on the CPU and uploaded to the GPU, over all streams."""
        return sum(s.child.host_to_device for s in self.streams if isinstance(s, _Helper))

    # ---- set-up ------------------------------------------------------------------------------------
    def output_memory(self, input_memory: str | None) -> str:
        if self._memory is None:
            self._memory, reason = choose_memory(self, self.decoder, self.gpu_id)
            if self._memory == "cpu" and self.decoder == "auto" and reason:
                log.debug("multiurisrc '%s': CPU decoding: %s", self.name, reason)
        return self._memory

    def start(self) -> None:
        if not self.uri_list:
            raise SourceError(f"multiurisrc '{self.name}': property 'uri-list' is empty; give comma-separated URIs")
        for uri in self.uri_list:
            parse_uri(uri)  # an unsupported scheme fails here, naming the URI
        if self.decoder == "nvdec":
            usable, reason = nvdec_usable(self.gpu_id)
            if not usable:
                raise SourceError(f"multiurisrc '{self.name}': decoder=nvdec is not usable: {reason}; "
                                  "use decoder=cpu or auto")
        self.output_memory(None)
        self._stop = threading.Event()
        self.streams = []

    def stop(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
        for stream in self.streams:
            if isinstance(stream, _Helper):
                stream.thread.join(timeout=5)
            else:
                stream.close()
        self.streams = []

    def frame_sizes(self) -> set[tuple[int, int]] | None:
        """The frame sizes of the local files in ``uri-list`` (None when none can be read)."""
        sizes: set[tuple[int, int]] = set()
        for uri in dict.fromkeys(self.uri_list):  # each distinct URI once
            sizes |= probe_file_size(uri) or set()
        return sizes or None

    def _open(self, index: int, uri: str, nvdec_open: int) -> _Stream:
        """The stream's reader: NVDEC files in this thread while sessions last, the rest in helper threads."""
        name = f"{self.name}_{index}"
        kind = parse_uri(uri).kind
        sessions_left = not self.nvdec_sessions or nvdec_open < self.nvdec_sessions
        nvdec_file = self._memory == "cuda" and kind == "file" and self.decoder != "cpu" and sessions_left
        if nvdec_file and self.direct_nvdec:
            direct = _NvdecFile(index, uri, name, self.gpu_id, self.loop)
            direct.fps = direct.reader.fps / max(self.drop_frame_interval, 1)  # the rate frames go out at
            return direct
        # files beyond the NVDEC sessions decode on the CPU (uploaded when frames live on the GPU);
        # network streams and cameras choose as a urisrc does
        decoder = "nvdec" if nvdec_file else "cpu" if kind == "file" or self.decoder == "cpu" else self.decoder
        child = UriSource(name, uri=uri, loop=self.loop, decoder=decoder, gpu_id=self.gpu_id,
                          drop_frame_interval=self.drop_frame_interval, rtsp_transport=self.rtsp_transport,
                          timeout=self.timeout, reconnect_interval=self.reconnect_interval,
                          reconnect_attempts=self.reconnect_attempts)
        child._memory = self._memory
        child.pipeline = self.pipeline  # its warnings (reconnects, corrupt data) go on the bus
        child._runner = _ChildRunner(self._stop)  # type: ignore[attr-defined]
        child.start()
        stream = _Helper(index, uri, name, child, self._stop)
        stream.thread.start()
        return stream

    # ---- frames ------------------------------------------------------------------------------------
    def generate(self) -> Iterator[Batch]:
        for index, uri in enumerate(self.uri_list):
            try:
                nvdec_open = sum(s.on_nvdec for s in self.streams)
                self.streams.append(self._open(index, uri, nvdec_open))
            except SourceError as exc:  # this stream only: the others run
                self.post_error(f"multiurisrc '{self.name}': stream {index} ('{uri}'): {exc}", source_id=index, error=exc)
                self.push_event(StreamEOS(index))
                continue
            self.push_event(StreamAdded(index, f"{self.name}_{index}", uri))
        if not self.streams:
            raise SourceError(f"multiurisrc '{self.name}': none of the {len(self.uri_list)} streams could be opened")
        yield from self._batches()

    def _batches(self) -> Iterator[Batch]:
        batch_size = self.batch_size or len(self.streams)
        timeout = (self.batched_push_timeout / 1e6 if self.batched_push_timeout >= 0
                   else 1.0 / max(s.fps for s in self.streams))
        copy_stream = _copy_stream(self.gpu_id) if any(isinstance(s, _NvdecFile) for s in self.streams) else None
        pending: list[Frame] = []
        first_at = 0.0
        turn = 0
        while self.streams and not self.should_stop:
            live = list(self.streams)
            self._decode_round(live, turn, batch_size, copy_stream)
            turn += 1
            now = time.monotonic()
            taken, wake = self._take_due(live, now)
            for frame in taken:
                if not pending:
                    first_at = now
                pending.append(frame)
                if len(pending) >= batch_size:
                    yield Batch(pending)
                    pending = []
            finished = [s for s in live if s.exhausted and not s.ready]
            if pending and (now - first_at >= timeout or finished):  # a stream's frames go before its StreamEOS
                yield Batch(pending)
                pending = []
            for stream in finished:
                stream.close()
                self.streams.remove(stream)
                self.push_event(StreamEOS(stream.index))
            if not taken:
                deadline = first_at + timeout - now if pending else 0.002
                if self.wait(max(0.0005, min(wake, deadline, 0.002))):
                    break
        if pending:
            yield Batch(pending)

    def _decode_round(self, live: list[_Stream], turn: int, batch_size: int, copy_stream: Any) -> None:
        """Refill the streams that have no frame waiting: NVDEC reads (copied in one go), helper queues."""
        views: list[Any] = []
        owners: list[_NvdecFile] = []
        wanted = max(batch_size, READ_AHEAD)
        count = len(live)
        for offset in range(count):  # a different first stream each round: no stream is always last
            stream = live[(turn + offset) % count]
            if stream.ready or stream.exhausted:
                continue
            if isinstance(stream, _NvdecFile):
                if len(views) >= wanted:
                    continue
                try:
                    got = stream.read(copy_stream.cuda_stream if copy_stream is not None else 0)
                except SourceError as exc:
                    self._fail(stream, exc)
                    continue
                if not got:
                    stream.exhausted = True
                views.extend(got)
                owners.extend([stream] * len(got))
            else:
                self._drain(stream)
        if views:
            copies = copy_frames(views)
            if copy_stream is not None:
                copy_stream.synchronize()  # releases the GIL while the copies run
            interval = max(self.drop_frame_interval, 1)
            for stream, image in zip(owners, copies, strict=True):
                if stream.read_count % interval == 0:
                    stream.ready.append((image, int(stream.read_count * 1e9 / stream.reader.fps)))
                stream.read_count += 1

    def _drain(self, stream: _Helper) -> None:
        while True:
            try:
                item = stream.frames.get_nowait()
            except queue.Empty:
                return
            if item is None:
                stream.exhausted = True
                return
            if isinstance(item, BaseException):
                self._fail(stream, item)
                return
            stream.fps = item.fps or stream.fps
            stream.ready.append((item.image, item.meta.pts))

    def _take_due(self, live: list[_Stream], now: float) -> tuple[list[Frame], float]:
        """Frames whose time has come (all of them unpaced), one stream after the other in turn so
        that a batch mixes streams, and seconds until the next paced frame is due."""
        taken: list[Frame] = []
        wake = 1.0
        memory = self._memory or "cpu"
        waiting = [s for s in live if s.ready]
        while waiting:
            still = []
            for stream in waiting:
                image, pts = stream.ready[0]
                if self.sync:
                    delay = stream.due(pts, now)
                    if delay > 0:
                        wake = min(wake, delay)
                        continue
                stream.ready.popleft()
                taken.append(Frame.from_image(image, source_id=stream.index, frame_num=stream.frame_num, pts=pts,
                                              fps=stream.fps, source_name=stream.name, memory=memory))
                stream.frame_num += 1
                if stream.ready:
                    still.append(stream)
            waiting = still
        self.frames_out += len(taken)
        return taken, wake

    def _fail(self, stream: _Stream, error: BaseException) -> None:
        self.post_error(f"multiurisrc '{self.name}': stream {stream.index} ('{stream.uri}') failed: {error}",
                        source_id=stream.index, error=error)
        stream.ready.clear()
        stream.exhausted = True
