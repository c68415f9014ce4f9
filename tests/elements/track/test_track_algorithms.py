"""Every algorithm: ids kept through a full occlusion as long as its config allows, dropped after."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.core.meta import Objects
from vistream.elements.track import ALGORITHMS, TrackerConfig, make_tracker

LOOKS = np.eye(8)[:2]  # appearance vectors of the two objects (deepsort)


def _frame(frame: int, hidden: range) -> Objects:
    """Object A walks right 1 px / frame and is fully hidden during ``hidden``; B stands still."""
    boxes, looks = [], []
    if frame not in hidden:
        boxes.append([100 + frame, 100, 160 + frame, 220])
        looks.append(LOOKS[0])
    boxes.append([400, 100, 460, 220])
    looks.append(LOOKS[1])
    return Objects.from_arrays(boxes, confidence=[0.9] * len(boxes), class_id=[0] * len(boxes),
                               data={"embedding": np.array(looks)})


def _run(algorithm: str, occlusion: int, shadow_age: int) -> tuple[list[int], list[int]]:
    config = TrackerConfig(algorithm=algorithm, probation_age=2, max_shadow_tracking_age=shadow_age,
                           shadow_output_age=0)
    tracker = make_tracker(config)
    hidden = range(10, 10 + occlusion)
    ids_a, ids_b = [], []
    for frame in range(10 + occlusion + 6):
        out = tracker.update(_frame(frame, hidden), frame)
        a = out.object_id[out.xyxy[:, 0] < 300]
        b = out.object_id[out.xyxy[:, 0] >= 300]
        if frame not in hidden and frame >= 2:
            # While the object is visible it is always output (right after re-identification or
            # after a new track's probation).
            ids_a.extend(a.tolist())
        ids_b.extend(b.tolist())
        if frame in hidden:
            assert len(a) == 0, "a hidden object is not output when shadow output is off"
    return ids_a, ids_b


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("shadow_age", [5, 15])
def test_id_kept_through_occlusion_the_config_allows(algorithm: str, shadow_age: int) -> None:
    ids_a, ids_b = _run(algorithm, occlusion=shadow_age, shadow_age=shadow_age)
    assert len(set(ids_a)) == 1, f"{algorithm}: object A changed id across a {shadow_age}-frame occlusion: {ids_a}"
    assert len(set(ids_b)) == 1
    assert set(ids_a) != set(ids_b)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("shadow_age", [5, 15])
def test_id_dropped_after_a_longer_occlusion(algorithm: str, shadow_age: int) -> None:
    ids_a, ids_b = _run(algorithm, occlusion=shadow_age + 1, shadow_age=shadow_age)
    assert len(set(ids_a)) == 2, f"{algorithm}: expected a new id after the track was dropped: {ids_a}"
    first, second = sorted(set(ids_a), key=ids_a.index)
    assert ids_a.index(second) > ids_a.index(first)
    assert len(set(ids_b)) == 1


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tentative_tracks_need_probation_and_end_early(algorithm: str) -> None:
    tracker = make_tracker(TrackerConfig(algorithm=algorithm, probation_age=3, early_termination_age=1))
    box = Objects.from_arrays([[0, 0, 50, 100]], confidence=[0.9])
    outputs = [len(tracker.update(box, n)) for n in range(3)]
    assert outputs == [0, 0, 1]
    # A clutter box seen once is dropped at its first miss, before it could be confirmed.
    clutter = Objects.from_arrays([[0, 0, 50, 100], [300, 300, 340, 380]], confidence=[0.9, 0.9])
    tracker.update(clutter, 3)
    assert len(tracker.tracks) == 2
    tracker.update(box, 4)
    assert len(tracker.tracks) == 1


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_past_frame_data_of_late_confirmed_tracks(algorithm: str) -> None:
    tracker = make_tracker(TrackerConfig(algorithm=algorithm, probation_age=3))
    for n in range(3):
        out = tracker.update(Objects.from_arrays([[n, 0, 50 + n, 100]], confidence=[0.8], labels=["car"]), n)
    (past,) = tracker.past_frame
    assert past["object_id"] == int(out.object_id[0])
    assert past["label"] == "car"
    assert [f["frame_num"] for f in past["frames"]] == [0, 1]
    assert past["frames"][1]["bbox"] == [1.0, 0.0, 51.0, 100.0]


@pytest.mark.parametrize("check_class_match", [True, False])
def test_per_class_or_class_agnostic_matching(check_class_match: bool) -> None:
    tracker = make_tracker(TrackerConfig(algorithm="sort", probation_age=1, check_class_match=check_class_match,
                                         min_iou_diff_new_target=1.0))
    first = tracker.update(Objects.from_arrays([[0, 0, 50, 100]], class_id=[0]), 0)
    second = tracker.update(Objects.from_arrays([[2, 0, 52, 100]], class_id=[2]), 1)
    same = int(first.object_id[0]) == int(second.object_id[0])
    assert same is (not check_class_match)


def test_bytetrack_recovers_low_confidence_boxes() -> None:
    tracker = make_tracker(TrackerConfig(algorithm="bytetrack", probation_age=1, min_detector_confidence=0.1,
                                         shadow_output_age=0))
    tracker.update(Objects.from_arrays([[0, 0, 50, 100]], confidence=[0.9]), 0)
    assert tracker.update(Objects.from_arrays([[3, 0, 53, 100]], confidence=[0.2]), 1).object_id.tolist() == [1]
    # A low-confidence box alone never starts a track.
    assert len(tracker.update(Objects.from_arrays([[300, 0, 350, 100]], confidence=[0.2]), 2)) == 0
    assert len(tracker.tracks) == 1


def test_deepsort_reidentifies_by_appearance_after_objects_swap_places() -> None:
    config = TrackerConfig(algorithm="deepsort", probation_age=1, max_shadow_tracking_age=30, motion_gating=False)
    tracker = make_tracker(config)
    looks = np.eye(16)[:2]
    first = tracker.update(Objects.from_arrays([[0, 0, 40, 80], [200, 0, 240, 80]], confidence=[0.9, 0.9],
                                               data={"embedding": looks}), 0)
    for n in range(1, 20):
        tracker.update(Objects(), n)
    swapped = tracker.update(Objects.from_arrays([[200, 0, 240, 80], [0, 0, 40, 80]], confidence=[0.9, 0.9],
                                                 data={"embedding": looks}), 20)
    assert swapped.object_id.tolist() == first.object_id.tolist()
    # SORT, by position, gives them each other's ids.
    sort = make_tracker(config.replace(algorithm="sort"))
    sort_first = sort.update(Objects.from_arrays([[0, 0, 40, 80], [200, 0, 240, 80]], confidence=[0.9, 0.9]), 0)
    sort_swapped = sort.update(Objects.from_arrays([[200, 0, 240, 80], [0, 0, 40, 80]], confidence=[0.9, 0.9]), 1)
    assert sort_swapped.object_id.tolist() == sort_first.object_id.tolist()[::-1]


@pytest.mark.parametrize("algorithm", ["sort", "bytetrack", "deepsort"])
def test_skipped_frames_are_predicted_with_motion(algorithm: str) -> None:
    tracker = make_tracker(TrackerConfig(algorithm=algorithm, probation_age=1))
    for n in range(0, 10, 2):
        tracker.update(Objects.from_arrays([[10 * n, 0, 10 * n + 40, 80]], confidence=[0.9]), n)
        predicted = tracker.update(Objects(), n + 1, detected=False)
        assert predicted.object_id.tolist() == [1]
    # After a few detections the prediction sits halfway, 10 px ahead of the last box.
    assert abs(float(predicted.xyxy[0, 0]) - 90) < 3


def test_unique_ids_carry_the_source() -> None:
    tracker = make_tracker(TrackerConfig(probation_age=1, use_unique_id=True), source_id=3)
    out = tracker.update(Objects.from_arrays([[0, 0, 10, 10]]), 0)
    assert int(out.object_id[0]) >> 32 == 3


def test_greedy_matcher_and_new_target_overlap_rule() -> None:
    tracker = make_tracker(TrackerConfig(algorithm="iou", probation_age=1, matcher=0, min_iou_diff_new_target=0.5))
    tracker.update(Objects.from_arrays([[0, 0, 100, 100]]), 0)
    # A duplicate box overlapping the track by IoU 0.8 starts no new track.
    out = tracker.update(Objects.from_arrays([[0, 0, 100, 100], [0, 0, 100, 80]]), 1)
    assert out.object_id.tolist() == [1]
    assert len(tracker.tracks) == 1
