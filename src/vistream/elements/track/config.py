"""Tracker configuration: one typed object, read from YAML with vistream or DeepStream key names.

Keys may be vistream's snake_case names (``probation_age``), the kebab-case element property
names (``probation-age``) or DeepStream NvMultiObjectTracker names (``probationAge``), flat or
inside DeepStream's sections (``TargetManagement:``, ``DataAssociator:`` ...). DeepStream keys
without a meaning here are reported by name (:attr:`TrackerConfig.unsupported`); invalid values
raise :class:`~vistream.core.errors.ConfigError` naming the file and the key.

Example:
    >>> from vistream.elements.track.config import TrackerConfig
    >>> config = TrackerConfig.from_mapping(
    ...     {"TargetManagement": {"probationAge": 2, "maxShadowTrackingAge": 20},
    ...      "VisualTracker": {"visualTrackerType": 1}})
    >>> config.probation_age, config.max_shadow_tracking_age, config.unsupported
    (2, 20, ['VisualTracker.visualTrackerType'])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistream.core.errors import ConfigError

ALGORITHMS = ("iou", "sort", "bytetrack", "deepsort")

#: DeepStream NvMultiObjectTracker key -> TrackerConfig field
DEEPSTREAM_KEYS: dict[str, str] = {
    "minDetectorConfidence": "min_detector_confidence",
    "maxTargetsPerStream": "max_targets_per_stream",
    "minIouDiff4NewTarget": "min_iou_diff_new_target",
    "minTrackerConfidence": "min_tracker_confidence",
    "probationAge": "probation_age",
    "maxShadowTrackingAge": "max_shadow_tracking_age",
    "earlyTerminationAge": "early_termination_age",
    "useUniqueID": "use_unique_id",
    "checkClassMatch": "check_class_match",
    "associationMatcherType": "matcher",
    "minMatchingScore4Overall": "min_matching_score_overall",
    "minMatchingScore4SizeSimilarity": "min_size_similarity",
    "minMatchingScore4Iou": "min_iou",
    "minMatchingScore4VisualSimilarity": "min_visual_similarity",
    "matchingScoreWeight4VisualSimilarity": "weight_visual_similarity",
    "matchingScoreWeight4SizeSimilarity": "weight_size_similarity",
    "matchingScoreWeight4Iou": "weight_iou",
    "tentativeDetectorConfidence": "high_confidence",
    "minMatchingScore4TentativeIou": "min_iou_low_confidence",
    "reidHistorySize": "embedding_history",
    "reidFeatureSize": "embedding_size",
}

#: Section names of DeepStream's tracker YAML files (their keys are read flat).
DEEPSTREAM_SECTIONS = (
    "BaseConfig", "TargetManagement", "TrajectoryManagement", "DataAssociator", "StateEstimator",
    "ObjectModelProjection", "VisualTracker", "ReID", "TrackerConfig",
)


@dataclass
class TrackerConfig:
    """Every tracker setting; field docs say what each does (DeepStream name in brackets)."""

    #: ``iou``, ``sort``, ``bytetrack`` or ``deepsort``
    algorithm: str = "bytetrack"
    #: detections below this confidence are ignored entirely [minDetectorConfidence]
    min_detector_confidence: float = 0.1
    #: detections at or above this go to the first association stage; the rest (ByteTrack) to the
    #: second one [tentativeDetectorConfidence]
    high_confidence: float = 0.4
    #: a detection needs this confidence to start a new track
    new_track_confidence: float = 0.5
    #: tracks below this confidence are not output [minTrackerConfidence]
    min_tracker_confidence: float = 0.0
    #: matches needed before a tentative track is confirmed and output [probationAge]
    probation_age: int = 2
    #: detection frames a confirmed track survives without a match [maxShadowTrackingAge]
    max_shadow_tracking_age: int = 30
    #: detection frames a tentative track survives without a match [earlyTerminationAge]
    early_termination_age: int = 1
    #: confirmed tracks missed for up to this many detection frames are still output, at their
    #: predicted place (bridges a detector's occasional misses; 0: output matched tracks only)
    shadow_output_age: int = 2
    #: a new detection overlapping an existing track by more IoU than this starts no track
    #: [minIouDiff4NewTarget]
    min_iou_diff_new_target: float = 0.5
    #: most live tracks per stream; new detections beyond it start no track [maxTargetsPerStream]
    max_targets_per_stream: int = 500
    #: only match detections and tracks of the same class [checkClassMatch]
    check_class_match: bool = True
    #: 0: greedy matching, 1: global (Hungarian) matching [associationMatcherType]
    matcher: int = 1
    #: least IoU for a match [minMatchingScore4Iou]
    min_iou: float = 0.2
    #: least IoU to match a low-confidence detection (ByteTrack's second stage)
    #: [minMatchingScore4TentativeIou]
    min_iou_low_confidence: float = 0.5
    #: least IoU to match a tentative track
    min_iou_tentative: float = 0.3
    #: least size similarity for a match [minMatchingScore4SizeSimilarity]
    min_size_similarity: float = 0.0
    #: least appearance similarity (cosine) for a match (deepsort) [minMatchingScore4VisualSimilarity]
    min_visual_similarity: float = 0.6
    #: least combined score for a match [minMatchingScore4Overall]
    min_matching_score_overall: float = 0.0
    #: weight of IoU in the combined score [matchingScoreWeight4Iou]
    weight_iou: float = 1.0
    #: weight of size similarity in the combined score [matchingScoreWeight4SizeSimilarity]
    weight_size_similarity: float = 0.0
    #: weight of appearance similarity in the combined score (deepsort) [matchingScoreWeight4VisualSimilarity]
    weight_visual_similarity: float = 0.6
    #: gate appearance matches by the Kalman filter's Mahalanobis distance (deepsort)
    motion_gating: bool = True
    #: per-object column holding re-ID embeddings (deepsort)
    embedding_key: str = "embedding"
    #: component (``unique-id``) whose per-object tensor output holds embeddings; -1: any (deepsort)
    embedding_component_id: int = -1
    #: embedding length; 0: whatever comes [reidFeatureSize]
    embedding_size: int = 0
    #: smoothing of a track's embedding (exponential moving average factor)
    embedding_momentum: float = 0.9
    #: kept for DeepStream compatibility: one smoothed embedding per track is used [reidHistorySize]
    embedding_history: int = 1
    #: Kalman filter process noise, relative to box height (position, velocity)
    noise_position: float = 1.0 / 20
    noise_velocity: float = 1.0 / 160
    #: object ids unique across streams: ``source_id << 32 | n`` [useUniqueID]
    use_unique_id: bool = False
    #: attach past-frame data of tracks confirmed late as user meta ``tracker-past-frame``
    output_past_frame: bool = True
    #: keys that were read but have no meaning here (reported as a warning)
    unsupported: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, origin: str = "tracker config", keys: Mapping[str, str] | None = None) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting (by the key it was read from)."""
        def fail(key: str, what: str) -> None:
            name = (keys or {}).get(key, key)
            raise ConfigError(f"{origin}: '{name}' {what}, got {getattr(self, key)!r}")

        if self.algorithm not in ALGORITHMS:
            fail("algorithm", f"must be one of {', '.join(ALGORITHMS)}")
        for key in ("min_detector_confidence", "high_confidence", "new_track_confidence",
                    "min_tracker_confidence", "min_iou_diff_new_target", "min_iou",
                    "min_iou_low_confidence", "min_iou_tentative", "min_size_similarity",
                    "min_visual_similarity", "embedding_momentum"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                fail(key, "must be between 0 and 1")
        for key in ("probation_age", "max_targets_per_stream"):
            if getattr(self, key) < 1:
                fail(key, "must be at least 1")
        for key in ("max_shadow_tracking_age", "early_termination_age", "embedding_size", "embedding_history",
                    "shadow_output_age"):
            if getattr(self, key) < 0:
                fail(key, "must not be negative")
        for key in ("weight_iou", "weight_size_similarity", "weight_visual_similarity",
                    "noise_position", "noise_velocity"):
            if getattr(self, key) < 0:
                fail(key, "must not be negative")
        if self.matcher not in (0, 1):
            fail("matcher", "must be 0 (greedy) or 1 (global)")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "unsupported"]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], origin: str = "tracker config",
                     base: TrackerConfig | None = None) -> TrackerConfig:
        """Build from a mapping (flat or DeepStream-sectioned), on top of ``base`` if given."""
        values = dataclasses.asdict(base) if base is not None else {}
        values.pop("unsupported", None)
        unsupported: list[str] = list(base.unsupported) if base is not None else []
        keys: dict[str, str] = {}
        names = set(cls.field_names())
        defaults = cls.__new__(cls)  # plain defaults, without validation
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                setattr(defaults, f.name, f.default)
        reid_type = None

        def read(items: Mapping[str, Any], prefix: str) -> None:
            nonlocal reid_type
            for key, value in items.items():
                key = str(key)
                if key in DEEPSTREAM_SECTIONS and isinstance(value, Mapping):
                    read(value, f"{key}.")
                    continue
                if key == "reidType":
                    reid_type = value
                    continue
                name = DEEPSTREAM_KEYS.get(key, key.replace("-", "_"))
                if name not in names:
                    unsupported.append(prefix + key)
                    continue
                values[name] = _coerce(value, getattr(defaults, name), f"{origin}: '{prefix}{key}'")
                keys[name] = prefix + key

        if not isinstance(mapping, Mapping):
            raise ConfigError(f"{origin}: expected a mapping of settings, got {type(mapping).__name__}")
        read(mapping, "")
        if "algorithm" not in values and reid_type not in (None, 0, "0"):
            values["algorithm"] = "deepsort"
        config = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            if f.name == "unsupported":
                continue
            setattr(config, f.name, values.get(f.name, getattr(defaults, f.name)))
        config.unsupported = unsupported
        config.validate(origin, keys)
        return config

    @classmethod
    def from_file(cls, path: str | Path, base: TrackerConfig | None = None) -> TrackerConfig:
        """Read a vistream or DeepStream tracker YAML file."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"tracker config file '{path}' does not exist")
        try:
            text = path.read_text()
            # DeepStream files start with a '%YAML:1.0' directive that PyYAML rejects.
            lines = [line for line in text.splitlines() if not line.startswith("%YAML")]
            data = yaml.safe_load("\n".join(lines)) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"tracker config file '{path}' is not valid YAML: {exc}") from None
        return cls.from_mapping(data, origin=f"tracker config file '{path}'", base=base)

    def replace(self, **changes: Any) -> TrackerConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Convert a YAML value to the type of the field's default."""
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            if value in (0, 1, "0", "1"):
                return bool(int(value))
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError
        if isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if isinstance(default, str):
            if not isinstance(value, (str, int, float)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ConfigError(f"{where} expects {type(default).__name__}, got {value!r}")
