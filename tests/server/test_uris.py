"""URI policy of the service: schemes, local files, media roots, traversal, symbolic links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vistream.server.uris import UriNotAllowed, UriPolicy, scheme_of


@pytest.mark.parametrize("uri, scheme", [
    ("rtsp://127.0.0.1:8554/a", "rtsp"), ("RTSPS://h/a", "rtsps"), ("http://h/x.mp4", "http"),
    ("/data/a.mp4", "file"), ("a.mp4", "file"), ("file:///data/a.mp4", "file"), ("lavfi:testsrc2", "lavfi"),
    ("v4l2:///dev/video0", "v4l2"), ("gopher://h/x", "gopher"), ("javascript:alert(1)", "javascript"),
])
def test_scheme_of(uri: str, scheme: str) -> None:
    assert scheme_of(uri) == scheme


def test_default_policy_allows_network_streams_only() -> None:
    policy = UriPolicy()
    assert policy.check("rtsp://127.0.0.1:8554/cam") == "rtsp://127.0.0.1:8554/cam"
    assert policy.check("https://example.invalid/live.m3u8")
    for uri, words in [("/etc/passwd", "scheme 'file' is not allowed"),
                       ("file:///etc/passwd", "scheme 'file' is not allowed"),
                       ("lavfi:testsrc2", "scheme 'lavfi' is not allowed"),
                       ("gopher://h/x", "allowed schemes: rtsp, rtsps, http, https"),
                       ("", "uri is empty"), ("rtsp://h/\x00x", "control characters")]:
        with pytest.raises(UriNotAllowed, match=words):
            policy.check(uri)


def test_local_files_need_enabling(tmp_path: Path) -> None:
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    with pytest.raises(UriNotAllowed, match="--allow-local-files"):
        UriPolicy(schemes=("file",)).check(str(video))
    assert UriPolicy(schemes=("file",), allow_local_files=True).check(str(video)) == str(video)


@pytest.mark.parametrize("make_uri, words", [
    (lambda root, outside: f"{root}/../{outside.name}/secret.mp4", "path traversal"),
    (lambda root, outside: f"file://{root}/sub/../../{outside.name}/secret.mp4", "path traversal"),
    (lambda root, outside: str(outside / "secret.mp4"), "outside the allowed media roots"),
    (lambda root, outside: f"file://{outside}/secret.mp4", "outside the allowed media roots"),
    (lambda root, outside: f"{root}/link/secret.mp4", "outside the allowed media roots"),  # symlink escape
    (lambda root, outside: f"{root}-evil/secret.mp4", "outside the allowed media roots"),  # prefix trick
])
def test_media_roots_refuse_escapes(tmp_path: Path, make_uri, words: str) -> None:
    root, outside = tmp_path / "media", tmp_path / "private"
    root.mkdir(), outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"x")
    os.symlink(outside, root / "link")
    policy = UriPolicy(schemes=("file",), allow_local_files=True, media_roots=(str(root),))
    with pytest.raises(UriNotAllowed, match=words):
        policy.check(make_uri(root, outside))


def test_media_roots_accept_inside(tmp_path: Path) -> None:
    root = tmp_path / "media"
    (root / "day1").mkdir(parents=True)
    policy = UriPolicy(schemes=("file",), allow_local_files=True, media_roots=(str(root),))
    assert policy.check(str(root / "day1" / "cam.mp4"))
    assert policy.check(f"file://{root}/day1/cam.mp4")
    assert policy.check(f"{root}/day1/frames/%05d.jpg")
