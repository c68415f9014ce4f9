from __future__ import annotations

from pathlib import Path

import pytest

import vistream
from vistream.core.errors import SpecError
from vistream.core.spec import load_pipeline, pipeline_from_yaml

YAML = """\
name: two
elements:
  - {type: testsrc, name: a, num-buffers: 3, width: 64, height: 48}
  - {type: testsrc, name: b, num-buffers: 3, pattern: ball}
  - type: streammux
    name: mux
    batch-size: 2
    width: 64
    height: 48
  - {type: jsonsink, name: out, location: "${OUT_FILE:-/tmp/vistream-spec.jsonl}"}
links:
  - a -> mux.sink_0
  - b -> mux.sink_1
  - mux -> out
"""

LAUNCH = ("testsrc name=a num-buffers=3 width=64 height=48 ! mux.sink_0 "
          "testsrc name=b num-buffers=3 pattern=ball ! mux.sink_1 "
          "streammux name=mux batch-size=2 width=64 height=48 ! jsonsink name=out location=/tmp/vistream-spec.jsonl")


def test_yaml_and_launch_build_the_same_graph():
    from_yaml = pipeline_from_yaml(YAML)
    from_launch = vistream.parse_launch(LAUNCH)
    assert from_yaml.describe() == from_launch.describe()


def test_launch_key_in_yaml(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(f"launch: {LAUNCH!r}\n".replace("'", '"'))
    assert load_pipeline(path).describe() == vistream.parse_launch(LAUNCH).describe()


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("OUT_FILE", str(tmp_path / "x.jsonl"))
    assert pipeline_from_yaml(YAML)["out"].location == str(tmp_path / "x.jsonl")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("elements:\n  - {type: testsrc, name: a, num-buffers: many}\n", r"p\.yaml:2: elements\[0\]\.num-buffers: .*expects int"),
        ("elements:\n  - {name: a}\n", r"p\.yaml:2: elements\.0\.type: Field required"),
        ("elements:\n  - type: testsrc\n    name: a\n    colour: red\n", r"p\.yaml:4: elements\[0\]\.colour: .*no property 'colour'"),
        ("elements:\n  - {type: nosuch}\n", r"p\.yaml:2: elements\[0\]\.type: no element named 'nosuch'"),
        ("elements:\n  - {type: testsrc, name: a}\nlinks:\n  - a -> b\n", r"p\.yaml:4: links\[0\]: no element named 'b'"),
        ("elements: []\nlinkz: []\n", r"p\.yaml:2: linkz: Extra inputs"),
        ("elements: [\n", r"p\.yaml:\d+: not valid YAML"),
        ("- just a list\n", r"p\.yaml:1: expected a mapping"),
        ("elements:\n  - {type: jsonsink, location: \"${NOT_SET_ANYWHERE}\"}\n", r"NOT_SET_ANYWHERE"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_pipeline(path)


def test_missing_file():
    with pytest.raises(SpecError, match="not found"):
        load_pipeline("/no/such/pipeline.yaml")
