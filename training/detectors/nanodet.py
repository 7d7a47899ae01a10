"""NanoDet (RangiLyu/nanodet, a NanoDet-g-like CSP graph: LeakyReLU 0.1, shared cls/reg GFL head,
strides 8/16/32, reg_max 10) from human-models' tfjs graph, with the box decoding done in torch.

Contract (the ONNX export follows it): input ``image`` [N,3,H,W] float32 RGB in 0..255, H and W
multiples of 32 (native 416x416). Inside: NanoDet's own normalisation (channels to BGR, minus mean
(103.53, 116.28, 123.675), over std (57.375, 57.12, 58.395), BGR order). The human library feeds
RGB / 255 instead; that scores clearly worse on real stills (coffee: toilet 0.60 instead of cup 0.52;
chelsea: mouse instead of cat; see models/detectors/README.md), so ``preprocess="human"`` keeps it
only as an option. Outputs, anchors ordered stride 8, 16, 32 and row-major within a level:
  ``scores`` [N,A,80]  per-anchor class probabilities (the graph's own sigmoid), COCO-80 order;
  ``boxes``  [N,A,4]   x1, y1, x2, y2 in input pixels: GFL integral (softmax over the 11 bins of
                       each side, expectation 0..10) times the stride, around the anchor point
                       ((col + 0.5) * stride, (row + 0.5) * stride); not clipped to the image.
A = sum over strides of (H/s)(W/s) (3549 at 416x416).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from .paths import model_dir
from .tfjs_graph import TfjsGraph

INPUT = "input_1"
SCORE_OUTPUTS = ("Identity", "Identity_1", "Identity_2")  # [1, HW, 80] for strides 8, 16, 32
REG_OUTPUTS = ("Identity_3", "Identity_4", "Identity_5")  # [1, HW, 44]
STRIDES = (8, 16, 32)
REG_MAX = 10
NATIVE = (416, 416)
NUM_CLASSES = 80
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)


class NanoDet(nn.Module):
    def __init__(self, graph: TfjsGraph, preprocess: str = "nanodet"):
        super().__init__()
        if preprocess not in ("nanodet", "human"):
            raise ValueError(f"preprocess {preprocess!r}: 'nanodet' or 'human'")
        self.graph = graph
        self.preprocess = preprocess
        self.register_buffer("project", torch.arange(REG_MAX + 1, dtype=torch.float32), persistent=False)
        self.register_buffer("mean", torch.tensor(MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("inv_std", 1.0 / torch.tensor(STD_BGR).view(1, 3, 1, 1), persistent=False)

    def normalise(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0..255 -> what the graph is fed."""
        if self.preprocess == "human":
            return image / 255.0
        bgr = torch.cat([image[:, 2:3], image[:, 1:2], image[:, 0:1]], 1)
        return (bgr - self.mean) * self.inv_std

    def raw(self, image: torch.Tensor):
        """The graph's six outputs: three score maps, then three regression maps."""
        return self.graph(self.normalise(image))

    def forward(self, image: torch.Tensor):
        outs = self.raw(image)
        scores, regs = outs[:3], outs[3:]
        h, w = image.shape[2], image.shape[3]
        all_boxes = []
        for s, reg in zip(STRIDES, regs):
            fh, fw = h // s, w // s
            ys = (torch.arange(fh, dtype=torch.float32) + 0.5) * s
            xs = (torch.arange(fw, dtype=torch.float32) + 0.5) * s
            cy = ys.view(-1, 1).expand(-1, fw).reshape(1, -1, 1)
            cx = xs.view(1, -1).expand(fh, -1).reshape(1, -1, 1)
            n = reg.shape[0]
            dist = torch.softmax(reg.reshape(n, -1, 4, REG_MAX + 1), dim=-1)
            d = (dist * self.project).sum(-1) * s  # [N, HW, 4]: left, top, right, bottom
            all_boxes.append(torch.cat([cx - d[..., 0:1], cy - d[..., 1:2], cx + d[..., 2:3], cy + d[..., 3:4]], -1))
        return torch.cat(list(scores), 1), torch.cat(all_boxes, 1)


def load_nanodet(cache_dir: str | Path | None = None, preprocess: str = "nanodet") -> NanoDet:
    g = TfjsGraph(model_dir(cache_dir) / "nanodet.json", list(SCORE_OUTPUTS + REG_OUTPUTS), input_nhwc=False,
                  native_hw=NATIVE)
    return NanoDet(g, preprocess).eval()
