"""A YOLOv8n-shaped detector with random weights, exported to ONNX, for throughput benchmarks.

Written here from the published architecture description (no Ultralytics code): the "n" scale
(widths 16-32-64-128-256, C2f depths 1-2-2-1), an SPPF block, a PAN neck with C2f blocks, and a
decoupled anchor-free head per stride (8, 16, 32) with a 16-bin distribution (DFL) box branch.
Convolutions carry biases and no batch norm, as a deployed (BN-fused) model does. The output is
``[B, 4 + 80, 8400]`` at 640x640 (``cx, cy, w, h`` in network pixels, then class probabilities):
the ``yolov8`` parser's layout. Weights are random (seeded); the classification biases start at
the usual rare-class prior (p = 0.01) and the class logits are scaled to vary around it, so that
some boxes pass a 0.25 threshold and NMS has work, roughly as with a trained model on real footage
(the benchmark reports the boxes per frame it saw). Only speed is meaningful here, not accuracy.

Example:
    >>> from benchmarks.yolov8n_shaped import build  # doctest: +SKIP
    >>> model = build()                              # doctest: +SKIP
    >>> model(torch.rand(1, 3, 640, 640)).shape      # doctest: +SKIP
    torch.Size([1, 84, 8400])
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn


class Conv(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int = 1, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2, bias=True)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool) -> None:
        super().__init__()
        self.a, self.b, self.shortcut = Conv(c, c, 3), Conv(c, c, 3), shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.b(self.a(x))
        return x + y if self.shortcut else y


class C2f(nn.Module):
    """Split in two, run ``n`` bottlenecks on one half keeping every intermediate, concat, fuse."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool) -> None:
        super().__init__()
        self.hidden = c_out // 2
        self.stem = Conv(c_in, 2 * self.hidden)
        self.blocks = nn.ModuleList(Bottleneck(self.hidden, shortcut) for _ in range(n))
        self.fuse = Conv((2 + n) * self.hidden, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.stem(x).split(self.hidden, dim=1))
        for block in self.blocks:
            parts.append(block(parts[-1]))
        return self.fuse(torch.cat(parts, dim=1))


class SPPF(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.reduce, self.fuse = Conv(c_in, c_in // 2), Conv(c_in * 2, c_out)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.reduce(x)
        b = self.pool(a)
        c = self.pool(b)
        return self.fuse(torch.cat([a, b, c, self.pool(c)], dim=1))


class Head(nn.Module):
    """Decoupled head: box distribution (4 x 16 bins) and class logits per level, decoded to cxcywh."""

    def __init__(self, channels: tuple[int, ...], classes: int = 80, bins: int = 16, strides=(8, 16, 32)) -> None:
        super().__init__()
        box_c, cls_c = max(16, channels[0] // 4, bins * 4), max(channels[0], min(classes, 100))
        self.box = nn.ModuleList(nn.Sequential(Conv(c, box_c, 3), Conv(box_c, box_c, 3), nn.Conv2d(box_c, 4 * bins, 1))
                                 for c in channels)
        self.cls = nn.ModuleList(nn.Sequential(Conv(c, cls_c, 3), Conv(cls_c, cls_c, 3), nn.Conv2d(cls_c, classes, 1))
                                 for c in channels)
        for branch in self.cls:  # jittered: identical initialisers get merged by the exporter, which onnx2torch rejects
            nn.init.normal_(branch[-1].bias, -math.log((1 - 0.01) / 0.01), 0.01)
        self.classes, self.bins, self.strides = classes, bins, strides
        self.register_buffer("project", torch.arange(bins, dtype=torch.float32))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        batch = features[0].shape[0]
        boxes, scores, anchors, strides = [], [], [], []
        for level, x in enumerate(features):
            h, w = x.shape[-2:]
            boxes.append(self.box[level](x).flatten(2))
            scores.append(self.cls[level](x).flatten(2))
            ys, xs = torch.meshgrid(torch.arange(h, device=x.device, dtype=x.dtype) + 0.5,
                                    torch.arange(w, device=x.device, dtype=x.dtype) + 0.5, indexing="ij")
            anchors.append(torch.stack([xs.flatten(), ys.flatten()]))
            strides.append(torch.full((1, h * w), float(self.strides[level]), device=x.device, dtype=x.dtype))
        dist = torch.cat(boxes, dim=2).view(batch, 4, self.bins, -1).softmax(dim=2)
        ltrb = (dist * self.project.to(dist.dtype).view(1, 1, -1, 1)).sum(dim=2)
        anchor, stride = torch.cat(anchors, dim=1), torch.cat(strides, dim=1)
        top_left, bottom_right = anchor - ltrb[:, :2], anchor + ltrb[:, 2:]
        cxcywh = torch.cat([(top_left + bottom_right) / 2, bottom_right - top_left], dim=1) * stride
        return torch.cat([cxcywh, torch.cat(scores, dim=2).sigmoid()], dim=1)


class YoloV8nShaped(nn.Module):
    def __init__(self, classes: int = 80) -> None:
        super().__init__()
        self.p1, self.p2, self.c2 = Conv(3, 16, 3, 2), Conv(16, 32, 3, 2), C2f(32, 32, 1, True)
        self.p3, self.c3 = Conv(32, 64, 3, 2), C2f(64, 64, 2, True)
        self.p4, self.c4 = Conv(64, 128, 3, 2), C2f(128, 128, 2, True)
        self.p5, self.c5, self.sppf = Conv(128, 256, 3, 2), C2f(256, 256, 1, True), SPPF(256, 256)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.top_down4, self.top_down3 = C2f(384, 128, 1, False), C2f(192, 64, 1, False)
        self.down3, self.bottom_up4 = Conv(64, 64, 3, 2), C2f(192, 128, 1, False)
        self.down4, self.bottom_up5 = Conv(128, 128, 3, 2), C2f(384, 256, 1, False)
        self.head = Head((64, 128, 256), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p3 = self.c3(self.p3(self.c2(self.p2(self.p1(x)))))
        p4 = self.c4(self.p4(p3))
        p5 = self.sppf(self.c5(self.p5(p4)))
        n4 = self.top_down4(torch.cat([self.up(p5), p4], dim=1))
        n3 = self.top_down3(torch.cat([self.up(n4), p3], dim=1))
        m4 = self.bottom_up4(torch.cat([self.down3(n3), n4], dim=1))
        m5 = self.bottom_up5(torch.cat([self.down4(m4), p5], dim=1))
        return self.head([n3, m4, m5])


def build(seed: int = 0, passing: float = 2e-4) -> YoloV8nShaped:
    """Random weights; the class-logit weights are scaled so that a fraction ``passing`` of the
    anchor x class scores of a random image clears 0.25 (about 130 per 640x640 image before NMS):
    an untrained net's logits barely vary, which would leave NMS without work."""
    torch.manual_seed(seed)
    model = YoloV8nShaped().eval()
    with torch.no_grad():
        features: list[torch.Tensor] = []
        hook = model.head.register_forward_pre_hook(lambda module, args: features.extend(args[0]))
        model(torch.rand(1, 3, 640, 640))
        hook.remove()
        lasts = [model.head.cls[level][-1] for level in range(len(features))]
        raw = [model.head.cls[level](x) - last.bias.view(1, -1, 1, 1)
               for level, (x, last) in enumerate(zip(features, lasts, strict=True))]
        means = [r.mean(dim=(0, 2, 3)) for r in raw]  # an untrained net's logits share a large offset
        centred = torch.cat([(r - m.view(1, -1, 1, 1)).flatten() for r, m in zip(raw, means, strict=True)])
        spread = float(torch.quantile(centred[torch.randperm(len(centred))[:1_000_000]], 1 - passing))
        prior = -math.log((1 - 0.01) / 0.01)
        scale = (math.log(0.25 / 0.75) - prior) / max(spread, 1e-6)
        for last, mean in zip(lasts, means, strict=True):
            last.weight.mul_(scale)
            last.bias.copy_(prior - scale * mean + last.bias - last.bias.mean())
    return model


def export(path: str | Path, size: int = 640, seed: int = 0) -> Path:
    """Write the model as ONNX (dynamic batch) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(build(seed), torch.rand(1, 3, size, size), str(path), input_names=["images"],
                          output_names=["output0"], dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
                          opset_version=17, dynamo=False)
    return path


if __name__ == "__main__":
    import sys

    model = build()
    print(sum(p.numel() for p in model.parameters()), "parameters;", export(sys.argv[1] if len(sys.argv) > 1 else "yolov8n-shaped.onnx"))
