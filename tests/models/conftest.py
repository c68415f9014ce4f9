"""Fixtures of the model-zoo tests: the zoo's models (fetched once, cached) and real frames."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sample_frames(bikes, vtest):
    """Real RGB frames: bikes.mp4 frames 30, 40, 110, 120, 130, 160 and vtest.avi frames 0, 100, 200."""
    import av

    wanted = {bikes: {30, 40, 110, 120, 130, 160}, vtest: {0, 100, 200}}
    frames = []
    for path, indices in wanted.items():
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in indices:
                    frames.append(frame.to_ndarray(format="rgb24"))
                if index >= max(indices):
                    break
    return frames
