from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import vistream
from vistream.core.buffer import Frame
from vistream.elements.streammux import letterbox


def test_four_real_sources_exact_counts_and_bounded_batches(tmp_path: Path, bikes, vtest, bunny):
    out = tmp_path / "meta.jsonl"
    pipeline = vistream.parse_launch(
        f"urisrc uri={bikes} ! mux.sink_0 "
        f"urisrc uri={vtest} num-buffers=120 ! mux.sink_1 "
        f"urisrc uri={bunny} ! mux.sink_2 "
        "testsrc num-buffers=90 pattern=ball ! mux.sink_3 "
        f"streammux name=mux batch-size=4 width=640 height=360 enable-padding=true ! jsonsink location={out}"
    )
    sizes: list[int] = []
    pipeline["mux"].src.add_probe(lambda batch: sizes.append(len(batch)))
    pipeline.run(timeout=120)
    assert not pipeline.bus.errors
    per_source: dict[int, list[int]] = {}
    for line in out.read_text().splitlines():
        record = json.loads(line)
        assert (record["width"], record["height"]) == (640, 360)
        per_source.setdefault(record["source_id"], []).append(record["frame_num"])
    assert {k: len(v) for k, v in per_source.items()} == {0: 250, 1: 120, 2: 132, 3: 90}
    for numbers in per_source.values():
        assert numbers == list(range(len(numbers)))
    assert max(sizes) <= 4 and sum(sizes) == 250 + 120 + 132 + 90


@pytest.mark.parametrize(
    ("shape", "target", "keep", "expected"),
    [
        ((50, 100), (64, 64), True, (0.64, 0.64, 0.0, 16.0)),
        ((100, 50), (64, 64), True, (0.64, 0.64, 16.0, 0.0)),
        ((50, 100), (200, 100), False, (2.0, 2.0, 0.0, 0.0)),
        ((48, 64), (32, 32), False, (0.5, 32 / 48, 0.0, 0.0)),
    ],
)
def test_letterbox_transform(shape, target, keep, expected):
    image, transform = letterbox(np.zeros((*shape, 3), np.uint8), *target, keep_aspect=keep)
    assert image.shape == (target[1], target[0], 3)
    assert transform == pytest.approx(expected)


def test_scaling_maps_existing_boxes_and_keeps_content_inside_padding():
    mux = vistream.make_element("streammux", width=200, height=200, enable_padding=True)
    image = np.full((100, 200, 3), 255, np.uint8)
    frame = Frame.from_image(image)
    frame.meta.objects = vistream.Objects.from_arrays([[0, 0, 200, 100]])
    mux._scale(frame)
    assert frame.image.shape == (200, 200, 3)
    assert frame.meta.objects.xyxy.tolist() == [[0, 50, 200, 150]]
    assert frame.image[49].max() == 0 and frame.image[50].min() == 255 and frame.image[150].max() == 0


def test_push_timeout_sends_partial_batches_for_slow_live_sources():
    pipeline = vistream.parse_launch(
        "testsrc live=true framerate=20 num-buffers=10 width=32 height=32 ! mux.sink_0 "
        "testsrc live=true framerate=5 num-buffers=3 width=32 height=32 ! mux.sink_1 "
        "streammux name=mux batch-size=8 batched-push-timeout=40000 live-source=true ! appsink name=out")
    pipeline.run(timeout=20)
    sizes = [len(b) for b in pipeline["out"].batches]
    assert sum(sizes) == 13
    assert max(sizes) < 8 and len(sizes) >= 5  # pushed on the timeout, never waited for a full batch of 8


def test_auto_batch_size_is_the_number_of_sources():
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=30 width=32 height=32 ! mux.sink_0 testsrc num-buffers=30 width=32 height=32 ! mux.sink_1 "
        "testsrc num-buffers=30 width=32 height=32 ! mux.sink_2 streammux name=mux batched-push-timeout=1000000 ! appsink name=out")
    pipeline.run(timeout=20)
    sizes = [len(b) for b in pipeline["out"].batches]
    assert max(sizes) == 3 and sum(sizes) == 90
