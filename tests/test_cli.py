"""The `vistream` command: --help everywhere, launch, run, inspect, and errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vistream.cli import COMMANDS, main


def vistream(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vistream.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_top_level_help_lists_commands():
    result = vistream("--help")
    assert result.returncode == 0
    for name in ("run", "launch", "inspect", "media"):
        assert name in result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: vistream" in capsys.readouterr().out


def test_launch_runs_and_prints_a_summary(tmp_path: Path):
    out = tmp_path / "m.jsonl"
    result = vistream("launch", f"testsrc num-buffers=7 width=32 height=32 ! jsonsink location={out}", "--stats-interval", "0")
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 7
    assert "avg fps" in result.stderr and "all" in result.stderr


def test_run_yaml_and_print_graph(tmp_path: Path):
    spec = tmp_path / "p.yaml"
    spec.write_text("elements:\n  - {type: testsrc, name: s, num-buffers: 3}\n  - {type: fakesink, name: k}\nlinks: [s -> k]\n")
    result = vistream("run", str(spec), "--print-graph")
    assert result.returncode == 0
    assert json.loads(result.stdout)["links"] == [["s.src", "k.sink"]]
    assert vistream("run", str(spec), "--stats-interval", "0").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("launch", "testsrc ! nosuch"), "no element named 'nosuch'"),
        (("run", "/no/such.yaml"), "pipeline file not found"),
        (("inspect", "nosuch"), "no element named 'nosuch'"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, message):
    result = vistream(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_failing_source_makes_a_nonzero_exit():
    result = vistream("launch", "urisrc uri=/no/file.mp4 ! fakesink", "--stats-interval", "0")
    assert result.returncode == 1
    assert "file not found" in result.stderr


def test_inspect_shows_pads_and_properties():
    result = vistream("inspect", "streammux")
    assert result.returncode == 0
    assert "sink_%u" in result.stdout and "batched-push-timeout" in result.stdout
    listing = json.loads(vistream("inspect", "--json").stdout)
    assert {"urisrc", "streammux", "fakesink", "jsonsink"} <= set(listing)
