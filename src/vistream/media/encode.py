"""Video encoding with PyAV: a plain :class:`VideoEncoder` and the ``encode`` element.

``encode`` turns frames into compressed packets per source and attaches them to each frame as
``frame.extra["packets"]`` (with ``frame.extra["encoder"]``), for ``filesink``, ``rtspsink`` or
``recorder`` to mux.

Example:
    >>> import numpy as np
    >>> from vistream.media.encode import VideoEncoder
    >>> enc = VideoEncoder(64, 48, fps=10, codec="h264")
    >>> packets = [p for _ in range(12) for p in enc.encode(np.zeros((48, 64, 3), np.uint8))]
    >>> packets += enc.flush()
    >>> len(packets), packets[0].is_keyframe
    (12, True)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np

from vistream.core.buffer import Batch, Frame
from vistream.core.element import ANY_SINK, SRC, Element, Pad
from vistream.core.errors import ConfigError
from vistream.core.events import EOS, Event, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element

CODECS = {"h264": ("libx264", "h264_nvenc"), "h265": ("libx265", "hevc_nvenc")}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")


def available_encoder(codec: str, hardware: str = "auto") -> str:
    """FFmpeg encoder name for ``codec`` ("h264" / "h265"); NVENC only when it opens."""
    if codec not in CODECS:
        raise ConfigError(f"unknown codec '{codec}'; valid: {', '.join(CODECS)}")
    software, nvenc = CODECS[codec]
    if hardware in ("auto", "nvenc"):
        try:
            context = av.CodecContext.create(nvenc, "w")
            context.width, context.height, context.pix_fmt = 256, 256, "yuv420p"
            context.time_base = Fraction(1, 30)
            context.open()
            return nvenc
        except Exception:
            if hardware == "nvenc":
                raise ConfigError(f"NVENC encoder '{nvenc}' is not usable on this machine; use hardware=cpu") from None
    return software


class VideoEncoder:
    """Encode RGB frames to H.264 / H.265 packets with PyAV (libx264 / libx265 / NVENC).

    Keyframes come exactly every ``gop`` frames (no scene-cut keyframes) or on
    :meth:`request_keyframe`. Packets are Annex-B with parameter sets in-band (``repeat-headers``), so they can be muxed to
    MP4 / MKV / MPEG-TS or sent over RTSP unchanged.
    """

    def __init__(self, width: int, height: int, fps: float = 30.0, codec: str = "h264",
                 bitrate: int = 0, preset: str = "veryfast", gop: int = 0, zerolatency: bool = False,
                 crf: int = 23, hardware: str = "cpu") -> None:
        self.name = available_encoder(codec, hardware)
        self.codec = codec
        self.fps = fps
        # libx264 needs even sizes for yuv420p.
        self.width, self.height = width - width % 2, height - height % 2
        self.context = av.CodecContext.create(self.name, "w")
        self.context.width = self.width
        self.context.height = self.height
        self.context.pix_fmt = "yuv420p"
        self.time_base = Fraction(1, 90_000)
        self.context.time_base = self.time_base
        self.context.framerate = Fraction(fps).limit_denominator(1001)
        self.context.gop_size = gop or max(1, round(fps * 2))
        options: dict[str, str] = {}
        if self.name.startswith("lib"):
            options["preset"] = preset
            if zerolatency:
                options["tune"] = "zerolatency"
            if not bitrate:
                options["crf"] = str(crf)
            # scenecut=0: keyframes exactly every ``gop`` frames (recorder windows, RTSP joins rely on it)
            params = "repeat-headers=1:scenecut=0"
            if self.name == "libx265":
                params += ":log-level=error"
            options["x264-params" if self.name == "libx264" else "x265-params"] = params
            if self.name == "libx264":
                options["bf"] = "0"
        if bitrate:
            self.context.bit_rate = bitrate
        self.context.options = options
        self.context.open()
        self.frames_in = 0
        self._force_keyframe = False

    def request_keyframe(self) -> None:
        """Make the next encoded frame a keyframe (e.g. when an RTSP client joins)."""
        self._force_keyframe = True

    def encode(self, image: np.ndarray, pts_ns: int | None = None) -> list[av.Packet]:
        """Encode one RGB frame; returns the packets ready so far."""
        if image.shape[0] != self.height or image.shape[1] != self.width:
            image = image[: self.height, : self.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        if pts_ns is None:
            pts_ns = int(self.frames_in * 1e9 / self.fps)
        frame.pts = (int(pts_ns) * 9 + 50_000) // 100_000  # nearest 90 kHz tick
        frame.time_base = self.time_base
        if self._force_keyframe:
            frame.pict_type = av.video.frame.PictureType.I
            self._force_keyframe = False
        self.frames_in += 1
        return list(self.context.encode(frame))

    def flush(self) -> list[av.Packet]:
        """Drain the encoder at end of stream."""
        return list(self.context.encode(None))


def clone_packet(packet: av.Packet) -> av.Packet:
    """An independent copy of a packet (muxers rescale timestamps in place; frames may be shared)."""
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return copy


@register_element("encode")
class Encode(Element):
    """Encode each source's frames to H.264 / H.265 packets (libx264 / libx265, NVENC where present)."""

    pad_templates = (ANY_SINK, SRC)

    codec = Property(str, "h264", "Codec", choices=tuple(CODECS))
    bitrate = Property(int, 0, "Target bits per second (0: constant quality, see crf)", minimum=0)
    crf = Property(int, 23, "Constant-quality factor when bitrate is 0 (lower: better)", minimum=0, maximum=51)
    preset = Property(str, "veryfast", "Speed / quality trade-off of the software encoder", choices=PRESETS)
    gop = Property(int, 0, "Frames between keyframes (0: two seconds)", minimum=0)
    zerolatency = Property(bool, False, "Tune for low latency (no look-ahead)")
    hardware = Property(str, "cpu", "Encoder hardware: cpu, nvenc, or auto (nvenc when it opens)",
                        choices=("cpu", "nvenc", "auto"))

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.encoders: dict[int, VideoEncoder] = {}

    def encoder_for(self, frame: Frame) -> VideoEncoder:
        encoder = self.encoders.get(frame.source_id)
        if encoder is None:
            encoder = VideoEncoder(frame.width, frame.height, fps=frame.fps or 30.0, codec=self.codec,
                                   bitrate=self.bitrate, preset=self.preset, gop=self.gop,
                                   zerolatency=self.zerolatency, crf=self.crf, hardware=self.hardware)
            self.encoders[frame.source_id] = encoder
        return encoder

    def process(self, batch: Batch) -> Batch:
        for frame in batch.frames:
            image = frame.image if frame.memory == "cpu" else frame.image.cpu().numpy()
            encoder = self.encoder_for(frame)
            frame.extra["encoder"] = encoder
            frame.extra["packets"] = encoder.encode(image, frame.pts)
        return batch

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            self._drain(event.source_id)
        elif isinstance(event, EOS):
            for source_id in list(self.encoders):
                self._drain(source_id)
        super().handle_event(event, pad)

    def _drain(self, source_id: int) -> None:
        encoder = self.encoders.pop(source_id, None)
        if encoder is None:
            return
        packets = encoder.flush()
        if packets:
            # A frame-less batch carries the tail packets so muxers can finish the file.
            tail = Frame.from_image(np.zeros((encoder.height, encoder.width, 3), np.uint8), source_id=source_id)
            tail.extra.update(encoder=encoder, packets=packets, tail=True)
            self.push(Batch([tail]))
