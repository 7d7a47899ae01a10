"""Detector-JND generator, the block-DCT codec proxy, and the ONNX export wrapper.

Generator (the paper's E-D, DMV-JND-NET Fig. 3/4: x stacked with the guidance map -> conv+BN+ReLU
+max-pool encoder, transposed-conv decoder), sized for 512x512 on one CPU thread: a stride-2 stem
and an early pool put the first 3x3 conv at 1/4 resolution; total stride 32 (encoder /32 ->
decoder x8 -> head at /4 -> bilinear x4 to full size). Inputs x [N,3,H,W] RGB in 0..1 and the
guidance c [N,1,H,W] in 0..1 (CenterNet's class-max heatmap, bilinearly upsampled); H, W
multiples of 32 (the detector needs that too).

Variants (``variant``):
- ``additive`` (the paper): e = amp * tanh(head) [N,3,H,W] in 0..1 pixel units, x_hat = clamp(x + e);
  exported jnd = 255 * mean_RGB |e|.
- ``codec`` (beyond the paper): j = jmax * sigmoid(head) [N,1,H,W], the JND in 0-255 units = half
  the quantisation step a macroblock tolerates. x_hat = codec_proxy(x, step = 2 * mean_MB(j)).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 32
MB = 16
DZ = 2.0 / 3.0  # dead zone of the H.264 reference intra quantiser (rounding offset 1/3)


def cbr(cin, cout, k=3, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class DetJNDGenerator(nn.Module):
    def __init__(self, variant="codec", w=16, amp=0.5, jmax=128.0):
        super().__init__()
        assert variant in ("additive", "codec")
        self.variant, self.amp, self.jmax = variant, amp, jmax
        self.enc = nn.Sequential(
            cbr(4, w, s=2), nn.MaxPool2d(2),            # /4
            cbr(w, 2 * w), nn.MaxPool2d(2),             # /8
            cbr(2 * w, 4 * w), nn.MaxPool2d(2),         # /16
            cbr(4 * w, 4 * w), nn.MaxPool2d(2),         # /32
            cbr(4 * w, 4 * w))
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=4, bias=False),   # /8
            nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * w, w, 2, stride=2, bias=False),       # /4
            nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        cout = 3 if variant == "additive" else 1
        # skip: the head also sees the input at /4 (avg-pooled), so e can follow local content
        self.head = nn.Sequential(cbr(w + 4, w), nn.Conv2d(w, cout, 3, 1, 1))
        if variant == "codec":
            nn.init.constant_(self.head[1].bias, -2.0)   # start with a small JND (step ~ 30)

    def forward(self, x, c):
        """Returns e [N,3,H,W] (additive, 0..1 units) or j [N,1,H,W] (codec, 0-255 units)."""
        z = torch.cat([x * 2 - 1, c], 1)
        h = self.dec(self.enc(z))
        h = self.head(torch.cat([h, F.avg_pool2d(z, 4)], 1))
        h = F.interpolate(h, scale_factor=4.0, mode="bilinear", align_corners=False)
        if self.variant == "additive":
            return self.amp * torch.tanh(h)
        return self.jmax * torch.sigmoid(h)


# ----------------------------------------------------------------- codec proxy
def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix D [n, n]: coefficients = D @ block @ D.T."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.float()


def block_dct(x: torch.Tensor, n: int = 4, inverse: bool = False) -> torch.Tensor:
    """Separable orthonormal n x n block DCT of every channel of x [N,C,H,W] (H, W multiples of n)."""
    N, C, H, W = x.shape
    d = dct_matrix(n).to(x)
    if inverse:
        d = d.t()
    b = x.reshape(N, C, H // n, n, W // n, n)
    b = torch.einsum("ki,ncaibj,lj->ncakbl", d, b, d)
    return b.reshape(N, C, H, W)


_RGB2YCC = torch.tensor([[0.299, 0.587, 0.114],
                         [-0.168736, -0.331264, 0.5],
                         [0.5, -0.418688, -0.081312]])


def rgb_to_ycc(x):
    return torch.einsum("kc,nchw->nkhw", _RGB2YCC.to(x), x)


def ycc_to_rgb(y):
    return torch.einsum("kc,nchw->nkhw", torch.linalg.inv(_RGB2YCC).to(y), y)


def mb_pool(j: torch.Tensor, mb: int = MB) -> torch.Tensor:
    """Mean of the JND per mb x mb macroblock, broadcast back to pixels [N,1,H,W]."""
    p = F.avg_pool2d(j, mb, mb, ceil_mode=True)
    return F.interpolate(p, scale_factor=float(mb), mode="nearest")[..., :j.shape[-2], :j.shape[-1]]


def codec_proxy(x255: torch.Tensor, step: torch.Tensor, mode: str = "noise", n: int = 4,
                generator: torch.Generator | None = None):
    """What x264 does to a block at quantisation step ``step`` (per pixel, constant per MB),
    as a stand-in: RGB (0..255) -> YCbCr -> orthonormal n x n block DCT of Y, Cb,
    Cr -> add uniform noise U(-step/2, step/2) to every coefficient (``mode='noise'``, the usual
    training proxy: d(noise)/d(step) is the noise sample), ``'deadzone'`` (the same noise on the
    coefficients with |c| >= DZ * step, the others softly zeroed: differentiable and closer to a
    real quantiser at low rate, where most coefficients are zeroed), ``'round'`` (plain rounding)
    or ``'quant'`` (the H.264 reference quantiser with dead zone, for evaluation) -> inverse DCT -> RGB, clamped to 0..255.
    The H.264 step (Qstep(QP) = 2^((QP-4)/6)) lives on an orthonormal-transform coefficient scale,
    so the pixel error variance is step^2 / 12 at high rate."""
    y = block_dct(rgb_to_ycc(x255), n)
    s = step.expand_as(y)
    if mode == "noise":
        u = torch.rand(y.shape, generator=generator, dtype=y.dtype) - 0.5
        yq = y + u * s
    elif mode == "deadzone":
        # noise on the coefficients that survive, a soft gate that zeroes those below the
        # dead zone |c| < DZ * s (what a real quantiser does to small coefficients: blur)
        u = torch.rand(y.shape, generator=generator, dtype=y.dtype) - 0.5
        gate = torch.sigmoid((y.abs() - DZ * s) / (0.1 * s + 1e-3))
        yq = gate * (y + u * s)
    elif mode == "round":
        yq = torch.round(y / s) * s
    elif mode == "quant":
        # H.264 reference quantiser with intra rounding offset 1/3: q = sign(c) floor(|c|/s + 1/3)
        yq = torch.sign(y) * torch.floor(y.abs() / s + (1 - DZ)) * s
    else:
        raise ValueError(mode)
    return ycc_to_rgb(block_dct(yq, n, inverse=True)).clamp(0, 255)


def content_cost(x255: torch.Tensor, n: int = 4, mb: int = MB) -> torch.Tensor:
    """Per-MB coding cost weight [N,1,H/mb,W/mb]: log2(1 + mean AC energy of luma 4x4 DCT) in the
    MB, normalised to mean 1 per image (flat MBs are cheap, textured ones are costly)."""
    y = block_dct(rgb_to_ycc(x255)[:, :1], n)
    N, _, H, W = y.shape
    ac = y.reshape(N, 1, H // n, n, W // n, n).clone()
    ac[:, :, :, 0, :, 0] = 0
    e = ac.pow(2).reshape(N, 1, H, W)
    w = torch.log2(1 + F.avg_pool2d(e, mb, mb, ceil_mode=True))
    return w / w.mean((2, 3), keepdim=True).clamp_min(1e-6)


def distort(g: DetJNDGenerator, x: torch.Tensor, c: torch.Tensor, mode="noise", generator=None):
    """``mode``: the codec proxy's mode (codec variant only)."""
    """x in 0..1 -> (x_hat in 0..1, jnd [N,1,H,W] 0-255, step map or None)."""
    out = g(x, c)
    if g.variant == "additive":
        xh = (x + out).clamp(0, 1)
        return xh, 255.0 * out.abs().mean(1, keepdim=True), None
    step = 2.0 * mb_pool(out)
    xh = codec_proxy(x * 255.0, step, mode, generator=generator) / 255.0
    return xh, out, step


class JNDExport(nn.Module):
    """ONNX contract: (x [1,3,H,W] RGB 0..1, guidance [1,1,H,W] 0..1) -> jnd [1,1,H,W] (0-255)."""

    def __init__(self, g: DetJNDGenerator):
        super().__init__()
        self.g = g

    def forward(self, x, guidance):
        out = self.g(x, guidance)
        if self.g.variant == "additive":
            return 255.0 * out.abs().mean(1, keepdim=True)
        return out


def count_params(m):
    return sum(p.numel() for p in m.parameters())
