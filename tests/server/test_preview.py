"""Previews: latest JPEG per stream and a live MJPEG stream whose frames change."""

from __future__ import annotations

import cv2
import numpy as np

from vistream.server.preview import PreviewTap, encode_jpeg
from vistream.server.uris import UriPolicy


def test_encode_jpeg_scales_down_and_keeps_colour() -> None:
    image = np.zeros((100, 1000, 3), np.uint8)
    image[..., 0] = 255  # pure red in RGB
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(image, max_width=200), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (20, 200, 3)
    assert decoded[10, 100, 2] > 240 and decoded[10, 100, 0] < 20  # BGR: red channel last


def test_tap_rate_limits_per_source() -> None:
    from vistream.core.buffer import Batch, Frame

    tap = PreviewTap(max_fps=2)
    for i in range(10):
        tap(Batch([Frame.from_image(np.full((8, 8, 3), i, np.uint8), source_id=0),
                   Frame.from_image(np.full((8, 8, 3), i, np.uint8), source_id=1)]))
    assert tap._latest[0][0] == 1 and tap._latest[1][0] == 1  # one encode each within half a second
    tap.forget(0)
    assert tap.latest(0) is None and tap.latest(1) is not None


def test_mjpeg_over_http_delivers_changing_frames(serve, wait_until) -> None:
    server, client = serve("streammux name=mux ! fakesink name=sink", policy=UriPolicy(schemes=("lavfi",)),
                           preview_fps=20)
    client.post("/api/streams", json={"name": "bars", "uri": "lavfi:testsrc2=size=128x96:rate=25",
                                      "properties": {"sync": True}})
    wait_until(lambda: client.get("/api/streams/bars/preview.jpg").status_code == 200, 15, what="a preview")
    jpeg = client.get("/api/streams/bars/preview.jpg")
    assert jpeg.headers["content-type"] == "image/jpeg" and jpeg.content[:2] == b"\xff\xd8"
    parts: list[bytes] = []
    with client.stream("GET", "/api/streams/bars/preview.mjpg") as response:
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=frame")
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            while b"\r\n\r\n" in buffer and len(parts) < 3:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(rest) < length:
                    break
                parts.append(rest[:length])
                buffer = rest[length + 2:]
            if len(parts) >= 3:
                break
    images = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in parts]
    assert all(i.shape == (96, 128, 3) for i in images)
    assert not np.array_equal(images[0], images[2]), "the MJPEG frames do not change"
    assert client.get("/api/streams/nope/preview.jpg").status_code == 404
