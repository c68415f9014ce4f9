"""The ``Example:`` sections of the server package run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["uris", "preview", "tracking", "service", "metrics", "deepstream", "app", "http"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(f"vistream.server.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
