"""Tracking metrics reproduce values worked out by hand on small ground-truth / result pairs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from vistream.core.errors import ConfigError
from vistream.core.meta import Objects
from vistream.eval.mot import evaluate, load_mot, to_mot_rows, track_statistics, write_mot

A = [0, 0, 10, 10]
B = [50, 0, 10, 10]
FAR = [200, 200, 10, 10]


def _rows(entries: list[tuple[int, int, list[float]]], visibility: float = 1.0) -> np.ndarray:
    return np.array([[f, i, *box, 1, 1, visibility] for f, i, box in entries], dtype=float)


def test_identity_switch() -> None:
    # Two objects over four frames; object 1's track changes id (10 -> 11) after frame 2.
    gt = _rows([(f, 1, A) for f in range(1, 5)] + [(f, 2, B) for f in range(1, 5)])
    res = _rows([(1, 10, A), (2, 10, A), (3, 11, A), (4, 11, A)] + [(f, 20, B) for f in range(1, 5)])
    scores = evaluate(gt, res)
    assert scores["id_switches"] == 1
    assert scores["mota"] == pytest.approx(1 - 1 / 8)  # one switch over eight objects
    assert scores["idf1"] == pytest.approx(12 / 16)  # IDTP 6, IDFP 2, IDFN 2
    # DetA 1; AssA = (4 * 1 + 2 * 2/4 + 2 * 2/4) / 8 = 0.75
    assert scores["deta"] == pytest.approx(1.0)
    assert scores["assa"] == pytest.approx(0.75)
    assert scores["hota"] == pytest.approx(math.sqrt(0.75))


def test_miss_and_false_positive() -> None:
    gt = _rows([(f, 1, A) for f in range(1, 5)])
    res = _rows([(1, 1, A), (2, 1, A), (3, 1, A), (2, 99, FAR)])
    scores = evaluate(gt, res)
    assert (scores["misses"], scores["false_positives"], scores["id_switches"]) == (1, 1, 0)
    assert scores["mota"] == pytest.approx(0.5)
    assert scores["idf1"] == pytest.approx(6 / 8)  # IDTP 3, IDFP 1, IDFN 1
    assert scores["hota"] == pytest.approx(math.sqrt(3 / 5 * 3 / 4))  # DetA 3/5, AssA 3/4
    assert scores["precision"] == pytest.approx(3 / 4) and scores["recall"] == pytest.approx(3 / 4)


def test_hidden_ground_truth_is_ignored_with_what_matches_it() -> None:
    gt = np.concatenate([_rows([(f, 1, A) for f in range(1, 4)]), _rows([(2, 2, B)], visibility=0.1)])
    res = _rows([(f, 7, A) for f in range(1, 4)] + [(2, 8, B)])
    assert evaluate(gt, res, min_visibility=0.3)["mota"] == pytest.approx(1.0)
    assert evaluate(gt, res)["mota"] == pytest.approx(1.0)
    # Without the result for the hidden object it is a miss only when hidden objects count.
    assert evaluate(gt, res[:3])["misses"] == 1
    assert evaluate(gt, res[:3], min_visibility=0.3)["misses"] == 0


def test_files_round_trip(tmp_path: Path) -> None:
    objects = Objects.from_arrays([[10, 20, 30, 60]], confidence=[0.75], object_id=[3], class_id=[2])
    rows = to_mot_rows(4, objects, np.array([0.5]))
    write_mot(tmp_path / "gt.txt", rows, ground_truth=True)
    write_mot(tmp_path / "res.txt", rows)
    gt, res = load_mot(tmp_path / "gt.txt"), load_mot(tmp_path / "res.txt")
    assert gt[0].tolist() == [5, 3, 10, 20, 20, 40, 1, 2, 0.5]
    assert res[0, :7].tolist() == [5, 3, 10, 20, 20, 40, 0.75]
    assert evaluate(gt, res)["idf1"] == 1.0


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_mot(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("1,2,3,4,5,6\n1,x,3\n")
    with pytest.raises(ConfigError, match="bad.txt' line 2"):
        load_mot(tmp_path / "bad.txt")
    (tmp_path / "short.txt").write_text("1,2,3\n")
    with pytest.raises(ConfigError, match="at least 6 columns"):
        load_mot(tmp_path / "short.txt")


def test_track_statistics() -> None:
    # Track 1 on frames 1, 2, 3, 5 (one gap); track 2 on frames 1, 2.
    res = _rows([(1, 1, A), (2, 1, A), (3, 1, A), (5, 1, A), (1, 2, B), (2, 2, B)])
    stats = track_statistics(res[::-1])
    assert stats == {"tracks": 2, "mean_track_length": 3.0, "mean_track_span": 3.5, "fragmentation": 0.5}
