"""CPU pre-processing: nvinfer normalisation, colour formats, letterbox, ROIs, exact box mapping."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.accel.preprocess import Transform, fit, preprocess_batch


def _image(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(height * 1000 + width)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_scale_and_offsets_follow_nvinfer_formula():
    image = _image(8, 8)
    tensor, _ = preprocess_batch([image], 8, 8, net_scale_factor=0.5, offsets=(10, 20, 30))
    expected = 0.5 * (image.astype(np.float32) - np.array([10, 20, 30], np.float32))
    np.testing.assert_allclose(tensor[0], expected.transpose(2, 0, 1), rtol=0, atol=1e-5)


@pytest.mark.parametrize("color_format,channels", [("RGB", 3), ("BGR", 3), ("GRAY", 1)])
def test_color_formats(color_format, channels):
    image = _image(6, 6)
    tensor, _ = preprocess_batch([image], 6, 6, color_format=color_format)
    assert tensor.shape == (1, channels, 6, 6)
    if color_format == "RGB":
        np.testing.assert_array_equal(tensor[0, 0], image[..., 0])
    elif color_format == "BGR":
        np.testing.assert_array_equal(tensor[0, 0], image[..., 2])
        np.testing.assert_array_equal(tensor[0, 2], image[..., 0])
    else:
        import cv2

        np.testing.assert_array_equal(tensor[0, 0], cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))


@pytest.mark.parametrize("size,net,symmetric", [
    ((272, 640), (416, 416), True), ((272, 640), (416, 416), False),
    ((576, 768), (416, 416), True), ((600, 200), (320, 320), True), ((100, 100), (64, 128), True),
])
def test_letterbox_maps_the_image_borders_exactly(size, net, symmetric):
    height, width = size
    net_w, net_h = net
    image = np.full((height, width, 3), 200, np.uint8)
    tensor, (transform,) = preprocess_batch([image], net_w, net_h, maintain_aspect_ratio=True,
                                            symmetric_padding=symmetric, interpolation="nearest")
    new_w, new_h, pad_x, pad_y = fit(width, height, net_w, net_h, True, symmetric)
    # the content sits exactly where the transform says; black padding elsewhere
    content = tensor[0, 0] > 0
    rows, cols = np.flatnonzero(content.any(axis=1)), np.flatnonzero(content.any(axis=0))
    assert (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) == (pad_y, pad_y + new_h, pad_x, pad_x + new_w)
    # the content's network border maps back onto the frame border, both ways
    border = np.array([[pad_x, pad_y, pad_x + new_w, pad_y + new_h]], np.float32)
    np.testing.assert_allclose(transform.to_source(border), [[0, 0, width, height]], atol=1e-4)
    np.testing.assert_allclose(transform.to_network(np.array([[0, 0, width, height]])), border, atol=1e-4)
    # a box inside maps through and back unchanged
    box = np.array([[width * 0.25, height * 0.1, width * 0.75, height * 0.9]], np.float32)
    np.testing.assert_allclose(transform.to_source(transform.to_network(box)), box, atol=1e-3)
    if not symmetric:
        assert pad_x == pad_y == 0


def test_padding_area_maps_outside_and_is_clipped():
    image = np.full((100, 200, 3), 255, np.uint8)
    _, (transform,) = preprocess_batch([image], 64, 64, maintain_aspect_ratio=True, symmetric_padding=True)
    # pad_y = 16: a box reaching into the top padding is clipped to the frame
    np.testing.assert_allclose(transform.to_source(np.array([[0, 0, 64, 64]])), [[0, 0, 200, 100]])
    np.testing.assert_allclose(transform.to_source(np.array([[0, 0, 64, 64]]), clip=False), [[0, -50, 200, 150]])


def test_stretch_without_aspect_ratio():
    image = _image(50, 100)
    _, (transform,) = preprocess_batch([image], 20, 20)
    assert (transform.scale_x, transform.scale_y, transform.pad_x, transform.pad_y) == (0.2, 0.4, 0.0, 0.0)
    np.testing.assert_allclose(transform.to_source(np.array([[0, 0, 20, 20]])), [[0, 0, 100, 50]])


def test_rois_crop_the_right_region_and_map_back_to_the_frame():
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[30:70, 40:100] = (255, 0, 0)  # a red block
    frame[80:110, 10:30] = (0, 0, 255)  # a blue block
    tensor, transforms = preprocess_batch([frame, frame], 16, 16, rois=[(40, 30, 100, 70), (10, 80, 30, 110)])
    assert tensor[0, 0].min() == 255 and tensor[0, 2].max() == 0  # all red
    assert tensor[1, 2].min() == 255 and tensor[1, 0].max() == 0  # all blue
    np.testing.assert_allclose(transforms[0].to_source(np.array([[0, 0, 16, 16]])), [[40, 30, 100, 70]])
    np.testing.assert_allclose(transforms[1].to_source(np.array([[0, 0, 16, 16]])), [[10, 80, 30, 110]])


def test_float16_and_bad_arguments():
    tensor, _ = preprocess_batch([_image(4, 4)], 4, 4, dtype="float16")
    assert tensor.dtype == np.float16
    with pytest.raises(ValueError, match="color_format"):
        preprocess_batch([_image(4, 4)], 4, 4, color_format="YUV")
    with pytest.raises(ValueError, match="interpolation"):
        preprocess_batch([_image(4, 4)], 4, 4, interpolation="magic")


def test_transform_is_a_plain_value():
    transform = Transform(0.5, 0.5, 2, 3, 10, 20, 100, 100)
    np.testing.assert_allclose(transform.to_source(np.array([[2, 3, 12, 13]])), [[10, 20, 30, 40]])
