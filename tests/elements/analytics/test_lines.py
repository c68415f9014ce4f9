"""Line crossing on hand-made scenes: counts and events match the trajectories exactly."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.core.meta import Objects
from vistream.elements.analytics.lines import LineCrossing
from vistream.media.scene import Scene, SceneObject

LINE_Y = 180.0
H = 40.0  # object height: the bottom-centre anchor is centre + 20


def _obj(object_id: int, class_id: int, label: str, keyframes: list[tuple[int, float, float]]) -> SceneObject:
    return SceneObject(object_id, class_id, label, (30.0, H), keyframes, (200, 100, 50), z=object_id)


def _scene() -> Scene:
    bottom = H / 2
    return Scene(640, 360, [
        # person walks down across the line: one "in"
        _obj(1, 0, "person", [(0, 150, 60), (40, 150, 300)]),
        # car drives up across the line: one "out"
        _obj(2, 2, "car", [(5, 300, 330), (35, 300, 40)]),
        # person walks down, turns back before the line: nothing
        _obj(3, 0, "person", [(0, 400, 60), (20, 400, LINE_Y - bottom - 5), (40, 400, 60)]),
        # bicycle crosses down then back up: "in" then "out"
        _obj(4, 1, "bicycle", [(0, 500, 100), (20, 500, 250), (45, 500, 100)]),
        # person crosses beside the segment's end (x > 560): nothing unless the line is extended
        _obj(5, 0, "person", [(0, 600, 60), (30, 600, 300)]),
    ])


def _expected(scene: Scene, frames: int, x_max: float) -> list[tuple[int, int, str]]:
    """(frame, object_id, direction) of every crossing, from the keyframed trajectories.

    An object crosses on the first frame its bottom-centre is strictly on the other side.
    """
    out = []
    for obj in scene.objects:
        previous = None
        for f in range(frames):
            center = obj.center(f)
            if center is None:
                continue
            bottom = center[1] + obj.size[1] / 2
            if bottom == LINE_Y:  # on the line: not crossed yet
                continue
            below = bottom > LINE_Y
            if previous is not None and below != previous and center[0] <= x_max:
                out.append((f, obj.object_id, "in" if below else "out"))
            previous = below
    return sorted(out)


def test_line_counts_match_ground_truth(run_scene):
    scene = _scene()
    config = {"streams": {"all": {"lines": [{"name": "road", "line": [[40, LINE_Y], [560, LINE_Y]]}]}}}
    frames = run_scene(scene, 50, config)
    events = [e for f in frames for e in f.meta.analytics["events"] if e["type"] == "crossed"]
    got = sorted((e["frame_num"], e["object_id"], e["direction"]) for e in events)
    expected = _expected(scene, 50, x_max=560)
    assert got == expected
    assert len(expected) == 4  # the scene is built to have these: 1 in, 1 out, bicycle in + out
    last = frames[-1].meta.analytics["lines"]["road"]
    assert last["in"] == 2 and last["out"] == 2
    assert last["by_class"] == {"in": {"person": 1, "bicycle": 1}, "out": {"car": 1, "bicycle": 1}}
    assert frames[-1].meta.analytics["lc_counts"] == {"road": 2}
    for event in events:
        assert {"type", "source_id", "frame_num", "object_id", "label", "line", "direction", "timestamp"} <= set(event)
    crossed_rows = [(f.frame_num, obj.object_id) for f in frames for obj in f.meta.objects if obj.get("lines_crossed")]
    assert sorted(crossed_rows) == [(f, i) for f, i, _ in expected]


def test_extended_line_counts_beyond_the_segment(run_scene):
    scene = _scene()
    config = {"streams": {"all": {"lines": [{"name": "road", "line": [[40, LINE_Y], [560, LINE_Y]], "extended": True}]}}}
    frames = run_scene(scene, 50, config)
    got = sorted((e["frame_num"], e["object_id"], e["direction"])
                 for f in frames for e in f.meta.analytics["events"] if e["type"] == "crossed")
    assert got == _expected(scene, 50, x_max=10_000)


def test_class_filter_and_direction_vector(run_scene):
    scene = _scene()
    # direction points up: "in" is upward motion; only persons and cars are counted
    config = {"streams": {"all": {"lines": [{"name": "road", "line": [[40, LINE_Y], [560, LINE_Y]],
                                             "direction": [[0, 300], [0, 100]], "classes": [0, 2]}]}}}
    frames = run_scene(scene, 50, config)
    got = sorted((e["object_id"], e["direction"]) for f in frames for e in f.meta.analytics["events"])
    assert got == [(1, "out"), (2, "in")]


@pytest.mark.parametrize("mode, counted", [("loose", True), ("balanced", False), ("strict", False)])
def test_mode_needs_motion_along_the_direction(mode, counted):
    line = LineCrossing("l", [(0, 100), (400, 100)], direction=[(0, 0), (0, 10)], mode=mode)
    # a steep diagonal step (about 76 degrees off the direction vector) across the line
    line.update(Objects.from_arrays([[0, 80, 10, 95]], object_id=[1]), 0)
    line.update(Objects.from_arrays([[60, 90, 70, 105]], object_id=[1]), 1)
    assert line.counts["in"] == int(counted)


def test_untracked_objects_are_ignored_and_lost_tracks_forgotten():
    line = LineCrossing("l", [(0, 100), (400, 100)], max_age=2)
    line.update(Objects.from_arrays([[0, 80, 10, 90]], object_id=[-1]), 0)
    line.update(Objects.from_arrays([[0, 110, 10, 120]], object_id=[-1]), 1)
    assert line.counts == {"in": 0, "out": 0}
    line.update(Objects.from_arrays([[0, 80, 10, 90]], object_id=[7]), 2)
    line.update(Objects(), 10)  # track 7 is forgotten
    line.update(Objects.from_arrays([[0, 110, 10, 120]], object_id=[7]), 11)
    assert line.counts == {"in": 0, "out": 0}


def test_on_the_line_frames_do_not_double_count():
    line = LineCrossing("l", [(0, 100), (400, 100)])
    for frame, y in enumerate([90, 100, 100, 110, 100, 112]):
        line.update(Objects.from_arrays([[0, y - 10, 10, y]], object_id=[3]), frame)
    assert line.counts == {"in": 1, "out": 0}
    assert np.isclose(line.p2[0], 400)
