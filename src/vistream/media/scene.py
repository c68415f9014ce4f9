"""Synthetic scenes with moving objects and exact ground truth (for tests and tracker evaluation).

Example:
    >>> from vistream.media.scene import Scene
    >>> scene = Scene.random(width=320, height=240, num_objects=3, seed=1)
    >>> image, truth = scene.render(0)
    >>> image.shape, len(truth), truth.object_id.tolist()
    ((240, 320, 3), 3, [1, 2, 3])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vistream.core.meta import Objects

#: (class_id, label) used for synthetic objects; ids follow COCO so real-model code paths apply.
SCENE_CLASSES = ((0, "person"), (2, "car"), (1, "bicycle"), (3, "motorcycle"))


@dataclass
class SceneObject:
    """A box moving along piecewise-linear keyframes ``(frame, cx, cy)``; present between them."""

    object_id: int
    class_id: int
    label: str
    size: tuple[float, float]
    keyframes: list[tuple[int, float, float]]
    color: tuple[int, int, int]
    z: int = 0

    def center(self, frame: int) -> tuple[float, float] | None:
        """Center at ``frame`` or None when the object is not in the scene."""
        frames = [k[0] for k in self.keyframes]
        if frame < frames[0] or frame > frames[-1]:
            return None
        x = float(np.interp(frame, frames, [k[1] for k in self.keyframes]))
        y = float(np.interp(frame, frames, [k[2] for k in self.keyframes]))
        return x, y


@dataclass
class Scene:
    """A background and moving objects; :meth:`render` returns the image and visible ground truth."""

    width: int
    height: int
    objects: list[SceneObject] = field(default_factory=list)
    background: tuple[int, int, int] = (40, 40, 40)
    jitter: float = 0.0  # camera shake amplitude in pixels
    seed: int = 0

    @classmethod
    def random(cls, width: int, height: int, num_objects: int, seed: int = 0,
               num_frames: int = 10_000, object_size: float = 0.12) -> Scene:
        """Objects crossing the frame with constant velocity, bouncing off the borders."""
        rng = np.random.default_rng(seed)
        scene = cls(width, height, seed=seed)
        for index in range(num_objects):
            class_id, label = SCENE_CLASSES[index % len(SCENE_CLASSES)]
            w = float(rng.uniform(0.6, 1.4) * object_size * width)
            h = float(rng.uniform(0.6, 1.4) * object_size * height * 1.5)
            position = np.array([rng.uniform(w, width - w), rng.uniform(h, height - h)])
            velocity = rng.uniform(-4, 4, size=2) + np.sign(rng.uniform(-1, 1, size=2))
            keyframes = [(0, *position)]
            # Bounce off borders: emit a keyframe at each bounce so motion stays piecewise linear.
            for frame in range(1, num_frames):
                position = position + velocity
                bounced = False
                for axis, limit, half in ((0, width, w / 2), (1, height, h / 2)):
                    if position[axis] < half or position[axis] > limit - half:
                        velocity[axis] = -velocity[axis]
                        position[axis] = np.clip(position[axis], half, limit - half)
                        bounced = True
                if bounced:
                    keyframes.append((frame, *position))
            keyframes.append((num_frames - 1, *position))
            color = tuple(int(c) for c in rng.integers(80, 256, size=3))
            scene.objects.append(SceneObject(index + 1, class_id, label, (w, h), keyframes, color, z=index))
        return scene

    def truth(self, frame: int) -> tuple[Objects, np.ndarray]:
        """Ground truth at ``frame`` (boxes clipped to the image) and each object's visible fraction."""
        rows, ids, classes, labels, visible = [], [], [], [], []
        offset = self._shake(frame)
        present = [(obj, obj.center(frame)) for obj in sorted(self.objects, key=lambda o: o.z)]
        boxes = []
        for obj, center in present:
            if center is None:
                continue
            w, h = obj.size
            box = np.array([center[0] - w / 2, center[1] - h / 2, center[0] + w / 2, center[1] + h / 2]) + np.tile(offset, 2)
            clipped = np.clip(box, [0, 0, 0, 0], [self.width, self.height, self.width, self.height])
            if clipped[2] - clipped[0] < 1 or clipped[3] - clipped[1] < 1:
                continue
            boxes.append((obj, clipped))
        occupancy = np.zeros((self.height, self.width), dtype=np.int32) - 1
        for index, (_, box) in enumerate(boxes):
            x1, y1, x2, y2 = np.round(box).astype(int)
            occupancy[y1:y2, x1:x2] = index
        for index, (obj, box) in enumerate(boxes):
            x1, y1, x2, y2 = np.round(box).astype(int)
            area = max((x2 - x1) * (y2 - y1), 1)
            shown = float((occupancy[y1:y2, x1:x2] == index).sum()) / area
            rows.append(box)
            ids.append(obj.object_id)
            classes.append(obj.class_id)
            labels.append(obj.label)
            visible.append(shown)
        objects = Objects.from_arrays(
            np.array(rows, dtype=np.float32).reshape(-1, 4), class_id=classes, object_id=ids, labels=labels,
            data={"visibility": np.array(visible, dtype=np.float32)},
        )
        return objects, np.array(visible, dtype=np.float32)

    def render(self, frame: int) -> tuple[np.ndarray, Objects]:
        """RGB image of the scene at ``frame`` and its ground truth (objects drawn in z order)."""
        image = np.empty((self.height, self.width, 3), dtype=np.uint8)
        image[:] = self.background
        # A faint texture so encoders and motion-based code see something besides flat colour.
        image[:: 16, :, :] = 60
        image[:, :: 16, :] = 60
        truth, _ = self.truth(frame)
        colors = {obj.object_id: obj.color for obj in self.objects}
        for box, object_id in zip(truth.xyxy, truth.object_id):
            x1, y1, x2, y2 = np.round(box).astype(int)
            image[y1:y2, x1:x2] = colors[int(object_id)]
            image[y1:y1 + 2, x1:x2] = 255
        return image, truth

    def _shake(self, frame: int) -> np.ndarray:
        if not self.jitter:
            return np.zeros(2)
        rng = np.random.default_rng((self.seed, frame))
        return rng.uniform(-self.jitter, self.jitter, size=2)
