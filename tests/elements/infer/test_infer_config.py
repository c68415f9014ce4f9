"""YAML infer configs: keys, class attributes, paths, unsupported keys, errors naming file and key."""

from __future__ import annotations

import pytest

from vistream.core.errors import ConfigError
from vistream.elements.infer.config import load_config
from vistream.models.zoo import MODELS


def test_shipped_configs_are_valid():
    for model in MODELS.values():
        config = load_config(model.config_path())
        assert config.model == model.name and not config.unsupported
    detector = load_config(MODELS["yolov3-tiny"].config_path())
    assert detector.maintain_aspect_ratio and detector.parser == "yolo" and detector.num_detected_classes == 80
    classifier = load_config(MODELS["mobilenetv2"].config_path())
    assert classifier.process_mode == "secondary" and classifier.classifier_activation == "softmax"


def test_yaml_keys_and_class_attrs(tmp_path):
    path = tmp_path / "det.yml"
    path.write_text(
        "onnx-file: m.onnx\nparser: yolov8\nanchors: [10, 14, 23, 27]\nanchor-masks: '1,0;0,1'\n"
        "parser-options: {normalized: false}\nclass-attrs-all: {pre-cluster-threshold: 0.4}\n"
        "class-attrs: {3: {topk: 2}}\nclass-attrs-5: {detected-max-w: 100}\nfuture-key: 1\n")
    config = load_config(path)
    assert config.onnx_file == str(tmp_path / "m.onnx") and config.parser == "yolov8"
    assert config.anchors == [10, 14, 23, 27] and config.anchor_masks == [[1, 0], [0, 1]]
    assert config.parser_options == {"normalized": False}
    assert config.class_attrs.per_class[3].topk == 2 and config.class_attrs.per_class[3].pre_cluster_threshold == 0.4
    assert config.class_attrs.per_class[5].detected_max_w == 100
    assert config.unsupported == ["future-key (unknown key, ignored)"]


@pytest.mark.parametrize("text,message", [
    ("interval: -1\n", "'interval' is -1; minimum is 0"),
    ("net-scale-factor: abc\n", "key 'net-scale-factor'"),
    ("parser-options: 3\n", "key 'parser-options'"),
    ("class-attrs-all: 3\n", "'class-attrs-all' must be a mapping"),
    ("- a\n- b\n", "expected a mapping"),
    ("a: [\n", "not valid YAML"),
])
def test_yaml_errors_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "broken.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "broken.yml" in str(info.value)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("/nonexistent/infer.yml")
