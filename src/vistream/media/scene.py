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
    in_truth: bool = True  # False for scenery that only hides others (pillars, trees)

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

    @classmethod
    def hard(cls, width: int = 960, height: int = 540, num_objects: int = 16, num_frames: int = 300,
             seed: int = 0, jitter: float = 2.0, pillars: int = 2, object_size: float = 0.07) -> Scene:
        """A tracking test: objects enter and leave at the borders, cross each other in shared lanes
        (the nearer one hides the other), stop for a while, pass behind pillars (scenery that hides
        them completely for several frames), and the camera shakes by ``jitter`` pixels.

        Example:
            >>> scene = Scene.hard(num_objects=6, num_frames=100, seed=3)
            >>> truth, visible = scene.truth(50)
            >>> bool(len(truth) > 0), bool(visible.max() <= 1.0)
            (True, True)
        """
        rng = np.random.default_rng(seed)
        scene = cls(width, height, jitter=jitter, seed=seed)
        pillar_w = 0.08 * width
        for index in range(pillars):
            cx = width * (index + 1) / (pillars + 1)
            scene.objects.append(SceneObject(
                100_000 + index, -1, "pillar", (pillar_w, 0.8 * height),
                [(0, cx, height / 2), (num_frames, cx, height / 2)], (90, 90, 110), z=1_000_000, in_truth=False))
        lanes = np.linspace(0.3, 0.7, 3) * height
        for index in range(num_objects):
            class_id, label = SCENE_CLASSES[index % len(SCENE_CLASSES)]
            w = float(rng.uniform(0.7, 1.3) * object_size * width)
            h = float(w * rng.uniform(1.6, 2.4))
            y = float(lanes[rng.integers(len(lanes))] + rng.uniform(-0.04, 0.04) * height)
            leftwards = bool(rng.integers(2))
            x_start, x_end = (width + w / 2, -w / 2) if leftwards else (-w / 2, width + w / 2)
            speed = float(rng.uniform(2.0, 5.0))
            start = int(rng.integers(0, max(num_frames // 2, 1)))
            drift = float(rng.uniform(-0.1, 0.1) * height)
            keyframes: list[tuple[int, float, float]] = [(start, x_start, y)]
            travel = abs(x_end - x_start)
            if rng.random() < 0.4:  # stop somewhere in the middle for a while
                fraction = float(rng.uniform(0.3, 0.7))
                x_stop = x_start + (x_end - x_start) * fraction
                at = start + int(travel * fraction / speed)
                pause = int(rng.integers(10, 40))
                keyframes += [(at, x_stop, y + drift * fraction), (at + pause, x_stop, y + drift * fraction)]
                start += pause
            keyframes.append((start + int(travel / speed), x_end, y + drift))
            color = tuple(int(c) for c in rng.integers(80, 256, size=3))
            scene.objects.append(SceneObject(index + 1, class_id, label, (w, h), keyframes, color, z=int(rng.integers(1000))))
        return scene

    def truth(self, frame: int) -> tuple[Objects, np.ndarray]:
        """Ground truth at ``frame`` (boxes clipped to the image) and each object's visible fraction."""
        rows, ids, classes, labels, visible = [], [], [], [], []
        boxes = self._boxes(frame)
        occupancy = np.zeros((self.height, self.width), dtype=np.int32) - 1
        for index, (_, box) in enumerate(boxes):
            x1, y1, x2, y2 = np.round(box).astype(int)
            occupancy[y1:y2, x1:x2] = index
        for index, (obj, box) in enumerate(boxes):
            if not obj.in_truth:
                continue
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
        for obj, box in self._boxes(frame):
            x1, y1, x2, y2 = np.round(box).astype(int)
            image[y1:y2, x1:x2] = obj.color
            image[y1:y1 + 2, x1:x2] = 255
        return image, truth

    def _boxes(self, frame: int) -> list[tuple[SceneObject, np.ndarray]]:
        """Objects present at ``frame`` in z order with their boxes (camera shake applied, clipped)."""
        offset = self._shake(frame)
        boxes = []
        for obj in sorted(self.objects, key=lambda o: o.z):
            center = obj.center(frame)
            if center is None:
                continue
            w, h = obj.size
            box = np.array([center[0] - w / 2, center[1] - h / 2, center[0] + w / 2, center[1] + h / 2]) + np.tile(offset, 2)
            clipped = np.clip(box, [0, 0, 0, 0], [self.width, self.height, self.width, self.height])
            if clipped[2] - clipped[0] < 1 or clipped[3] - clipped[1] < 1:
                continue
            boxes.append((obj, clipped))
        return boxes

    def _shake(self, frame: int) -> np.ndarray:
        if not self.jitter:
            return np.zeros(2)
        rng = np.random.default_rng((self.seed, frame))
        return rng.uniform(-self.jitter, self.jitter, size=2)
