"""Zones on hand-made and random scenes: counts, overcrowding, dwell time and queue length match the
ground truth exactly."""

from __future__ import annotations

import cv2
import numpy as np

from vistream.core.meta import Objects
from vistream.elements.analytics.dwell import DwellTime
from vistream.elements.analytics.roi import Zone
from vistream.media.scene import Scene, SceneObject

RECT = (100.0, 100.0, 300.0, 250.0)  # x1, y1, x2, y2
TRIANGLE = [[350, 50], [620, 300], [350, 300]]


def _rect_polygon() -> list[list[float]]:
    x1, y1, x2, y2 = RECT
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def test_zone_counts_match_ground_truth_on_random_scene(run_scene):
    scene = Scene.random(640, 360, num_objects=8, seed=3)
    config = {"streams": {"all": {"zones": [
        {"name": "rect", "polygon": _rect_polygon()},
        {"name": "tri", "polygon": TRIANGLE, "classes": [0, 2]},
    ]}}}
    frames = run_scene(scene, 60, config)
    triangle = np.array(TRIANGLE, dtype=np.float32)
    seen_nonzero = 0
    for frame in frames:
        truth = frame.meta.user_meta("ground-truth")[0]
        x = (truth.xyxy[:, 0] + truth.xyxy[:, 2]) / 2
        y = truth.xyxy[:, 3]
        x1, y1, x2, y2 = RECT
        in_rect = (x >= x1) & (x <= x2) & (y >= y1) & (y <= y2)
        in_tri = np.array([cv2.pointPolygonTest(triangle, (float(a), float(b)), False) >= 0 for a, b in zip(x, y, strict=True)],
                          dtype=bool) & np.isin(truth.class_id, [0, 2])
        zones = frame.meta.analytics["zones"]
        assert zones["rect"]["count"] == int(in_rect.sum()), frame.frame_num
        assert zones["tri"]["count"] == int(in_tri.sum()), frame.frame_num
        labels = [truth.labels[i] for i in np.flatnonzero(in_rect)]
        assert zones["rect"]["by_class"] == {label: labels.count(label) for label in set(labels)}
        assert frame.meta.analytics["roi_counts"] == {"rect": int(in_rect.sum()), "tri": int(in_tri.sum())}
        names = [obj.get("zones") for obj in frame.meta.objects]
        assert [("rect" in n) for n in names] == in_rect.tolist()
        seen_nonzero += int(in_rect.any()) + int(in_tri.any())
    assert seen_nonzero > 10  # the scene does put objects in the zones


def _walker(object_id: int, x: float, enter_frame: int, leave_frame: int) -> SceneObject:
    """Walks down at 10 px/frame; its bottom-centre is inside RECT from enter_frame to leave_frame - 1."""
    h = 40.0
    y0 = RECT[1] - 10 * enter_frame - h / 2  # bottom reaches y1 exactly at enter_frame
    return SceneObject(object_id, 0, "person", (20.0, h), [(0, x, y0), (60, x, y0 + 600)], (90, 90, 250))


def test_dwell_events_queue_and_crowding(run_scene):
    # RECT spans y 100..250: a walker is inside for 16 frames (bottom at 100, 110, ..., 250)
    scene = Scene(640, 360, [_walker(1, 150, 5, 21), _walker(2, 200, 10, 26), _walker(3, 250, 30, 46)])
    config = {"streams": {"all": {"zones": [{"name": "rect", "polygon": _rect_polygon(), "crowd-threshold": 2,
                                             "queue-min-dwell": 1.0}]}}}
    frames = run_scene(scene, 60, config, fps=10.0)
    events = [e for f in frames for e in f.meta.analytics["events"]]
    entered = sorted((e["frame_num"], e["object_id"]) for e in events if e["type"] == "entered")
    left = sorted((e["frame_num"], e["object_id"], e["dwell_s"]) for e in events if e["type"] == "left")
    assert entered == [(5, 1), (10, 2), (30, 3)]
    assert left == [(21, 1, 1.6), (26, 2, 1.6), (46, 3, 1.6)]
    crowd = [(e["type"], e["frame_num"]) for e in events if e["type"].startswith("crowd")]
    assert crowd == [("crowded", 10), ("crowd-cleared", 21)]
    queue = {f.frame_num: f.meta.analytics["zones"]["rect"]["queue_length"] for f in frames}
    # inside >= 1.0 s (10 frames at 10 fps): walker 1 from frame 15, walker 2 from 20
    assert [queue[f] for f in (14, 15, 19, 20, 21, 40)] == [0, 1, 1, 2, 1, 1]
    f12 = frames[12]
    dwell = {obj.object_id: obj.get("dwell_s") for obj in f12.meta.objects}
    assert dwell[1] == 0.7 and dwell[2] == 0.2


def test_dwell_left_when_track_is_lost():
    dwell = DwellTime("z", max_age=3)
    dwell.update(np.array([9]), np.array([True]), ["car"], frame_num=0, pts_ns=0)
    events = []
    for frame in range(1, 6):
        events += dwell.update(np.zeros(0, np.int64), np.zeros(0, bool), [], frame, frame * 100_000_000)
        assert dwell.queue_length == 0  # an unseen object is not queueing
    assert [(e["type"], e["object_id"], e["label"], e.get("reason"), e["frame_num"]) for e in events] == \
        [("left", 9, "car", "lost", 4)]


def test_inverse_zone_and_class_filter():
    objects = Objects.from_arrays([[10, 10, 20, 20], [200, 200, 210, 210], [200, 200, 210, 210]],
                                  class_id=[0, 0, 2], labels=["person", "person", "car"])
    zone = Zone("z", [[0, 0], [50, 0], [50, 50], [0, 50]], classes=[0], inverse=True)
    assert zone.update(objects).tolist() == [False, True, False]


def test_filter_objects_drops_objects_outside_roi(run_scene):
    scene = Scene.random(640, 360, num_objects=6, seed=5)
    config = {"streams": {"all": {"zones": [{"name": "rect", "polygon": _rect_polygon(), "filter": True}]}}}
    frames = run_scene(scene, 20, config, filter_objects=True)
    for frame in frames:
        assert len(frame.meta.objects) == frame.meta.analytics["zones"]["rect"]["count"]
        assert all(obj.get("in_roi") for obj in frame.meta.objects)
    display = frames[-1].meta.display[-1]
    assert len(display.polygons) == 1 and display.polygons[0][0][0] == (100.0, 100.0)
