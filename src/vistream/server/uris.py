"""Which stream URIs a client of the REST API may add: allowed schemes, local files, media roots.

A service exposed on a network must not become a way to read arbitrary files of the machine, so
local paths are refused unless enabled, and then only inside the configured media roots (after
resolving ``..`` and symbolic links).

Example:
    >>> policy = UriPolicy(schemes=("rtsp", "file"), allow_local_files=True, media_roots=("/srv/media",))
    >>> policy.check("rtsp://127.0.0.1:8554/cam")
    'rtsp://127.0.0.1:8554/cam'
    >>> policy.check("/etc/passwd")
    Traceback (most recent call last):
    ...
    vistream.server.uris.UriNotAllowed: uri '/etc/passwd' is outside the allowed media roots (/srv/media)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vistream.core.errors import SourceError, VistreamError
from vistream.media.uri import parse_uri

#: schemes a service accepts unless configured otherwise (no local files by default)
DEFAULT_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "http", "https")
#: scheme name used for URIs without a scheme (plain paths)
LOCAL_KINDS = ("file", "images", "v4l2")


class UriNotAllowed(VistreamError, ValueError):
    """A stream URI is malformed, of a scheme not allowed, or points outside the media roots."""


def scheme_of(uri: str) -> str:
    """The scheme a policy reasons about: ``rtsp``, ``file`` (also plain paths), ``lavfi`` ...

    Example:
        >>> scheme_of("/data/a.mp4"), scheme_of("lavfi:testsrc2"), scheme_of("RTSP://h/x")
        ('file', 'lavfi', 'rtsp')
    """
    if uri.startswith("lavfi:"):
        return "lavfi"
    head, sep, _ = uri.partition("://")
    if sep and head.isalnum() and len(head) > 1:
        return head.lower()
    if ":" in uri.split("/", 1)[0] and len(uri.split(":", 1)[0]) > 1:
        return uri.split(":", 1)[0].lower()
    return "file"


@dataclass(frozen=True)
class UriPolicy:
    """Rules for URIs given through the API.

    Attributes:
        schemes: allowed schemes (``file`` covers plain paths and ``file://``; ``lavfi`` FFmpeg
            test sources; ``v4l2`` cameras).
        allow_local_files: local files, image sequences and cameras may be read at all.
        media_roots: folders local files must be inside (empty: anywhere, when local files are allowed).
    """

    schemes: tuple[str, ...] = DEFAULT_SCHEMES
    allow_local_files: bool = False
    media_roots: tuple[str, ...] = ()

    def check(self, uri: str) -> str:
        """Return ``uri`` when allowed; raise :class:`UriNotAllowed` saying why not."""
        if not isinstance(uri, str) or not uri.strip():
            raise UriNotAllowed("uri is empty; give e.g. rtsp://host:port/path")
        if any(ord(c) < 32 for c in uri):
            raise UriNotAllowed(f"uri {uri!r} contains control characters")
        scheme = scheme_of(uri)
        if scheme not in self.schemes:
            raise UriNotAllowed(
                f"uri '{uri}': scheme '{scheme}' is not allowed; allowed schemes: {', '.join(self.schemes) or '(none)'}"
            )
        try:
            source = parse_uri(uri)
        except SourceError as exc:
            raise UriNotAllowed(str(exc)) from None
        if source.kind in LOCAL_KINDS:
            self._check_local(uri, source.target)
        return uri

    def _check_local(self, uri: str, target: str) -> None:
        if not self.allow_local_files:
            raise UriNotAllowed(
                f"uri '{uri}': reading local files through the API is disabled "
                "(start the service with --allow-local-files and --media-root DIR)"
            )
        if ".." in Path(target).parts:
            raise UriNotAllowed(f"uri '{uri}': path traversal ('..') is not allowed")
        if not self.media_roots:
            return
        resolved = Path(os.path.realpath(target))
        for root in self.media_roots:
            real_root = Path(os.path.realpath(root))
            if resolved == real_root or real_root in resolved.parents:
                return
        raise UriNotAllowed(f"uri '{uri}' is outside the allowed media roots ({', '.join(self.media_roots)})")
