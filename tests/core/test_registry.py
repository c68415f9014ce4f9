from __future__ import annotations

import sys

import pytest

from vistream.core.element import Element
from vistream.core.errors import ElementNotFoundError
from vistream.core.registry import Registry


def test_register_make_and_list():
    registry = Registry(builtins=False)

    @registry.register("double")
    class Double(Element):
        """Doubles things."""

    assert registry.names() == ["double"]
    assert registry.make("double", name="d").name == "d"
    assert Double.description == "Doubles things."
    with pytest.raises(ElementNotFoundError, match="no element named 'doubl'.*did you mean double"):
        registry.get("doubl")


def test_a_broken_element_module_does_not_hide_the_others(monkeypatch, tmp_path):
    package = tmp_path / "fakeelements"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "good.py").write_text(
        "from vistream.core.element import Element\n"
        "class Good(Element):\n    \'\'\'Fine.\'\'\'\n")
    (package / "broken.py").write_text("raise ImportError('needs a library that is not installed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("vistream.core.registry.BUILTIN_PACKAGES", ("fakeelements",))
    registry = Registry()
    with pytest.raises(ElementNotFoundError, match="fakeelements.broken: ImportError: needs a library"):
        registry.get("missing")
    assert "fakeelements.good" in sys.modules  # the good module was still imported
