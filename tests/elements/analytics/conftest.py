"""Helpers for the analytics tests: run a hand-made scene through ``analytics`` with its ground truth
as the detections (as a perfect detector + tracker would give)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import vistream
from vistream.media.scene import Scene


def _truth_as_detections(batch: Any) -> None:
    for frame in batch:
        frame.meta.objects = frame.meta.user_meta("ground-truth")[0].copy()


@pytest.fixture
def run_scene() -> Callable[..., list[Any]]:
    """``run_scene(scene, frames, config) -> frames`` with analytics results on each frame."""

    def run(scene: Scene, frames: int, config: dict[str, Any] | None = None, fps: float = 10.0,
            **analytics: Any) -> list[Any]:
        pipeline = vistream.parse_launch(
            f"testsrc name=src pattern=scene width={scene.width} height={scene.height} num-buffers={frames} "
            f"framerate={fps} ! analytics name=analytics ! appsink name=out")
        pipeline["src"].scene = scene
        pipeline["analytics"].set_properties(**analytics)
        if config is not None:
            pipeline["analytics"].config = config
        pipeline["src"].src.add_probe(_truth_as_detections)
        pipeline.run(timeout=60)
        assert not pipeline.bus.errors, [str(m) for m in pipeline.bus.errors]
        return list(pipeline["out"].frames())

    return run
