"""A tiny random stand-in for CenterNet with the same I/O contract (for CI smoke runs, where the
detector cache is absent): image [N,3,H,W] RGB 0..255 -> (heatmap [N,80,H/4,W/4] sigmoid,
wh [N,4,H/4,W/4] >= 0 in input px). Seeded, so runs are reproducible; it detects nothing real."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class StubCenterNet(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.c1 = nn.Conv2d(3, 8, 3, 2, 1)
        self.c2 = nn.Conv2d(8, 16, 3, 2, 1)
        self.hm = nn.Conv2d(16, 80, 1)
        self.wh = nn.Conv2d(16, 4, 1)
        for p in self.parameters():
            p.data = torch.randn(p.shape, generator=g) * 0.3
        self.hm.bias.data.fill_(-1.5)

    def forward(self, image):
        h = F.relu(self.c2(F.relu(self.c1(image / 127.5 - 1))))
        return torch.sigmoid(self.hm(h)), 16 * F.softplus(self.wh(h))


def load_detector(stub: bool = False, cache_dir=None):
    """CenterNet from the cache (frozen, eval), or the stub when ``stub`` or the cache is absent
    and DMVJND_DETECTOR_STUB=1."""
    import os
    if stub or os.environ.get("DMVJND_DETECTOR_STUB") == "1":
        m = StubCenterNet()
    else:
        from ..detectors.centernet import load_centernet
        m = load_centernet(cache_dir)
    m.eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m
