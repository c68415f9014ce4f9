"""osd: boxes land on the metadata's pixels, privacy masks change only the chosen regions."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

import vistream
from vistream.accel.draw import DrawStyle, class_color, draw_frame
from vistream.core.errors import PropertyError
from vistream.core.meta import DisplayMeta, Objects
from vistream.elements.osd import BoxAnnotator, Osd, TrailHistory, cpu_fallback_drawer, drawer_for

BOXES = np.array([[20, 30, 120, 90], [150, 40, 260, 180], [40, 120, 100, 190]], dtype=np.float32)


def ring(shape: tuple[int, int], box: np.ndarray, grow: int) -> np.ndarray:
    """Pixels within ``grow`` of the outline of ``box``."""
    x1, y1, x2, y2 = (int(v) for v in box)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    outer = (xx >= x1 - grow) & (xx <= x2 + grow) & (yy >= y1 - grow) & (yy <= y2 + grow)
    inner = (xx > x1 + grow) & (xx < x2 - grow) & (yy > y1 + grow) & (yy < y2 - grow)
    return outer & ~inner


@pytest.mark.parametrize("thickness", [1, 3])
def test_boxes_land_on_the_metadata_pixels(thickness: int) -> None:
    objects = Objects.from_arrays(BOXES, class_id=[0, 1, 2])
    image = BoxAnnotator(border_width=thickness, show_labels=False, show_confidence=False,
                         show_track_id=False).annotate(np.zeros((200, 300, 3), np.uint8), objects)
    drawn = image.any(axis=2)
    grow = 0 if thickness == 1 else (thickness + 1) // 2  # OpenCV thick lines reach (t + 1) / 2 each side
    expected = np.zeros_like(drawn)
    for box, class_id in zip(BOXES, [0, 1, 2], strict=True):
        band = ring(drawn.shape, box, grow)
        expected |= band
        outline = ring(drawn.shape, box, 0)
        colors = image[outline]
        # every pixel of the exact outline has the class colour (boxes do not overlap here)
        assert (colors == class_color(class_id)).all(), class_id
    if thickness == 1:
        assert np.array_equal(drawn, expected)
    else:
        assert not (drawn & ~expected).any(), "pixels drawn away from any box outline"
        assert drawn[expected].mean() > 0.95


def test_class_colour_override_and_labels_above_box() -> None:
    objects = Objects.from_arrays(BOXES[:1], confidence=[0.87], class_id=[4], object_id=[12], labels=["person"])
    style = DrawStyle(colors={4: (10, 200, 30)}, border_width=1)
    image = draw_frame(np.zeros((200, 300, 3), np.uint8), objects, [], style)
    assert tuple(image[30, 70]) == (10, 200, 30)
    label_area = image[5:30, 20:200]
    assert (label_area == (10, 200, 30)).all(axis=2).sum() > 100, "label background in class colour"
    assert (label_area.min(axis=2) > 180).sum() > 20, "white label text"
    assert not image[32:88, 22:118].any(), "box inside untouched"


def first_frame(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


@pytest.mark.parametrize("mode", ["blur", "pixelate", "fill"])
def test_privacy_changes_only_the_chosen_regions(bikes, mode: str) -> None:
    image = first_frame(bikes)
    objects = Objects.from_arrays([[400, 80, 480, 160], [160, 60, 240, 160]], class_id=[0, 7])
    out = BoxAnnotator(privacy_classes=[0], privacy_mode=mode, show_boxes=False, show_labels=False,
                       show_confidence=False, show_track_id=False).annotate(image, objects)
    changed = (out != image).any(axis=2)
    inside = np.zeros_like(changed)
    inside[80:161, 400:481] = True
    assert not (changed & ~inside).any(), "pixels outside the private box changed"
    assert changed[inside].mean() > 0.5

    def detail(img: np.ndarray) -> float:  # high-frequency content left in the private box
        return float(cv2.Laplacian(cv2.cvtColor(img[80:161, 400:481], cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())

    region = out[80:161, 400:481].reshape(-1, 3)
    if mode == "blur":
        assert detail(out) < 0.3 * detail(image)
    elif mode == "pixelate":  # 81x81 pixels in blocks of 16: at most 6x6 distinct colours
        assert len(np.unique(region, axis=0)) <= 36 < len(np.unique(image[80:161, 400:481].reshape(-1, 3), axis=0))
    else:
        assert not region.any()


def test_private_objects_get_no_box_while_others_do() -> None:
    image = np.full((200, 300, 3), 128, np.uint8)
    objects = Objects.from_arrays(BOXES[:2], class_id=[0, 1])
    out = BoxAnnotator(privacy_classes=[0], border_width=1, show_labels=False, show_confidence=False,
                       show_track_id=False).annotate(image, objects)
    assert tuple(out[30, 70]) == (128, 128, 128)  # private box: masked (flat image stays flat), no outline
    assert tuple(out[40, 200]) == class_color(1)


def test_display_meta_lines_polygons_texts() -> None:
    display = DisplayMeta(lines=[((10, 10), (10, 150), (255, 0, 0), 1)],
                          polygons=[([(100, 100), (200, 100), (200, 180)], (0, 255, 0), 1)],
                          texts=[((220, 40), "zone A", (0, 0, 255))],
                          rects=[((250, 150, 290, 190), (255, 255, 0), 1)])
    out = draw_frame(np.zeros((200, 300, 3), np.uint8), Objects(), [display], DrawStyle())
    assert out[20:140, 10, 0].min() > 100 and not out[20:140, 10, 1:].any()
    assert out[100, 120:190, 1].min() > 100  # polygon's top edge
    assert out[25:45, 220:290, 2].max() > 100  # text
    assert tuple(out[150, 270]) == (255, 255, 0)


def test_trails_follow_track_centres() -> None:
    history = TrailHistory(length=3)
    for step in range(5):
        trails = history.update(0, Objects.from_arrays([[10 + 10 * step, 10, 30 + 10 * step, 50]], object_id=[7]))
    (track_id, points), = trails
    assert track_id == 7
    np.testing.assert_allclose(points, [[40, 50], [50, 50], [60, 50]])
    for _ in range(4):
        trails = history.update(0, Objects())
    assert trails == [] and history._points[0] == {}
    out = draw_frame(np.zeros((100, 100, 3), np.uint8), Objects(), [], DrawStyle(), [(7, points)])
    assert out[50, 42:58].any(axis=1).all() and not out[20].any()


def test_osd_in_a_pipeline_draws_what_a_probe_attached(bikes) -> None:
    pipeline = vistream.parse_launch(
        f"urisrc uri={bikes} num-buffers=6 ! osd name=osd border-width=2 display-text=false trail-length=4 "
        "! appsink name=out")
    box = np.array([[200, 60, 320, 200]], np.float32)

    def add_objects(batch):
        for frame in batch.frames:
            frame.extra["original"] = frame.image.copy()
            frame.meta.objects = Objects.from_arrays(box + frame.frame_num * 4, class_id=[3], object_id=[1])

    pipeline["osd"].sink.peer.element.src.add_probe(add_objects)
    pipeline.run(timeout=30)
    frames = list(pipeline["out"].frames())
    assert len(frames) == 6 and not pipeline.bus.errors
    for frame in frames:
        x1, y1, x2, y2 = (int(v) for v in frame.meta.objects.xyxy[0])
        assert (frame.image[y1, x1 + 5:x2 - 5] == class_color(3)).all()
        changed = (frame.image != frame.extra["original"]).any(axis=2)
        allowed = ring(changed.shape, [x1, y1, x2, y2], 3)
        first = max(0, frame.frame_num - 3)  # the trail: bottom centres of the last 4 boxes
        allowed[200 + 4 * first - 3:y2 + 4, 260 + 4 * first - 3:(x1 + x2) // 2 + 4] = True
        assert not (changed & ~allowed).any()


def test_bad_properties_name_what_is_valid() -> None:
    with pytest.raises(PropertyError, match="blur"):
        Osd(privacy_mode="smudge")
    with pytest.raises(PropertyError, match="colors"):
        Osd(colors="1:300,0,0")


@pytest.mark.parametrize("layout", ["hwc", "chw"])
def test_tensor_fallback_draws_like_the_numpy_path(layout: str) -> None:
    import torch  # make venv installs the CPU build
    objects = Objects.from_arrays(BOXES, confidence=[0.5, 0.6, 0.7], class_id=[0, 1, 2], object_id=[1, 2, 3])
    style = DrawStyle()
    expected = draw_frame(np.zeros((200, 300, 3), np.uint8), objects, [], style)
    tensor = torch.zeros((200, 300, 3), dtype=torch.uint8)
    if layout == "chw":
        tensor = tensor.permute(2, 0, 1).contiguous()
    out = cpu_fallback_drawer(tensor, objects, [], style)
    assert out is tensor  # drawn in place, like the CPU path
    got = (tensor.permute(1, 2, 0) if layout == "chw" else tensor).numpy()
    assert np.array_equal(got, expected)
    assert drawer_for("cpu") is draw_frame
