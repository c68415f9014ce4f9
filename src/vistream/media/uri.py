"""Classify and open source URIs with PyAV (files, RTSP, HTTP(S), V4L2 cameras, image sequences).

Example:
    >>> from vistream.media.uri import parse_uri
    >>> parse_uri("rtsp://127.0.0.1:8554/cam").kind, parse_uri("rtsp://127.0.0.1:8554/cam").is_network
    ('rtsp', True)
    >>> parse_uri("/dev/video0").kind
    'v4l2'
    >>> parse_uri("frames/%05d.jpg").kind
    'images'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from vistream.core.errors import SourceError

NETWORK_SCHEMES = {"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"}
SUPPORTED = "a file path, file://, rtsp://, rtsps://, http(s)://, rtmp://, udp://, v4l2:///dev/videoN, /dev/videoN, an image pattern like frames/%05d.jpg, or lavfi:<filter>"


@dataclass
class SourceURI:
    """A classified URI and what PyAV needs to open it."""

    uri: str
    kind: str  # file | rtsp | http | network | v4l2 | images | lavfi
    target: str
    format: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_network(self) -> bool:
        return self.kind in ("rtsp", "http", "network")

    @property
    def is_live(self) -> bool:
        """Sources that produce frames in real time (cameras, RTSP streams)."""
        return self.kind in ("rtsp", "v4l2", "network")


def parse_uri(uri: str) -> SourceURI:
    """Classify ``uri``; raises :class:`SourceError` for unsupported schemes."""
    if not uri:
        raise SourceError(f"empty uri; expected {SUPPORTED}")
    if uri.startswith("lavfi:"):
        return SourceURI(uri, "lavfi", uri[len("lavfi:"):], format="lavfi")
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        return SourceURI(uri, "rtsp", uri, options={"rtsp_transport": "tcp"})
    if scheme in ("http", "https"):
        return SourceURI(uri, "http", uri)
    if scheme in NETWORK_SCHEMES:
        return SourceURI(uri, "network", uri)
    if scheme == "v4l2":
        device = parsed.path or parsed.netloc
        return SourceURI(uri, "v4l2", device, format="v4l2")
    if scheme == "file":
        path = unquote(parsed.path)
        return _local(uri, path)
    if scheme and len(scheme) > 1:  # "c:" on Windows is a drive, not a scheme
        raise SourceError(f"unsupported uri scheme '{scheme}' in '{uri}'; expected {SUPPORTED}")
    return _local(uri, uri)


def _local(uri: str, path: str) -> SourceURI:
    if re.match(r"^/dev/video\d+$", path):
        return SourceURI(uri, "v4l2", path, format="v4l2")
    if "%" in Path(path).name and re.search(r"%0?\d*d", Path(path).name):
        return SourceURI(uri, "images", path, format="image2")
    return SourceURI(uri, "file", path)


def check_local(source: SourceURI) -> None:
    """Fail early with a clear message when a local input cannot exist."""
    if source.kind == "file":
        path = Path(source.target)
        if not path.exists():
            raise SourceError(f"file not found: '{source.target}'")
        if path.is_dir():
            raise SourceError(f"'{source.target}' is a directory; expected a video file or an image pattern like dir/%05d.jpg")
        if path.stat().st_size == 0:
            raise SourceError(f"file '{source.target}' is empty")
        if not os.access(path, os.R_OK):
            raise SourceError(f"file '{source.target}' is not readable")
    elif source.kind == "images":
        folder = Path(source.target).parent
        if not folder.is_dir():
            raise SourceError(f"image sequence folder not found: '{folder}'")
    elif source.kind == "v4l2" and not Path(source.target).exists():
        raise SourceError(f"camera device not found: '{source.target}'")
