"""Tracker configuration: vistream and DeepStream keys, files, unsupported keys, invalid values."""

from __future__ import annotations

from pathlib import Path

import pytest

from vistream.core.errors import ConfigError
from vistream.elements.track.config import TrackerConfig

DEEPSTREAM_FILE = """%YAML:1.0
BaseConfig:
  minDetectorConfidence: 0.2
TargetManagement:
  enableBboxUnClipping: 1
  maxTargetsPerStream: 150
  minIouDiff4NewTarget: 0.6
  probationAge: 4
  maxShadowTrackingAge: 42
  earlyTerminationAge: 2
TrajectoryManagement:
  useUniqueID: 1
DataAssociator:
  dataAssociatorType: 0
  associationMatcherType: 0
  checkClassMatch: 1
  minMatchingScore4Overall: 0.1
  minMatchingScore4Iou: 0.25
  matchingScoreWeight4Iou: 0.4
  matchingScoreWeight4VisualSimilarity: 0.6
  tentativeDetectorConfidence: 0.45
StateEstimator:
  stateEstimatorType: 1
ReID:
  reidType: 2
  reidFeatureSize: 128
"""


def test_reads_a_deepstream_tracker_file(tmp_path: Path) -> None:
    path = tmp_path / "config_tracker_NvDCF.yml"
    path.write_text(DEEPSTREAM_FILE)
    config = TrackerConfig.from_file(path)
    assert config.algorithm == "deepsort"  # a ReID section with reidType > 0
    assert (config.min_detector_confidence, config.probation_age, config.max_shadow_tracking_age) == (0.2, 4, 42)
    assert (config.early_termination_age, config.max_targets_per_stream, config.min_iou_diff_new_target) == (2, 150, 0.6)
    assert config.use_unique_id is True and config.matcher == 0 and config.check_class_match is True
    assert (config.min_iou, config.weight_iou, config.weight_visual_similarity) == (0.25, 0.4, 0.6)
    assert config.high_confidence == 0.45 and config.embedding_size == 128
    assert config.unsupported == ["TargetManagement.enableBboxUnClipping", "DataAssociator.dataAssociatorType",
                                  "StateEstimator.stateEstimatorType"]


def test_vistream_names_flat_and_kebab_case() -> None:
    config = TrackerConfig.from_mapping({"algorithm": "sort", "probation-age": 5, "max_shadow_tracking_age": 7})
    assert (config.algorithm, config.probation_age, config.max_shadow_tracking_age) == ("sort", 5, 7)
    assert config.unsupported == []


@pytest.mark.parametrize(("text", "key"), [
    ("TargetManagement:\n  probationAge: soon\n", "TargetManagement.probationAge"),
    ("BaseConfig:\n  minDetectorConfidence: 1.5\n", "BaseConfig.minDetectorConfidence"),
    ("algorithm: kalmanish\n", "algorithm"),
    ("maxShadowTrackingAge: 2.5\n", "maxShadowTrackingAge"),
])
def test_invalid_values_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "tracker.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        TrackerConfig.from_file(path)
    assert str(path) in str(info.value) and key in str(info.value)


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        TrackerConfig.from_file(tmp_path / "nope.yml")
    (tmp_path / "bad.yml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrackerConfig.from_file(tmp_path / "bad.yml")
    (tmp_path / "list.yml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        TrackerConfig.from_file(tmp_path / "list.yml")


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ConfigError, match="probation_age"):
        TrackerConfig(probation_age=0)
