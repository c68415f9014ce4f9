from __future__ import annotations

import pytest

from vistream.core.element import Element
from vistream.core.errors import PropertyError
from vistream.core.properties import Property


class Demo(Element):
    """An element with every property kind."""

    count = Property(int, 1, "A count", minimum=0, maximum=10)
    ratio = Property(float, 0.5, "A ratio")
    enabled = Property(bool, False, "A flag")
    mode = Property(str, "a", "A mode", choices=("a", "b"))
    ids = Property("int-list", [], "Ids")


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("count", "7", 7),
        ("count", "0x3", 3),
        ("ratio", "2", 2.0),
        ("enabled", "true", True),
        ("enabled", "0", False),
        ("mode", "b", "b"),
        ("ids", "1;2;3", [1, 2, 3]),
        ("ids", [4, "5"], [4, 5]),
    ],
)
def test_strings_are_coerced(key, text, expected):
    element = Demo()
    element.set_property(key, text)
    assert element.get_property(key) == expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("count", "many", "expects int"),
        ("count", 11, "maximum is 10"),
        ("count", 2.5, "expects int"),
        ("enabled", "maybe", "expects bool"),
        ("mode", "c", "valid values: 'a', 'b'"),
        ("ids", "1;x", "expects int"),
    ],
)
def test_bad_values_name_the_property(key, value, message):
    element = Demo(name="demo")
    with pytest.raises(PropertyError, match=message) as info:
        element.set_property(key, value)
    assert f"demo.{key}" in str(info.value)


def test_unknown_property_lists_valid_ones():
    with pytest.raises(PropertyError, match="valid properties: .*count.*enabled"):
        Demo(name="d", colour="red")


def test_kebab_and_snake_case_are_the_same_property():
    element = Demo()
    element.set_properties(**{"count": 3})
    assert element.count == 3
    assert "count" in Demo.property_specs()
    assert element.non_default_properties() == {"count": 3}


def test_defaults_are_not_shared_between_instances():
    first, second = Demo(), Demo()
    first.ids.append(1)
    assert second.ids == []
