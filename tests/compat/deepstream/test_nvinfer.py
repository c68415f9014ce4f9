"""DeepStream nvinfer INI files: read into the same validated config as YAML."""

from __future__ import annotations

import textwrap

import pytest

from vistream.compat.deepstream.nvinfer import read_nvinfer_ini
from vistream.core.errors import ConfigError
from vistream.elements.infer.config import load_config

PRIMARY = textwrap.dedent("""\
    [property]
    gpu-id=0
    net-scale-factor=0.0039215697906911373
    offsets=1;2;3
    model-color-format=1
    onnx-file=models/yolo.onnx
    model-engine-file=models/yolo.onnx_b4_gpu0_fp16.engine
    labelfile-path=labels.txt
    batch-size=4
    network-mode=2
    num-detected-classes=80
    interval=2
    gie-unique-id=1
    process-mode=1
    network-type=0
    cluster-mode=2
    maintain-aspect-ratio=1
    symmetric-padding=1
    scaling-filter=0
    infer-dims=3;416;416
    parse-bbox-func-name=NvDsInferParseYolo
    custom-lib-path=libnvdsinfer_custom_impl_Yolo.so
    filter-out-class-ids=5;6

    [class-attrs-all]
    pre-cluster-threshold=0.25
    nms-iou-threshold=0.45
    topk=300

    [class-attrs-2]
    pre-cluster-threshold=0.6
    detected-min-w=32
    detected-min-h=24
    eps=0.2
    """)


def test_deepstream_primary_config(tmp_path):
    path = tmp_path / "config_infer_primary.txt"
    path.write_text(PRIMARY)
    config = load_config(path)
    assert config.net_scale_factor == pytest.approx(1 / 255)
    assert config.offsets == [1, 2, 3] and config.model_color_format == "BGR"
    assert config.onnx_file == str(tmp_path / "models" / "yolo.onnx")
    assert config.labelfile_path == str(tmp_path / "labels.txt")
    assert (config.batch_size, config.interval, config.unique_id) == (4, 2, 1)
    assert (config.process_mode, config.network_type, config.cluster_mode) == ("primary", "detector", "nms")
    assert config.maintain_aspect_ratio and config.symmetric_padding and config.scaling_filter == "nearest"
    assert config.infer_dims == [3, 416, 416] and config.filter_out_class_ids == [5, 6]
    attrs = config.class_attrs
    assert attrs.default.pre_cluster_threshold == 0.25 and attrs.default.topk == 300
    assert attrs.per_class[2].pre_cluster_threshold == 0.6 and attrs.per_class[2].nms_iou_threshold == 0.45
    assert attrs.per_class[2].detected_min_w == 32
    reported = " ".join(config.unsupported)
    for key in ("gpu-id", "model-engine-file", "network-mode", "parse-bbox-func-name", "custom-lib-path",
                "[class-attrs-2] eps"):
        assert key in reported


def test_secondary_classifier_config(tmp_path):
    path = tmp_path / "config_infer_secondary.txt"
    path.write_text(textwrap.dedent("""\
        [property]
        onnx-file=/models/cls.onnx
        process-mode=2
        network-type=1
        operate-on-gie-id=1
        operate-on-class-ids=0;2
        input-object-min-width=64
        input-object-min-height=64
        classifier-threshold=0.51
        secondary-reinfer-interval=15
        output-tensor-meta=1
        cluster-mode=1
        """))
    config = load_config(path)
    assert (config.process_mode, config.network_type, config.parser) == ("secondary", "classifier", "classifier")
    assert config.operate_on_class_ids == [0, 2] and config.input_object_min_width == 64
    assert config.classifier_threshold == 0.51 and config.secondary_reinfer_interval == 15
    assert config.output_tensor_meta and config.cluster_mode == "nms"
    assert any("cluster-mode=1 (DBSCAN not implemented" in entry for entry in config.unsupported)


@pytest.mark.parametrize("text,message", [
    ("[property]\nbatch-size=four\n", "key 'batch-size'"),
    ("[property]\nbatch-size=0\n", "'batch-size' is 0; minimum is 1"),
    ("[property]\nmodel-color-format=7\n", "key 'model-color-format'.*valid: 0, 1, 2"),
    ("[property]\nnetwork-type=2\n", "key 'network-type'"),
    ("[property]\n[class-attrs-all]\npre-cluster-threshold=1.5\n", r"\[class-attrs-all\] key 'pre-cluster-threshold'"),
    ("[property]\n[class-attrs-x]\ntopk=3\n", "section 'class-attrs-x'"),
    ("[property]\n[streammux]\nwidth=3\n", r"unknown section \[streammux\]"),
    ("[application]\nenable-perf-measurement=1\n", r"no \[property\] section"),
    ("[property]\nbatch-size=1\nbatch-size=2\n", "not a valid nvinfer config"),
])
def test_invalid_values_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad_infer.txt"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "bad_infer.txt" in str(info.value)


def test_reader_keeps_raw_strings(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("[property]\noffsets=1;2;3  # comment\n")
    assert read_nvinfer_ini(path) == {"offsets": "1;2;3"}
