"""``filesink``: mux encoded video into MP4 / MKV / MPEG-TS files with PyAV.

Takes packets from ``encode``; raw frames are encoded with default H.264 settings. MP4 output is
fragmented by default so a killed pipeline still leaves a playable file. ``location`` may contain
``{source_id}`` to write one file per source.

Example:
    >>> import vistream, av, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.mp4")
    >>> _ = vistream.parse_launch(f"testsrc num-buffers=10 width=64 height=48 ! encode ! filesink location={path}").run(timeout=30)
    >>> with av.open(path) as c:
    ...     sum(1 for _ in c.decode(video=0))
    10
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vistream.core.buffer import Batch, Frame
from vistream.core.element import Pad, Sink
from vistream.core.errors import ConfigError
from vistream.core.events import EOS, Event, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.media.encode import VideoEncoder, clone_packet

FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".ts": "mpegts", ".m4v": "mp4"}
FRAGMENTED_FLAGS = "frag_keyframe+empty_moov+default_base_moof"


class ContainerWriter:
    """Writes Annex-B H.264 / H.265 packets of one stream into a container file."""

    def __init__(self, path: str | Path, encoder: VideoEncoder, fragmented: bool = True) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in FORMATS:
            raise ConfigError(f"filesink: cannot tell the container from '{self.path}'; use one of {', '.join(FORMATS)}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        options = {"movflags": FRAGMENTED_FLAGS} if fragmented and FORMATS[suffix] in ("mp4", "mov") else {}
        self.container = av.open(str(self.path), mode="w", format=FORMATS[suffix], options=options)
        codec = "h264" if encoder.codec == "h264" else "hevc"
        self.stream = self.container.add_stream(codec, rate=Fraction(encoder.fps).limit_denominator(1001))
        self.stream.width = encoder.width
        self.stream.height = encoder.height
        self.stream.time_base = encoder.time_base
        self.time_base = encoder.time_base
        self.packets = 0
        self._last_dts: int | None = None

    def write(self, packets: list[av.Packet]) -> None:
        """Mux copies of ``packets`` (the originals may be shared with other branches of a ``tee``)."""
        for packet in map(clone_packet, packets):
            # Muxers need strictly increasing dts; the encoder's may repeat after loops.
            if packet.dts is not None and self._last_dts is not None and packet.dts <= self._last_dts:
                packet.dts = self._last_dts + 1
                packet.pts = max(packet.pts or 0, packet.dts)
            self._last_dts = packet.dts
            packet.stream = self.stream
            packet.time_base = self.time_base
            self.container.mux(packet)
            self.packets += 1

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None  # type: ignore[assignment]


@register_element("filesink")
class FileSink(Sink):
    """Write encoded video to a file (MP4 / MKV / TS by extension)."""

    location = Property(str, "", "Output path; may contain {source_id} for one file per source")
    fragmented = Property(bool, True, "Fragmented MP4: playable even if the pipeline is killed")

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.writers: dict[int, ContainerWriter] = {}
        self._own_encoders: dict[int, VideoEncoder] = {}
        self.paths: list[Path] = []

    def start(self) -> None:
        if not self.location:
            raise ConfigError(f"filesink '{self.name}': property 'location' is not set")
        suffix = Path(self.location).suffix.lower()
        if suffix not in FORMATS:
            raise ConfigError(f"filesink '{self.name}': unknown container for '{self.location}'; "
                              f"valid extensions: {', '.join(FORMATS)}")

    def _path_for(self, source_id: int) -> str:
        if "{source_id}" in self.location:
            return self.location.format(source_id=source_id)
        if self.writers and source_id not in self.writers:
            raise ConfigError(
                f"filesink '{self.name}' got frames of sources {sorted(self.writers)} and {source_id}; "
                "insert 'tiler' or 'streamdemux' before it, or use location=...{source_id}..."
            )
        return self.location

    def render(self, batch: Batch) -> None:
        for frame in batch.frames:
            packets, encoder = self._packets(frame)
            writer = self.writers.get(frame.source_id)
            if writer is None:
                writer = ContainerWriter(self._path_for(frame.source_id), encoder, self.fragmented)
                self.writers[frame.source_id] = writer
                self.paths.append(writer.path)
            writer.write(packets)

    def _packets(self, frame: Frame) -> tuple[list[av.Packet], VideoEncoder]:
        if "packets" in frame.extra:
            return frame.extra["packets"], frame.extra["encoder"]
        encoder = self._own_encoders.get(frame.source_id)
        if encoder is None:
            encoder = VideoEncoder(frame.width, frame.height, fps=frame.fps or 30.0)
            self._own_encoders[frame.source_id] = encoder
        image = frame.image if frame.memory == "cpu" else frame.image.cpu().numpy()
        return encoder.encode(image, frame.pts), encoder

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            self._finish(event.source_id)
        elif isinstance(event, EOS):
            for source_id in list(self.writers):
                self._finish(source_id)
        super().handle_event(event, pad)

    def _finish(self, source_id: int) -> None:
        writer = self.writers.pop(source_id, None)
        encoder = self._own_encoders.pop(source_id, None)
        if writer is None:
            return
        if encoder is not None:
            writer.write(encoder.flush())
        writer.close()

    def stop(self) -> None:
        for source_id in list(self.writers):
            self._finish(source_id)
