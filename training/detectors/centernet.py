"""CenterNet (MobileNetV3 backbone, 610265158/mobilenetv3_centernet) from human-models' tfjs graph.

Contract (the ONNX export follows it): input ``image`` [N,3,H,W] float32 RGB in 0..255 (no
normalisation), H and W multiples of 32 (native 512x512); outputs ``heatmap`` [N,80,H/4,W/4]
(sigmoid class heatmaps, COCO-80 order) and ``wh`` [N,4,H/4,W/4] (distances from the cell
centre (4c, 4r) to the left, top, right and bottom box edges, in input pixels). The graph's own
tail (3x3 max-pool peak test, TopK 100, box assembly) is left out.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from .paths import model_dir
from .tfjs_graph import TfjsGraph

INPUT = "tower_0/images"
OUTPUTS = ("tower_0/keypoints", "tower_0/wh")
NATIVE = (512, 512)
STRIDE = 4


class CenterNet(nn.Module):
    def __init__(self, graph: TfjsGraph):
        super().__init__()
        self.graph = graph

    def forward(self, image: torch.Tensor):
        heatmap, wh = self.graph(image)  # logically NHWC in the graph, returned NCHW
        return heatmap, wh


def load_centernet(cache_dir: str | Path | None = None) -> CenterNet:
    g = TfjsGraph(model_dir(cache_dir) / "centernet.json", list(OUTPUTS), input_nhwc=True, native_hw=NATIVE)
    return CenterNet(g).eval()
