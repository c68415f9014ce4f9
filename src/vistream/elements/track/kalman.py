"""A vectorised constant-velocity Kalman filter over boxes ``(cx, cy, w, h)`` for many tracks at once.

Noise scales with each box's height (as in SORT / ByteTrack), so one setting fits small and large
objects.

Example:
    >>> import numpy as np
    >>> from vistream.elements.track.kalman import BoxKalmanFilter
    >>> kf = BoxKalmanFilter()
    >>> mean, cov = kf.initiate(np.array([[10.0, 10.0, 30.0, 50.0]]))
    >>> for step in range(1, 6):
    ...     mean, cov = kf.predict(mean, cov)
    ...     mean, cov = kf.update(mean, cov, np.array([[10.0 + 4 * step, 10.0, 30.0 + 4 * step, 50.0]]))
    >>> mean, cov = kf.predict(mean, cov)
    >>> abs(float(kf.to_xyxy(mean)[0, 0]) - 34) < 2  # extrapolated about 4 px per frame
    True
"""

from __future__ import annotations

import numpy as np

#: 95% quantile of chi-square with 4 degrees of freedom (gate for the Mahalanobis distance)
CHI2_GATE_4DOF = 9.4877


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """``[N, 4]`` corner boxes to centre / size."""
    boxes = np.asarray(boxes, dtype=np.float64)
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    return np.concatenate([boxes[:, 0:2] + wh / 2, wh], axis=1)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """``[N, 4]`` centre / size boxes to corners."""
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, 0:2] - half, boxes[:, 0:2] + half], axis=1)


class BoxKalmanFilter:
    """State ``[cx, cy, w, h, vcx, vcy, vw, vh]`` per track; arrays of shape ``[T, 8]`` / ``[T, 8, 8]``."""

    def __init__(self, noise_position: float = 1.0 / 20, noise_velocity: float = 1.0 / 160) -> None:
        self.noise_position = noise_position
        self.noise_velocity = noise_velocity
        self._motion = np.eye(8)
        self._motion[:4, 4:] = np.eye(4)

    def initiate(self, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of new tracks from their first boxes."""
        z = xyxy_to_cxcywh(boxes_xyxy)
        mean = np.concatenate([z, np.zeros_like(z)], axis=1)
        h = np.maximum(z[:, 3:4], 1.0)
        std = np.concatenate([2 * self.noise_position * h.repeat(4, 1), 10 * self.noise_velocity * h.repeat(4, 1)], 1)
        cov = np.zeros((len(z), 8, 8))
        cov[:, np.arange(8), np.arange(8)] = std**2
        return mean, cov

    def predict(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead for every track."""
        if len(mean) == 0:
            return mean, cov
        h = np.maximum(mean[:, 3:4], 1.0)
        std = np.concatenate([self.noise_position * h.repeat(4, 1), self.noise_velocity * h.repeat(4, 1)], 1)
        mean = mean @ self._motion.T
        cov = self._motion @ cov @ self._motion.T
        cov[:, np.arange(8), np.arange(8)] += std**2
        return mean, cov

    def project(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Measurement-space mean ``[T, 4]`` and covariance ``[T, 4, 4]``."""
        h = np.maximum(mean[:, 3:4], 1.0)
        std = (self.noise_position * h).repeat(4, 1)
        innovation_cov = cov[:, :4, :4].copy()
        innovation_cov[:, np.arange(4), np.arange(4)] += std**2
        return mean[:, :4], innovation_cov

    def update(self, mean: np.ndarray, cov: np.ndarray, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct tracks with their matched boxes (row i of boxes belongs to track i)."""
        if len(mean) == 0:
            return mean, cov
        z = xyxy_to_cxcywh(boxes_xyxy)
        projected, innovation_cov = self.project(mean, cov)
        # K = P H^T S^-1, with H selecting the first four state entries.
        gain = np.linalg.solve(innovation_cov, cov[:, :4, :]).transpose(0, 2, 1)
        mean = mean + np.einsum("tij,tj->ti", gain, z - projected)
        cov = cov - gain @ cov[:, :4, :]
        return mean, cov

    def mahalanobis(self, mean: np.ndarray, cov: np.ndarray, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance ``[T, D]`` of every box to every track's prediction."""
        if len(mean) == 0 or len(boxes_xyxy) == 0:
            return np.zeros((len(mean), len(boxes_xyxy)))
        projected, innovation_cov = self.project(mean, cov)
        z = xyxy_to_cxcywh(boxes_xyxy)
        diff = z[None, :, :] - projected[:, None, :]  # [T, D, 4]
        inverse = np.linalg.inv(innovation_cov)  # [T, 4, 4]
        return np.einsum("tdi,tij,tdj->td", diff, inverse, diff)

    @staticmethod
    def to_xyxy(mean: np.ndarray) -> np.ndarray:
        """Corner boxes of the state means."""
        return cxcywh_to_xyxy(mean[:, :4])
