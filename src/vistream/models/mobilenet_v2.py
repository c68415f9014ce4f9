"""MobileNetV2 (ImageNet) in PyTorch, laid out like torchvision's so its state dicts load strictly.

Written from the paper's table (Sandler et al. 2018: t, c, n, s) and torchvision's parameter
names (``features.N.conv...``, ``classifier.1``); torchvision itself is not needed. The ONNX
export includes the ImageNet mean / std normalisation, so the model takes RGB scaled to 0..1
(``net-scale-factor: 1/255``) and returns logits (``classifier-activation: softmax``).

Example:
    >>> import torch
    >>> model = build_mobilenet_v2().eval()
    >>> model(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vistream.core.errors import ConfigError

#: expansion t, output channels c, repeats n, first stride s
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1))
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def build_mobilenet_v2(num_classes: int = 1000) -> Any:
    """A freshly initialised MobileNetV2 (``torch.nn.Module``) with torchvision's module names."""
    from torch import nn

    def conv_bn_relu(inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(out), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, out: int, stride: int, expand: int) -> None:
            super().__init__()
            hidden = inp * expand
            self.use_residual = stride == 1 and inp == out
            layers: list[nn.Module] = [] if expand == 1 else [conv_bn_relu(inp, hidden, kernel=1)]
            layers += [conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
                       nn.Conv2d(hidden, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_residual else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            features: list[nn.Module] = [conv_bn_relu(3, 32, stride=2)]
            channels = 32
            for expand, out, repeats, stride in SETTINGS:
                for index in range(repeats):
                    features.append(InvertedResidual(channels, out, stride if index == 0 else 1, expand))
                    channels = out
            features.append(conv_bn_relu(channels, 1280, kernel=1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.classifier(x)

    return MobileNetV2()


def load_mobilenet_v2(weights_path: str | Path) -> Any:
    """MobileNetV2 with a torchvision-layout state dict loaded strictly (errors name the file)."""
    import torch

    path = Path(weights_path)
    if not path.is_file():
        raise ConfigError(f"MobileNetV2 weights '{path}' do not exist")
    model = build_mobilenet_v2()
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # torch raises RuntimeError / UnpicklingError for foreign files
        raise ConfigError(f"MobileNetV2 weights '{path}' do not load into torchvision's layout: {exc}") from exc
    return model.eval()


def normalized(model: Any) -> Any:
    """Wrap ``model`` so it takes RGB in 0..1 and applies ImageNet mean / std itself."""
    import torch
    from torch import nn

    class Normalized(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

        def forward(self, x: Any) -> Any:
            return self.model((x - self.mean) / self.std)

    return Normalized().eval()


def export_onnx(weights_path: str | Path, onnx_path: str | Path, size: int = 224, opset: int = 17) -> Path:
    """Export the normalised model to ONNX (input ``input`` [N, 3, size, size], output ``logits`` [N, 1000])."""
    import warnings

    import torch

    model = normalized(load_mobilenet_v2(weights_path))
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    partial = onnx_path.with_name(onnx_path.name + ".part")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(partial), input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=opset, dynamo=False)
    partial.replace(onnx_path)
    return onnx_path
