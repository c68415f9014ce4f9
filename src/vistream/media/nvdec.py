"""NVDEC decoding through PyNvVideoCodec: frames stay on the GPU as NV12 ``torch`` tensors.

``urisrc decoder=nvdec`` (or ``auto`` on a machine with an NVIDIA GPU) uses :class:`NvdecReader`.
Each decoded surface is handed to torch through DLPack and copied once, on the GPU, into a tensor
the frame owns (the decoder reuses its surfaces, so a frame that waits in a queue must not alias
one). PyNvVideoCodec and torch are imported lazily: this module is imported by the element
registry on machines without either.

Example:
    >>> from vistream.media.nvdec import nvdec_usable
    >>> usable, reason = nvdec_usable(0)
    >>> isinstance(usable, bool) and isinstance(reason, str)
    True
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vistream.core.errors import SourceError

#: URI kinds PyNvVideoCodec's demuxer (FFmpeg inside) can open
NVDEC_KINDS = ("file", "rtsp", "http", "network")

#: held while a decoder is made or torn down: one at a time in the process. On an H100, workers
#: aborted with glibc heap corruption inside CreateThreadedDecoder and at decoder-thread exit while
#: looping streams re-created their decoders from many threads at once.
LIFECYCLE_LOCK = threading.Lock()


def nvdec_usable(gpu_id: int = 0) -> tuple[bool, str]:
    """Whether NVDEC can be used on ``gpu_id``; when not, the reason (for logs and errors)."""
    # Look before importing: on CPU-only installs this keeps decoder=auto from importing torch
    # (seconds and hundreds of MB) just to learn that NVDEC is absent.
    if importlib.util.find_spec("PyNvVideoCodec") is None:
        return False, "PyNvVideoCodec is not installed (pip install 'vistream[cuda]')"
    try:
        import torch
    except ImportError:
        return False, "torch is not installed (pip install 'vistream[cuda]')"
    try:
        import PyNvVideoCodec  # noqa: F401
    except ImportError:
        return False, "PyNvVideoCodec is not installed (pip install 'vistream[cuda]')"
    except Exception as exc:  # its native library fails to load without a driver
        return False, f"PyNvVideoCodec does not load ({exc})"
    if not torch.cuda.is_available():
        return False, "no CUDA device is visible to torch"
    if gpu_id >= torch.cuda.device_count():
        return False, f"gpu-id {gpu_id} does not exist (this machine has {torch.cuda.device_count()} GPUs)"
    return True, ""


class SessionLimiter:
    """Counts the NVDEC decoders open per GPU so ``decoder=auto`` can send the rest to the CPU.

    One instance lives on the ``urisrc`` class: every source of a process shares the NVDEC engines.

    Example:
        >>> limiter = SessionLimiter()
        >>> limiter.acquire(0, limit=1), limiter.acquire(0, limit=1)
        (True, False)
        >>> limiter.release(0); limiter.acquire(0, limit=1)
        True
    """

    def __init__(self) -> None:
        self._open: dict[int, int] = {}
        self._lock = threading.Lock()

    def acquire(self, gpu_id: int, limit: int = 0) -> bool:
        """Take a decoder slot on ``gpu_id`` (``limit`` 0: no limit); False when all are taken."""
        with self._lock:
            count = self._open.get(gpu_id, 0)
            if limit and count >= limit:
                return False
            self._open[gpu_id] = count + 1
            return True

    def release(self, gpu_id: int) -> None:
        with self._lock:
            self._open[gpu_id] = max(0, self._open.get(gpu_id, 0) - 1)

    def open_count(self, gpu_id: int) -> int:
        with self._lock:
            return self._open.get(gpu_id, 0)


def primary_context(gpu_id: int) -> int:
    """Handle of the device's primary CUDA context (the one torch uses), through the driver API."""
    import ctypes

    import torch

    torch.cuda.init()
    driver = ctypes.CDLL("libcuda.so.1")
    context = ctypes.c_void_p()
    if driver.cuDevicePrimaryCtxRetain(ctypes.byref(context), ctypes.c_int(gpu_id)) != 0 or not context.value:
        raise RuntimeError(f"cannot retain the primary CUDA context of GPU {gpu_id}")
    return int(context.value)


@dataclass
class DecodedFrame:
    """One NV12 frame on the GPU: ``image`` is a uint8 tensor [H*3/2, W]; ``pts_ns`` from the stream."""

    image: Any
    pts_ns: int


class NvdecReader:
    """Demux a file or network stream with PyNvVideoCodec and decode it on NVDEC.

    Args:
        target: File path or URL (what FFmpeg opens).
        gpu_id: CUDA device of the decoder and of the output tensors.
        low_latency: Output each frame as soon as it is decoded (live streams).
        threaded: Demux and decode in PyNvVideoCodec's own thread (files): no Python per packet.

    Example:
        >>> reader = NvdecReader("clip.mp4", gpu_id=0)  # doctest: +SKIP
        >>> frame = next(iter(reader.frames())); frame.image.shape  # doctest: +SKIP
        torch.Size([1620, 1920])
    """

    def __init__(self, target: str, gpu_id: int = 0, low_latency: bool = False, threaded: bool = False) -> None:
        import PyNvVideoCodec as nvc
        import torch

        self.target = target
        self._threaded = None
        self._surfaces: list[Any] = []
        self.gpu_id = gpu_id
        self.device = torch.device("cuda", gpu_id)
        self._stream = torch.cuda.Stream(device=self.device)
        try:
            with LIFECYCLE_LOCK:
                self._open(nvc, target, gpu_id, low_latency, threaded)
        except Exception as exc:  # PyNvVideoCodec raises its own types for every failure
            raise SourceError(f"NVDEC cannot open '{target}': {exc}") from None
        self._nvc = nvc
        self._low_latency = low_latency and hasattr(nvc, "VideoPacketFlag")
        self.width = int(self._demuxer.Width())
        self.height = int(self._demuxer.Height())
        rate = float(self._demuxer.FrameRate() or 0.0)
        self.fps = rate if rate > 0 else 30.0

    def _open(self, nvc: Any, target: str, gpu_id: int, low_latency: bool, threaded: bool) -> None:
        """Make the demuxer and the decoder (threaded: PyNvVideoCodec demuxes and decodes in its own thread)."""
        self._demuxer = nvc.CreateDemuxer(filename=target)
        options: dict[str, Any] = {"gpuid": gpu_id, "codec": self._demuxer.GetNvCodecId(),
                                   "usedevicememory": True}
        if low_latency and hasattr(nvc, "DisplayDecodeLatencyType"):
            options["latency"] = nvc.DisplayDecodeLatencyType.LOW
        # torch's context and a stream of ours: the decoder's copies then never touch the legacy
        # default stream, which would serialise with (and break CUDA graph captures in) other threads
        context = primary_context(gpu_id)
        if threaded and hasattr(nvc, "CreateThreadedDecoder"):
            # demuxing and decoding in PyNvVideoCodec's own thread: no Python (and no GIL) per packet
            self._threaded = nvc.CreateThreadedDecoder(target, 8, gpu_id, context, self._stream.cuda_stream, True,
                                                       0, 0, 0, 4, nvc.OutputColorType.NATIVE, 0, False)
            self._decoder = None
        else:
            try:
                self._decoder = nvc.CreateDecoder(cudacontext=context, cudastream=self._stream.cuda_stream, **options)
            except Exception:
                self._decoder = nvc.CreateDecoder(**options)

    def _threaded_frames(self) -> Iterator[DecodedFrame]:
        import torch

        # This generator runs in the source's own thread: make our stream that thread's current one
        # once, and hand PyNvVideoCodec the stream pointer directly (torch.from_dlpack on the surface
        # itself looks the current stream up again for every frame, a cost paid under the GIL).
        torch.cuda.set_device(self.device)
        torch.cuda.set_stream(self._stream)
        stream_ptr = self._stream.cuda_stream
        index = 0
        while True:
            views = self.read_views(4, stream_ptr)
            if not views:
                return
            owned = copy_frames(views)
            self._stream.synchronize()  # releases the GIL while the copy runs
            for image in owned:
                yield DecodedFrame(image, int(index * 1e9 / self.fps))
                index += 1

    def read_views(self, count: int, stream_ptr: int) -> list[Any]:
        """Up to ``count`` next frames (threaded decoder) as torch views of the decoder's surfaces,
        ordered before the CUDA stream ``stream_ptr``; [] at the end of the stream.

        The views alias surfaces the decoder reuses: copy them (:func:`copy_frames`) before the next call.
        """
        try:
            batch = self._threaded.get_batch_frames(count)
        except Exception as exc:
            raise SourceError(f"NVDEC failed on '{self.target}': {exc}") from None
        # The surface objects stay referenced until the next read: the views alias their memory,
        # which freeing them may unmap while a copy still reads it.
        self._surfaces = batch
        return [_surface_tensor(surface, stream_ptr) for surface in batch]

    def rewind(self) -> bool:
        """Start a file again at its first frame, keeping the decoder; False when this reader cannot
        (it is not a threaded file reader), and the caller opens a new one.

        PyNvVideoCodec's ``reconfigure_decoder`` reuses the decoder from its cache: a looping stream
        does not pay for a new decoder (~0.2 s each, one at a time per process) at every loop.
        """
        if self._threaded is None or not hasattr(self._threaded, "reconfigure_decoder"):
            return False
        self._surfaces = []
        try:
            with LIFECYCLE_LOCK:
                self._threaded.reconfigure_decoder(self.target, 0)
        except Exception as exc:
            raise SourceError(f"NVDEC cannot start '{self.target}' again: {exc}") from None
        return True

    def frames(self) -> Iterator[DecodedFrame]:
        """Decode to the end; each frame's tensor is complete (its copy synchronised) when yielded."""
        import torch

        if self._threaded is not None:
            yield from self._threaded_frames()
            return
        index = 0
        for packet in self._demuxer:
            if self._low_latency:
                packet.decode_flag = self._nvc.VideoPacketFlag.ENDOFPICTURE
            try:
                decoded = self._decoder.Decode(packet)
            except Exception as exc:
                raise SourceError(f"NVDEC failed on '{self.target}': {exc}") from None
            if not decoded:
                continue
            owned = []
            with torch.cuda.device(self.device), torch.cuda.stream(self._stream):
                for surface in decoded:
                    owned.append(torch.from_dlpack(surface).clone())
            self._stream.synchronize()  # releases the GIL while the copies run
            for image in owned:
                yield DecodedFrame(image, int(index * 1e9 / self.fps))
                index += 1

    def close(self) -> None:
        self._surfaces = []
        with LIFECYCLE_LOCK:  # the decoders are torn down (their destructors run) inside the lock
            if self._threaded is not None:
                self._threaded.end()
            self._threaded = None
            self._decoder = None
            self._demuxer = None


def copy_frames(views: list[Any]) -> tuple[Any, ...]:
    """Owned copies of frame views on the current CUDA stream: one copy kernel per frame size
    (the frames returned are views of one tensor per size), in the order given."""
    import torch

    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, view in enumerate(views):
        by_shape.setdefault(tuple(view.shape), []).append(index)
    owned: list[Any] = [None] * len(views)
    for indices in by_shape.values():
        for index, image in zip(indices, torch.stack([views[i] for i in indices]).unbind(0), strict=True):
            owned[index] = image
    return tuple(owned)


def _surface_tensor(surface: Any, stream_ptr: int) -> Any:
    """A torch view of a decoded surface, its producer ordered before ``stream_ptr``."""
    import torch

    try:
        return torch.from_dlpack(surface.__dlpack__(stream=stream_ptr))
    except TypeError:  # a producer whose __dlpack__ takes no stream: torch asks it the standard way
        return torch.from_dlpack(surface)


def upload_nv12(av_frame: Any, device: Any, stream: Any = None) -> Any:
    """Convert a PyAV frame to NV12 on the CPU and copy it to ``device`` (one host->device copy).

    NV12 is half the bytes of RGB, and the GPU pre-processing reads NV12 from NVDEC anyway, so
    CPU-decoded and NVDEC-decoded streams look the same downstream.
    """
    import torch

    nv12 = av_frame.to_ndarray(format="nv12")
    host = torch.from_numpy(nv12)
    if stream is None:
        return host.to(device)
    with torch.cuda.stream(stream):
        out = host.to(device, non_blocking=False)
    stream.synchronize()
    return out
