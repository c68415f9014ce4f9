"""tiler: mosaic size, frame count and tile placement survive encode + decode; objects are mapped."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import av
import cv2
import numpy as np
import pytest

import vistream
from vistream.core.buffer import Batch, Frame
from vistream.core.element import Element, Source
from vistream.core.meta import DisplayMeta, Objects
from vistream.elements.osd import Osd
from vistream.elements.sinks import AppSink
from vistream.elements.tiler import Tiler, TilerElement, grid_for
from vistream.media.encode import Encode
from vistream.media.filesink import FileSink
from vistream.media.testsrc import TestSource

PATTERNS = ["black", "white", "smpte", "gradient"]


@functools.cache
def pattern_image(pattern: str, width: int = 320, height: int = 240) -> np.ndarray:
    """The first frame of ``testsrc pattern=...`` (its generator, no pipeline needed)."""
    source = TestSource(pattern=pattern, width=width, height=height, num_buffers=1)
    source.start()
    return next(iter(source.generate())).image


class PatternStreams(Source):
    """Batches of one frame per pattern source, as a streammux with full batches would give."""

    images: list[np.ndarray] = []
    count = 30

    def generate(self) -> Iterator[Batch]:
        for n in range(self.count):
            yield Batch([Frame.from_image(image, source_id=i, frame_num=n, pts=n * 50_000_000, fps=20.0)
                         for i, image in enumerate(self.images)])


def tiled(tiler: TilerElement, *downstream: Element, patterns: list[str] = PATTERNS, count: int = 30,
          size: tuple[int, int] = (320, 240)) -> vistream.Pipeline:
    """source -> tiler -> downstream..., the source giving ``count`` batches of the patterns."""
    source = PatternStreams(name="src")
    source.images = [pattern_image(p, *size) for p in patterns]
    source.count = count
    pipeline = vistream.Pipeline()
    pipeline.add(source, tiler, *downstream)
    pipeline.link_many(source, tiler, *downstream)
    return pipeline


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def assert_tiles_placed(image: np.ndarray) -> None:
    expected = [cv2.resize(pattern_image(p), (320, 180), interpolation=cv2.INTER_AREA).astype(int) for p in PATTERNS]
    for tile in range(4):
        row, column = divmod(tile, 2)
        got = image[row * 180:(row + 1) * 180, column * 320:(column + 1) * 320].astype(int)
        errors = [np.abs(got - e).mean() for e in expected]
        assert errors[tile] < 6, (tile, errors)
        assert min(e for i, e in enumerate(errors) if i != tile) > 30, (tile, errors)


def test_four_streams_tiled_decode_back_with_size_count_and_placement(tmp_path) -> None:
    path = tmp_path / "tiled.mp4"
    pipeline = tiled(TilerElement(width=640, height=360, show_labels=False), Encode(crf=12),
                     FileSink(location=str(path)))
    pipeline.run(timeout=60)
    assert not pipeline.bus.errors
    images = decode(path)
    assert len(images) == 30
    assert images[0].shape == (360, 640, 3)
    assert_tiles_placed(images[0])
    assert_tiles_placed(images[-1])


def test_four_live_sources_through_streammux(tmp_path) -> None:
    path = tmp_path / "tiled.mkv"
    sources = " ".join(f"testsrc live=true framerate=20 pattern={p} width=320 height=240 num-buffers=20 ! mux.sink_{i}"
                       for i, p in enumerate(PATTERNS))
    pipeline = vistream.parse_launch(
        f"{sources} streammux name=mux batch-size=4 batched-push-timeout=2000000 ! tiler name=tiler width=640 "
        f"height=360 show-labels=false ! encode crf=12 ! filesink location={path}")
    emitted = []
    pipeline["tiler"].src.add_probe(emitted.append)
    pipeline.run(timeout=60)
    assert not pipeline.bus.errors
    images = decode(path)
    # streammux decides the batches of live sources; every mosaic it led to is in the file
    assert len(images) == len(emitted) >= 20
    assert images[-1].shape == (360, 640, 3)
    assert_tiles_placed(images[len(images) // 2])  # (at the end, ended sources' tiles go black)


def test_objects_and_display_meta_are_mapped_into_tiles() -> None:
    tiler = Tiler(rows=2, columns=2, width=400, height=200)
    frames = []
    for source_id in range(4):
        frame = Frame.from_image(np.zeros((100, 100, 3), np.uint8), source_id=source_id)
        frame.meta.objects = Objects.from_arrays([[10, 20, 50, 60]], class_id=[source_id])
        frame.meta.display = [DisplayMeta(lines=[((0, 0), (100, 100), (255, 0, 0), 1)])]
        frames.append(frame)
    canvas, objects, displays = tiler.compose(frames)
    # tiles are 200x100: x scales by 2, y by 1
    np.testing.assert_allclose(objects.xyxy, [[20, 20, 100, 60], [220, 20, 300, 60],
                                              [20, 120, 100, 160], [220, 120, 300, 160]])
    assert objects.data["source_id"].tolist() == [0, 1, 2, 3]
    assert displays[3].lines[0][:2] == ((200.0, 100.0), (400.0, 200.0))


def test_tile_labels_name_each_source() -> None:
    tiler = Tiler(rows=1, columns=2, width=400, height=100, labels=True)
    frames = [Frame.from_image(np.zeros((100, 100, 3), np.uint8), source_id=i, source_name=f"cam{i}") for i in range(2)]
    canvas, _, _ = tiler.compose(frames)
    assert canvas[5:25, 5:60].max() > 200 and canvas[5:25, 205:260].max() > 200  # caption in each tile's corner
    assert not canvas[40:, :].any()


def test_show_source_full_size_and_switch_while_running() -> None:
    tiler = TilerElement(width=320, height=240, show_source=1, show_labels=False)
    out = AppSink()
    pipeline = tiled(tiler, out, patterns=["black", "white"], count=20, size=(160, 120))

    def switch(batch):
        if batch.frames[0].frame_num == 9:  # runs in the tiler's thread, after its 10th mosaic
            tiler.set_property("show-source", -1)

    tiler.src.add_probe(switch)
    pipeline.run(timeout=30)
    frames = list(out.frames())
    assert len(frames) == 20
    assert frames[9].image.min() > 200  # white source fills the frame
    assert frames[10].image[:, :160].max() < 40 and frames[10].image[:, 160:].min() > 200


@pytest.mark.parametrize(("count", "grid"), [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (4, (2, 2)), (5, (2, 3)),
                                             (9, (3, 3)), (10, (3, 4))])
def test_automatic_grid(count: int, grid: tuple[int, int]) -> None:
    assert grid_for(count) == grid


def test_osd_after_tiler_draws_boxes_in_tile_coordinates() -> None:
    out = AppSink()
    pipeline = tiled(TilerElement(rows=1, columns=2, width=400, height=100, show_labels=False),
                     Osd(display_text=False, border_width=1), out, patterns=["black", "black"], count=3,
                     size=(200, 100))

    def add(batch):
        for frame in batch.frames:
            frame.meta.objects = Objects.from_arrays([[20, 20, 60, 80]], class_id=[1])

    pipeline["src"].src.add_probe(add)
    pipeline.run(timeout=30)
    image = next(out.frames()).image
    assert image[20, 20:61].any(axis=1).all() and image[20, 220:261].any(axis=1).all()
    assert not image[50, 100:200].any()
