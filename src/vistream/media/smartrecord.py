"""Event-triggered clips with pre-roll (DeepStream's smart record), without a pipeline.

:class:`SmartRecorder` keeps, per stream, a ring of the last ``cache`` seconds of *encoded* packets
starting at a keyframe. :meth:`SmartRecorder.trigger` opens a clip that starts at the last
keyframe at or before ``at - before`` (a clip must start on a keyframe to play) and takes every
packet up to ``at + after``, never longer than ``max_duration``. Clip timestamps start at 0.

Example:
    >>> import numpy as np, os, tempfile, av
    >>> from vistream.media.encode import VideoEncoder
    >>> from vistream.media.smartrecord import SmartRecorder
    >>> encoder = VideoEncoder(64, 48, fps=10, gop=5, zerolatency=True)
    >>> done = []
    >>> rec = SmartRecorder(tempfile.mkdtemp(), on_done=done.append)
    >>> for n in range(40):
    ...     pts = n * 100_000_000
    ...     rec.add(0, encoder.encode(np.zeros((48, 64, 3), np.uint8), pts), encoder)
    ...     if n == 20:
    ...         _ = rec.trigger(0, at_ns=pts, before=1.0, after=0.5)
    >>> clip = done[0]
    >>> clip.frames, clip.first_pts_ns, clip.last_pts_ns
    (16, 1000000000, 2500000000)
"""

from __future__ import annotations

import datetime
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av

from vistream.core.errors import ConfigError
from vistream.media.encode import VideoEncoder
from vistream.media.filesink import FORMATS, ContainerWriter


@dataclass(frozen=True)
class StoredPacket:
    """A copy of one encoded packet (the pipeline's packets may be changed by muxers downstream)."""

    pts: int
    dts: int
    pts_ns: int
    data: bytes
    keyframe: bool


def _to_ns(value: int, time_base: av.Fraction | None) -> int:
    if time_base is None:
        return int(value)
    return int(value) * time_base.numerator * 1_000_000_000 // time_base.denominator


class PacketRing:
    """The last ``seconds`` of one stream's packets, always starting at a keyframe."""

    def __init__(self, seconds: float) -> None:
        self.span_ns = int(seconds * 1e9)
        self.packets: deque[StoredPacket] = deque()
        self._keyframes = 0

    def add(self, packet: av.Packet) -> StoredPacket:
        pts = packet.pts if packet.pts is not None else packet.dts
        stored = StoredPacket(int(pts), int(packet.dts if packet.dts is not None else pts),
                              _to_ns(pts, packet.time_base), bytes(packet), bool(packet.is_keyframe))
        if not self.packets and not stored.keyframe:
            return stored  # a ring starts at a keyframe: nothing before it can be decoded
        self.packets.append(stored)
        self._keyframes += stored.keyframe
        self._trim(stored.pts_ns)
        return stored

    def _trim(self, newest_ns: int) -> None:
        # Drop whole GOPs from the front while the next GOP still covers the span.
        while self._keyframes > 1:
            second = next(i for i, p in enumerate(self.packets) if i and p.keyframe)
            if newest_ns - self.packets[second].pts_ns < self.span_ns:
                return
            for _ in range(second):
                self._keyframes -= self.packets.popleft().keyframe

    def since_keyframe(self, start_ns: int) -> list[StoredPacket]:
        """Packets from the last keyframe at or before ``start_ns`` (or the oldest keyframe)."""
        packets = list(self.packets)
        begin = 0
        for i, packet in enumerate(packets):
            if packet.keyframe and packet.pts_ns <= start_ns:
                begin = i
        return packets[begin:]


@dataclass
class Clip:
    """One recording: where it goes, the window asked for, and what was written."""

    source_id: int
    path: Path
    trigger_ns: int
    start_ns: int
    end_ns: int
    writer: ContainerWriter | None = None
    base_pts: int | None = None
    first_pts_ns: int | None = None
    last_pts_ns: int | None = None
    frames: int = 0
    complete: bool = False
    reason: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Seconds between the first and last frame written."""
        if self.first_pts_ns is None or self.last_pts_ns is None:
            return 0.0
        return (self.last_pts_ns - self.first_pts_ns) / 1e9


class SmartRecorder:
    """Pre-roll rings and event-triggered clips for many streams.

    Args:
        directory: folder of the clips (created when needed).
        prefix: start of every clip's file name: ``{prefix}_{source_id}_{UTC time}.{container}``.
        cache: seconds of pre-roll kept per stream (the most ``before`` can reach back).
        before / after: default seconds before / after the trigger.
        max_duration: longest clip in seconds.
        container: ``mp4``, ``mkv`` or ``ts``.
        on_done: called with each finished :class:`Clip`.
    """

    def __init__(self, directory: str | Path, prefix: str = "clip", cache: float = 20.0, before: float = 5.0,
                 after: float = 5.0, max_duration: float = 60.0, container: str = "mp4",
                 on_done: Callable[[Clip], None] | None = None) -> None:
        if f".{container}" not in FORMATS:
            raise ConfigError(f"recorder: container '{container}' is not valid; valid: mp4, mkv, ts, mov")
        if before > cache:
            raise ConfigError(f"recorder: before={before}s reaches past the pre-roll cache of {cache}s; "
                              "raise 'cache' or lower 'before'")
        self.directory = Path(directory)
        self.prefix = prefix
        self.cache, self.before, self.after, self.max_duration = cache, before, after, max_duration
        self.container = container
        self.on_done = on_done
        self.rings: dict[int, PacketRing] = {}
        self.encoders: dict[int, VideoEncoder] = {}
        self.active: dict[int, Clip] = {}
        self.latest_ns: dict[int, int] = {}
        self._lock = threading.RLock()  # on_done may call trigger()

    def add(self, source_id: int, packets: list[av.Packet], encoder: VideoEncoder) -> None:
        """Feed one stream's new packets; extends open clips and closes those past their end."""
        with self._lock:
            ring = self.rings.setdefault(source_id, PacketRing(self.cache))
            self.encoders[source_id] = encoder
            for packet in packets:
                stored = ring.add(packet)
                clip = self.active.get(source_id)
                if clip is None:
                    continue
                if clip.writer is None:
                    self._begin(clip, ring)
                elif stored.pts_ns > clip.end_ns:
                    self._finish(clip, complete=True)
                else:
                    self._write(clip, [stored])

    def _begin(self, clip: Clip, ring: PacketRing) -> None:
        """Write the pre-roll once packets reach the clip's start (encoders may lag behind frames)."""
        if not ring.packets or ring.packets[-1].pts_ns < clip.start_ns:
            return
        backlog = ring.since_keyframe(clip.start_ns)
        self._write(clip, [p for p in backlog if p.pts_ns <= clip.end_ns])

    def note_time(self, source_id: int, pts_ns: int) -> None:
        """Remember the newest frame time of a stream (the default trigger time)."""
        self.latest_ns[source_id] = pts_ns

    def trigger(self, source_id: int, at_ns: int | None = None, before: float | None = None,
                after: float | None = None) -> Clip | None:
        """Start a clip around ``at_ns`` (default: the newest frame). None if one is recording already."""
        with self._lock:
            if source_id in self.active:
                return None
            at = at_ns if at_ns is not None else self.latest_ns.get(source_id, 0)
            before = self.before if before is None else before
            after = self.after if after is None else after
            if before < 0 or after < 0:
                raise ValueError(f"recorder: before and after must be >= 0 seconds, got {before}, {after}")
            start = at - int(min(before, self.cache) * 1e9)
            clip = Clip(source_id, self._path(source_id), at, start, at + int(after * 1e9))
            self.active[source_id] = clip
            ring = self.rings.get(source_id)
            if ring is not None:
                self._begin(clip, ring)
            return clip

    def _path(self, source_id: int) -> Path:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")[:-3]
        path = self.directory / f"{self.prefix}_{source_id}_{stamp}.{self.container}"
        counter = 1
        while path.exists():
            path = path.with_name(f"{self.prefix}_{source_id}_{stamp}-{counter}.{self.container}")
            counter += 1
        return path

    def _write(self, clip: Clip, packets: list[StoredPacket]) -> None:
        for stored in packets:
            if clip.writer is None:
                if not stored.keyframe:
                    continue
                clip.writer = ContainerWriter(clip.path, self.encoders[clip.source_id], fragmented=True)
                clip.base_pts = stored.pts
                clip.first_pts_ns = stored.pts_ns
                # the longest clip is counted from its first frame
                clip.end_ns = min(clip.end_ns, stored.pts_ns + int(self.max_duration * 1e9))
            if stored.pts_ns > clip.end_ns:
                self._finish(clip, complete=True)
                return
            packet = av.Packet(stored.data)
            packet.pts, packet.dts = stored.pts - clip.base_pts, stored.dts - clip.base_pts
            packet.time_base = clip.writer.time_base
            packet.is_keyframe = stored.keyframe
            clip.writer.write([packet])
            clip.frames += 1
            clip.last_pts_ns = stored.pts_ns

    def _finish(self, clip: Clip, complete: bool, reason: str = "") -> None:
        self.active.pop(clip.source_id, None)
        clip.complete = complete
        clip.reason = reason or ("window recorded" if complete else "stream ended")
        if clip.writer is not None:
            clip.writer.close()
        if self.on_done is not None:
            self.on_done(clip)

    def close(self, source_id: int | None = None, reason: str = "stream ended") -> None:
        """Finish open clips (of one stream, or all) early and drop their rings."""
        with self._lock:
            for sid in [s for s in list(self.active) if source_id is None or s == source_id]:
                self._finish(self.active[sid], complete=False, reason=reason)
            for sid in [s for s in list(self.rings) if source_id is None or s == source_id]:
                self.rings.pop(sid, None)
                self.encoders.pop(sid, None)
                self.latest_ns.pop(sid, None)
