from __future__ import annotations

import pytest

import vistream
from vistream.core.errors import ElementNotFoundError, LaunchError, LinkError, PropertyError
from vistream.core.launch import parse_launch_description


def test_chains_references_and_request_pads():
    pipeline = vistream.parse_launch(
        "testsrc name=a num-buffers=1 ! mux.sink_0  testsrc name=b num-buffers=1 ! mux.sink_1 "
        "streammux name=mux batch-size=2 ! tee name=t  t. ! fakesink name=s1  t. ! queue name=q ! fakesink name=s2"
    )
    assert pipeline.links() == sorted([
        ("a.src", "mux.sink_0"), ("b.src", "mux.sink_1"), ("mux.src", "t.sink"),
        ("t.src_0", "s1.sink"), ("t.src_1", "q.sink"), ("q.src", "s2.sink"),
    ])
    assert pipeline["mux"].batch_size == 2


def test_typed_and_quoted_values():
    pipeline = vistream.parse_launch('testsrc name=s width=320 live=true pattern="ball" ! fakesink')
    source = pipeline["s"]
    assert source.width == 320 and source.live is True and source.pattern == "ball"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("", LaunchError, "empty"),
        ("! fakesink", LaunchError, "nothing on its left"),
        ("testsrc !", LaunchError, "ends with '!'"),
        ("testsrc ! ! fakesink", LaunchError, "two '!'"),
        ("testsrc ! nosuchelement", ElementNotFoundError, "no element named 'nosuchelement'"),
        ("testsrc widht=3 ! fakesink", PropertyError, "has no property 'widht'"),
        ("testsrc width=wide ! fakesink", PropertyError, "expects int"),
        ("testsrc ! mux.sink_0", LaunchError, "unknown element 'mux'"),
        ("testsrc ! tee name=t t.src ! fakesink", LinkError, "no pad 'src'"),
        ("fakesink ! fakesink", LinkError, "no free src pad"),
    ],
)
def test_bad_launch_strings_give_clear_errors(text, error, message):
    with pytest.raises(error, match=message):
        vistream.parse_launch(text)


def test_description_is_independent_of_registry():
    description = parse_launch_description("a x=1 ! b.sink_2  c name=b")
    assert [e.factory for e in description.elements] == ["a", "c"]
    assert description.links == [(0, None, "b", "sink_2")]
