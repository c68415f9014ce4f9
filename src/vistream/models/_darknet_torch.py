"""PyTorch modules for Darknet cfgs (imported only when converting; needs torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vistream.core.errors import ConfigError


def _activation(name: str) -> nn.Module:
    table = {"leaky": lambda: nn.LeakyReLU(0.1), "linear": nn.Identity, "mish": nn.Mish, "logistic": nn.Sigmoid,
             "relu": nn.ReLU, "swish": nn.SiLU}
    if name not in table:
        raise ConfigError(f"darknet activation '{name}' is not supported; supported: {', '.join(table)}")
    return table[name]()


class MaxPool(nn.Module):
    """Darknet max-pool: ``size - 1`` padding split left / right like Darknet's ``-pad / 2`` offset."""

    def __init__(self, size: int, stride: int) -> None:
        super().__init__()
        self.size, self.stride = size, stride
        pad = size - 1
        self.padding = (pad // 2, pad - pad // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == self.size and x.shape[-1] % self.stride == 0 and x.shape[-2] % self.stride == 0:
            return F.max_pool2d(x, self.size, self.stride)
        left, right = self.padding
        x = F.pad(x, (left, right, left, right), mode="replicate")
        return F.max_pool2d(x, self.size, self.stride)


class YoloHead(nn.Module):
    """Decodes one ``[yolo]`` grid into ``[N, A*H*W, 5 + classes]`` rows in network pixels."""

    def __init__(self, anchors: list[tuple[float, float]], classes: int, net_size: tuple[int, int],
                 scale_x_y: float) -> None:
        super().__init__()
        self.register_buffer("anchors", torch.tensor(anchors, dtype=torch.float32).view(1, -1, 1, 1, 2))
        self.classes = classes
        self.net_width, self.net_height = net_size
        self.scale_x_y = scale_x_y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        count = self.anchors.shape[1]
        x = x.view(batch, count, 5 + self.classes, height, width).permute(0, 1, 3, 4, 2)
        ys = torch.arange(height, dtype=x.dtype).view(1, 1, height, 1)
        xs = torch.arange(width, dtype=x.dtype).view(1, 1, 1, width)
        offset = (self.scale_x_y - 1) / 2
        cx = (torch.sigmoid(x[..., 0]) * self.scale_x_y - offset + xs) * (self.net_width / width)
        cy = (torch.sigmoid(x[..., 1]) * self.scale_x_y - offset + ys) * (self.net_height / height)
        wh = torch.exp(x[..., 2:4]) * self.anchors
        rest = torch.sigmoid(x[..., 4:])
        out = torch.cat([cx.unsqueeze(-1), cy.unsqueeze(-1), wh, rest], dim=-1)
        return out.reshape(batch, -1, 5 + self.classes)


class DarknetModel(nn.Module):
    """The network of a parsed cfg; ``forward`` returns the concatenated decoded YOLO rows, or with
    ``decode=False`` the raw ``[yolo]`` input grids (a tuple, one per layer)."""

    def __init__(self, sections: list[dict[str, str]], decode: bool = True) -> None:
        super().__init__()
        self.decode = decode
        net = sections[0]
        self.width, self.height = int(net.get("width", 416)), int(net.get("height", 416))
        self.channels = int(net.get("channels", 3))
        self.blocks = sections[1:]
        self.layers = nn.ModuleList()
        self._convs: list[tuple[nn.Conv2d, nn.BatchNorm2d | None]] = []
        channels = [self.channels]
        out_channels: list[int] = []
        for index, block in enumerate(self.blocks):
            kind = block["type"]
            previous = channels[-1] if not out_channels else out_channels[-1]
            if kind == "convolutional":
                filters, size = int(block["filters"]), int(block["size"])
                stride, pad = int(block.get("stride", 1)), int(block.get("pad", 0))
                batch_norm = int(block.get("batch_normalize", 0))
                conv = nn.Conv2d(previous, filters, size, stride, (size - 1) // 2 if pad else 0, bias=not batch_norm,
                                 groups=int(block.get("groups", 1)))
                norm = nn.BatchNorm2d(filters, eps=1e-5) if batch_norm else None
                layer = nn.Sequential(conv, *( [norm] if norm is not None else []), _activation(block["activation"]))
                self._convs.append((conv, norm))
                out_channels.append(filters)
            elif kind == "maxpool":
                layer = MaxPool(int(block["size"]), int(block["stride"]))
                out_channels.append(previous)
            elif kind == "upsample":
                layer = nn.Upsample(scale_factor=int(block.get("stride", 2)), mode="nearest")
                out_channels.append(previous)
            elif kind == "route":
                refs = [self._ref(int(v), index) for v in block["layers"].split(",")]
                groups = int(block.get("groups", 1))
                layer = nn.Identity()
                out_channels.append(sum(out_channels[r] for r in refs) // groups)
            elif kind == "shortcut":
                layer = nn.Identity()
                out_channels.append(previous)
            elif kind == "yolo":
                mask = [int(v) for v in block["mask"].split(",")]
                values = [float(v) for v in block["anchors"].split(",")]
                anchors = [(values[2 * m], values[2 * m + 1]) for m in mask]
                layer = YoloHead(anchors, int(block["classes"]), (self.width, self.height),
                                 float(block.get("scale_x_y", 1.0)))
                out_channels.append(previous)
            else:
                raise ConfigError(f"darknet layer [{kind}] (block {index}) is not supported")
            self.layers.append(layer)

    @staticmethod
    def _ref(value: int, index: int) -> int:
        return index + value if value < 0 else value

    def convolutions(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d | None]]:
        """Convolutions in cfg order with their batch norms (the order of the weights file)."""
        return list(self._convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = []
        detections: list[torch.Tensor] = []
        for index, (block, layer) in enumerate(zip(self.blocks, self.layers, strict=False)):
            kind = block["type"]
            if kind == "route":
                refs = [self._ref(int(v), index) for v in block["layers"].split(",")]
                x = torch.cat([outputs[r] for r in refs], dim=1)
                groups = int(block.get("groups", 1))
                if groups > 1:
                    x = torch.chunk(x, groups, dim=1)[int(block.get("group_id", 0))]
            elif kind == "shortcut":
                x = x + outputs[self._ref(int(block["from"]), index)]
                x = _activation(block.get("activation", "linear"))(x)
            elif kind == "yolo":
                detections.append(layer(x) if self.decode else x)
            else:
                x = layer(x)
            outputs.append(x)
        return torch.cat(detections, dim=1) if self.decode else tuple(detections)
