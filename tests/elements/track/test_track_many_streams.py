"""One tracker for many streams (``update_many``) gives what one tracker per stream gives."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.core.meta import Objects
from vistream.elements.track import ALGORITHMS, TrackerConfig, make_tracker
from vistream.elements.track import base as track_base
from vistream.elements.track.base import TrackInput


def _scene(rng: np.random.Generator, streams: int, frames: int) -> dict[int, list[Objects | None]]:
    """Per stream, per frame: walking objects that come and go (None: no detector on that frame)."""
    scenes: dict[int, list[Objects | None]] = {}
    for stream in range(streams):
        count = int(rng.integers(0, 6))
        start = rng.uniform(0, 600, (count, 2))
        speed = rng.uniform(-4, 4, (count, 2))
        size = rng.uniform(30, 90, (count, 2))
        looks = rng.normal(size=(count, 8))
        sequence: list[Objects | None] = []
        for n in range(frames):
            if rng.random() < 0.15:
                sequence.append(None)
                continue
            shown = rng.random(count) > 0.2  # objects missed now and then
            corner = start[shown] + speed[shown] * n + rng.normal(0, 1.0, (int(shown.sum()), 2))
            boxes = np.concatenate([corner, corner + size[shown]], axis=1)
            sequence.append(Objects.from_arrays(boxes, confidence=rng.uniform(0.05, 1.0, len(boxes)),
                                                class_id=rng.integers(0, 2, len(boxes)),
                                                data={"embedding": looks[shown]}))
        scenes[stream * 3 + 1] = sequence  # sparse source ids
    return scenes


def _summary(objects: Objects) -> list[tuple]:
    return [(int(i), tuple(np.round(b, 3)), int(c)) for i, b, c in
            zip(objects.object_id, objects.xyxy, objects.class_id, strict=True)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("seed", [0, 1])
def test_update_many_equals_one_tracker_per_stream(algorithm: str, seed: int, monkeypatch) -> None:
    rng = np.random.default_rng(seed)
    scenes = _scene(rng, streams=7, frames=40)
    config = TrackerConfig(algorithm=algorithm, probation_age=2, max_shadow_tracking_age=3, shadow_output_age=2,
                           max_targets_per_stream=4, use_unique_id=seed == 1, matcher=seed, check_class_match=True)
    if seed == 1:  # small groups: the split of a call into groups of streams must not matter either
        monkeypatch.setattr(track_base, "PAIR_LIMIT", 12)
    alone = {source: make_tracker(config, source) for source in scenes}
    together = make_tracker(config)
    for n in range(40):
        # streams that have a frame now (some streams skip frames), in a shuffled order
        present = [s for s in scenes if rng.random() > 0.1]
        rng.shuffle(present)
        inputs = []
        for source in present:
            objects = scenes[source][n]
            inputs.append(TrackInput(source, objects if objects is not None else Objects(), n, objects is not None))
        results = together.update_many(inputs)
        for item, result in zip(inputs, results, strict=True):
            expected = alone[item.source_id].update(item.objects, n, detected=item.detected)
            assert _summary(result.objects) == _summary(expected), (algorithm, n, item.source_id)
            assert result.past_frame == alone[item.source_id].past_frame
    assert len(together.tracks) == sum(len(t.tracks) for t in alone.values())


def test_update_many_takes_one_frame_per_stream() -> None:
    tracker = make_tracker(TrackerConfig(algorithm="iou"))
    with pytest.raises(ValueError, match="one frame per stream"):
        tracker.update_many([TrackInput(3, Objects(), 0), TrackInput(3, Objects(), 1)])


def test_forget_drops_one_stream() -> None:
    tracker = make_tracker(TrackerConfig(algorithm="sort", probation_age=1))
    box = Objects.from_arrays([[0, 0, 10, 10]], confidence=[0.9])
    tracker.update_many([TrackInput(0, box, 0), TrackInput(1, box, 0)])
    tracker.forget(0)
    assert tracker.tracks.source.tolist() == [1]
    (again,) = tracker.update_many([TrackInput(0, box, 1)])
    assert again.objects.object_id.tolist() == [1]  # a stream that comes back counts from 1 again
