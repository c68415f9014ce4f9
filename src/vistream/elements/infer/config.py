"""Configuration of the ``infer`` element: YAML or DeepStream's nvinfer INI, one validated model.

Keys are nvinfer's (``net-scale-factor``, ``offsets``, ``model-color-format``, ``onnx-file``,
``labelfile-path``, ``num-detected-classes``, ``cluster-mode``, ``[class-attrs-all]`` ...)
plus a few of vistream's (``model`` (a model-zoo name), ``parser``, ``backend``, ``device``,
``anchors`` / ``anchor-masks``, ``parser-options``, ``classifier-activation``, ``threads``).
Every key is supported, or reported by name in :attr:`InferConfig.unsupported`; a bad value is
a :class:`~vistream.core.errors.ConfigError` naming the file and key.

Example:
    >>> cfg = config_from_mapping({"onnx-file": "m.onnx", "net-scale-factor": 0.0039,
    ...                            "class-attrs-all": {"pre-cluster-threshold": 0.4}}, source="det.yml")
    >>> cfg.net_scale_factor, cfg.class_attrs.default.pre_cluster_threshold, cfg.parser
    (0.0039, 0.4, 'yolo')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistream.core.errors import ConfigError, PropertyError
from vistream.core.properties import coerce
from vistream.elements.infer.postprocess import ClassAttrs, ClassAttrTable

_COLOR = {"0": "RGB", "1": "BGR", "2": "GRAY", "rgb": "RGB", "bgr": "BGR", "gray": "GRAY"}
_FILTER = {"0": "nearest", "1": "bilinear", "2": "bicubic", "3": "area", "4": "lanczos", "5": "bilinear",
           "6": "bilinear", "nearest": "nearest", "bilinear": "bilinear", "bicubic": "bicubic", "area": "area",
           "lanczos": "lanczos"}
_PROCESS = {"1": "primary", "2": "secondary", "primary": "primary", "secondary": "secondary"}
_NETWORK = {"0": "detector", "1": "classifier", "100": "other", "detector": "detector",
            "classifier": "classifier", "other": "other"}
_CLUSTER = {"2": "nms", "4": "none", "nms": "nms", "none": "none"}
_CLUSTER_FALLBACK = {"0": "groupRectangles", "1": "DBSCAN", "3": "DBSCAN+NMS hybrid"}


def _choice(table: dict[str, str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        key = str(value).strip().lower()
        if key not in table:
            raise ValueError(f"valid: {', '.join(dict.fromkeys(table))}")
        return table[key]

    return convert


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("expected a mapping")
    return dict(value)


def _masks(value: Any) -> list[list[int]]:
    """``"3,4,5;0,1,2"`` or ``[[3, 4, 5], [0, 1, 2]]``."""
    groups = value.split(";") if isinstance(value, str) else value
    return [coerce(group, "int-list", "anchor-masks") for group in groups]


#: key -> (attribute, converter)
KEYS: dict[str, tuple[str, Any]] = {
    "model": ("model", str),
    "onnx-file": ("onnx_file", str),
    "labelfile-path": ("labelfile_path", str),
    "labels": ("labels", "str-list"),
    "backend": ("backend", str),
    "device": ("device", str),
    "threads": ("threads", int),
    "net-scale-factor": ("net_scale_factor", float),
    "offsets": ("offsets", "float-list"),
    "model-color-format": ("model_color_format", _choice(_COLOR)),
    "maintain-aspect-ratio": ("maintain_aspect_ratio", bool),
    "symmetric-padding": ("symmetric_padding", bool),
    "scaling-filter": ("scaling_filter", _choice(_FILTER)),
    "infer-dims": ("infer_dims", "int-list"),
    "batch-size": ("batch_size", int),
    "interval": ("interval", int),
    "gie-unique-id": ("unique_id", int),
    "unique-id": ("unique_id", int),
    "process-mode": ("process_mode", _choice(_PROCESS)),
    "network-type": ("network_type", _choice(_NETWORK)),
    "num-detected-classes": ("num_detected_classes", int),
    "cluster-mode": ("cluster_mode", _choice(_CLUSTER)),
    "parser": ("parser", str),
    "anchors": ("anchors", "float-list"),
    "anchor-masks": ("anchor_masks", _masks),
    "parser-options": ("parser_options", _dict),
    "output-blob-names": ("output_blob_names", "str-list"),
    "classifier-threshold": ("classifier_threshold", float),
    "classifier-activation": ("classifier_activation", _choice({"none": "none", "softmax": "softmax",
                                                                 "sigmoid": "sigmoid"})),
    "operate-on-gie-id": ("operate_on_gie_id", int),
    "operate-on-class-ids": ("operate_on_class_ids", "int-list"),
    "filter-out-class-ids": ("filter_out_class_ids", "int-list"),
    "input-object-min-width": ("input_object_min_width", int),
    "input-object-min-height": ("input_object_min_height", int),
    "input-object-max-width": ("input_object_max_width", int),
    "input-object-max-height": ("input_object_max_height", int),
    "secondary-reinfer-interval": ("secondary_reinfer_interval", int),
    "output-tensor-meta": ("output_tensor_meta", bool),
}
#: nvinfer keys that only matter to TensorRT / Jetson / C++ plug-ins: accepted, reported as ignored
IGNORED = {
    "gpu-id", "model-engine-file", "int8-calib-file", "network-mode", "workspace-size", "enable-dla",
    "use-dla-core", "force-implicit-batch-dim", "scaling-compute-hw", "classifier-async-mode",
    "custom-lib-path", "parse-bbox-func-name", "parse-classifier-func-name", "engine-create-func-name",
    "custom-network-config", "model-file", "proto-file", "uff-file", "tlt-encoded-model", "tlt-model-key",
    "uff-input-blob-name", "uff-input-order", "input-dims", "is-classifier", "enable-dbscan",
    "eps", "group-threshold", "minBoxes", "dbscan-min-score", "layer-device-precision",
    "disable-output-host-copy", "output-io-formats", "symmetric-padding-color",
}
_MINIMUM = {"batch_size": 1, "interval": 0, "unique_id": 0, "threads": 0, "num_detected_classes": 0,
            "secondary_reinfer_interval": 0, "input_object_min_width": 0, "input_object_min_height": 0,
            "input_object_max_width": 0, "input_object_max_height": 0}


@dataclass
class InferConfig:
    """A validated ``infer`` configuration (paths resolved against the config file's folder)."""

    source: str = "<properties>"
    model: str | None = None
    onnx_file: str | None = None
    labelfile_path: str | None = None
    labels: list[str] = field(default_factory=list)
    backend: str = "onnxruntime"
    device: str = "auto"
    threads: int = 0
    net_scale_factor: float = 1.0
    offsets: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    model_color_format: str = "RGB"
    maintain_aspect_ratio: bool = False
    symmetric_padding: bool = False
    scaling_filter: str = "bilinear"
    infer_dims: list[int] = field(default_factory=list)
    batch_size: int = 1
    interval: int = 0
    unique_id: int = 1
    process_mode: str = "primary"
    network_type: str = "detector"
    num_detected_classes: int = 0
    cluster_mode: str = "nms"
    parser: str = ""
    anchors: list[float] = field(default_factory=list)
    anchor_masks: list[list[int]] = field(default_factory=list)
    parser_options: dict[str, Any] = field(default_factory=dict)
    output_blob_names: list[str] = field(default_factory=list)
    classifier_threshold: float = 0.0
    classifier_activation: str = "none"
    operate_on_gie_id: int = -1
    operate_on_class_ids: list[int] = field(default_factory=list)
    filter_out_class_ids: list[int] = field(default_factory=list)
    input_object_min_width: int = 0
    input_object_min_height: int = 0
    input_object_max_width: int = 0
    input_object_max_height: int = 0
    secondary_reinfer_interval: int = 0
    output_tensor_meta: bool = False
    class_attrs: ClassAttrTable = field(default_factory=ClassAttrTable)
    #: keys read but not acted on, with the reason (the element posts them as one warning)
    unsupported: list[str] = field(default_factory=list)

    def set(self, key: str, value: Any) -> None:
        """Set one key (user-facing name), validating it; errors name the source and key."""
        attr, kind = KEYS[key]
        if key == "cluster-mode" and str(value).strip() in _CLUSTER_FALLBACK:
            self.unsupported.append(f"cluster-mode={value} ({_CLUSTER_FALLBACK[str(value).strip()]} not implemented; "
                                    "class-aware NMS used)")
            value = "nms"
        try:
            value = coerce(value, kind, key)
        except PropertyError as exc:
            raise ConfigError(f"{self.source}: key '{key}': {exc}") from None
        minimum = _MINIMUM.get(attr)
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self.source}: key '{key}' is {value}; minimum is {minimum}")
        setattr(self, attr, value)


def config_from_mapping(data: Mapping[str, Any], source: str = "<config>", base_dir: Path | None = None) -> InferConfig:
    """Validate a mapping shaped like the YAML file (``[property]`` keys at the top level,
    ``class-attrs-all`` / ``class-attrs-N`` / ``class-attrs: {N: {...}}`` for class attributes)."""
    config = InferConfig(source=source)
    per_class_raw: dict[int, Mapping[str, Any]] = {}
    default_raw: Mapping[str, Any] = {}
    for key, value in data.items():
        key = str(key).strip()
        if key == "property" and isinstance(value, Mapping):  # INI-shaped YAML
            nested = config_from_mapping({**value, **{k: v for k, v in data.items() if k != "property"}},
                                         source, base_dir)
            return nested
        if key == "class-attrs-all":
            default_raw = _mapping(value, source, key)
        elif key.startswith("class-attrs-"):
            per_class_raw[_class_index(key, source)] = _mapping(value, source, key)
        elif key == "class-attrs":
            for class_key, attrs in _mapping(value, source, key).items():
                per_class_raw[_class_index(f"class-attrs-{class_key}", source)] = _mapping(attrs, source, key)
        elif key in KEYS:
            config.set(key, value)
        elif key in IGNORED:
            config.unsupported.append(f"{key} (TensorRT / C++ specific, ignored)")
        else:
            config.unsupported.append(f"{key} (unknown key, ignored)")
    default = _class_attrs(ClassAttrs(), default_raw, source, "class-attrs-all", config)
    config.class_attrs = ClassAttrTable(default, {
        index: _class_attrs(default, raw, source, f"class-attrs-{index}", config) for index, raw in per_class_raw.items()
    })
    if not config.parser:
        config.parser = {"detector": "yolo", "classifier": "classifier"}.get(config.network_type, "")
    base = base_dir or Path.cwd()
    for attr in ("onnx_file", "labelfile_path"):
        value = getattr(config, attr)
        if value and not Path(value).is_absolute():
            setattr(config, attr, str((base / value).resolve()))
    return config


def _mapping(value: Any, source: str, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: '{key}' must be a mapping of keys, got {type(value).__name__}")
    return value


def _class_index(key: str, source: str) -> int:
    suffix = key[len("class-attrs-"):]
    if not suffix.isdigit():
        raise ConfigError(f"{source}: section '{key}' is not valid; use class-attrs-all or class-attrs-<class id>")
    return int(suffix)


def _class_attrs(base: ClassAttrs, raw: Mapping[str, Any], source: str, section: str,
                 config: InferConfig) -> ClassAttrs:
    values: dict[str, Any] = {}
    kinds = {name: type(getattr(base, name.replace("-", "_"))) for name in ClassAttrs.keys()}
    for key, value in raw.items():
        key = str(key).strip()
        if key in kinds:
            try:
                values[key] = coerce(value, kinds[key], key)
            except PropertyError as exc:
                raise ConfigError(f"{source}: [{section}] key '{key}': {exc}") from None
            if key.endswith("threshold") and not 0 <= values[key] <= 1:
                raise ConfigError(f"{source}: [{section}] key '{key}' is {values[key]}; valid: 0..1")
        elif key in IGNORED:
            config.unsupported.append(f"[{section}] {key} (clustering mode not implemented, ignored)")
        else:
            config.unsupported.append(f"[{section}] {key} (unknown key, ignored)")
    return base.updated(values)


def load_config(path: str | Path) -> InferConfig:
    """Read a YAML (``.yml`` / ``.yaml``) or nvinfer INI (``.txt`` / ``.ini`` / ``.cfg``) config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"infer config file '{path}' does not exist")
    if path.suffix.lower() in (".yml", ".yaml"):
        import yaml

        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping of nvinfer keys at the top level")
        return config_from_mapping(data, str(path), path.parent)
    from vistream.compat.deepstream.nvinfer import read_nvinfer_ini

    return config_from_mapping(read_nvinfer_ini(path), str(path), path.parent)
