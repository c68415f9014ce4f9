"""``vistream eval``: sequence generation and tracking metrics from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vistream.cli import main


def test_sequence_then_track_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "sequence", str(tmp_path / "seq"), "--frames", "40", "--objects", "4", "--no-video"]) == 0
    gt = tmp_path / "seq" / "gt" / "gt.txt"
    lines = gt.read_text().splitlines()
    # A result that loses the first object's id halfway: one id switch.
    first_id = lines[0].split(",")[1]
    halfway = len(lines) // 2
    result = []
    for n, line in enumerate(lines):
        parts = line.split(",")
        if parts[1] == first_id and n > halfway:
            parts[1] = "999"
        result.append(",".join(parts[:7] + ["-1", "-1", "-1"]))
    res = tmp_path / "res.txt"
    res.write_text("\n".join(result) + "\n")
    capsys.readouterr()
    assert main(["eval", "track", str(gt), str(res), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["id_switches"] == 1
    assert scores["mota"] == pytest.approx(1 - 1 / len(lines))
    assert scores["idf1"] < 1.0 and scores["hota"] < 1.0
    assert main(["eval", "track", str(gt), str(gt)]) == 0
    assert "mota             1.0000" in capsys.readouterr().out


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "track", str(tmp_path / "gt.txt"), str(tmp_path / "res.txt")]) == 2
    assert "gt.txt' does not exist" in capsys.readouterr().err
