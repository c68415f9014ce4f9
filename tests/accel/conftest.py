"""Fixtures of the torch / GPU code path tests: real decoded frames."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def bikes_frames(bikes):
    """Two frames of bikes.mp4 as (rgb24 HxWx3, nv12 [H*3/2, W]) numpy arrays, decoded by PyAV."""
    import av

    frames = []
    with av.open(str(bikes)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in (10, 120):
                frames.append((frame.to_ndarray(format="rgb24"), frame.to_ndarray(format="nv12")))
            if len(frames) == 2:
                break
    return frames
