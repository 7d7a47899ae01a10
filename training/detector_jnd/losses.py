"""Detector-JND losses.

Loss 1 (detector agreement; replaces the paper's cross-entropy, Eqs. 8-9). Reference = the
detector on the clean input: heatmap H [N,80,h,w] (sigmoid) and wh W [N,4,h,w]; distorted: Ĥ, Ŵ.
Reference peaks P: 3x3 local maxima of a class map with H >= PEAK_LOW (0.25, the low edge of the
project's hysteresis band).
- peak:  mean over P of w_p * smoothL1(logit Ĥ_p - logit H_p), w_p = 1 for H_p >= 0.35 (reference
         objects), 0.5 in the band [0.25, 0.35).
- wh:    mean over P of smoothL1((Ŵ_p - W_p) / (W_p + 4)) over the 4 edges (IoU is scale-relative).
- dense: sum over classes, mean over positions of (0.1 + min(1, H / 0.35)) (Ĥ - H)^2 (agreement
         everywhere, weighted up towards the reference peaks).
- new:   mean over images of sum_{k,h,w} relu(Ĥ - max(H, 0.25)) / 9 (a 3x3 blob ~ one peak): no
         new peaks where the reference has none.
Loss1 = peak + wh + lam_dense * dense + lam_new * new.

Loss 2 (paper Eq. 10-13, magnitude): N = n_scale * (1 - mean(c)), N0 = mean |e| (e in the
normalised [-1, 1] units the paper uses, i.e. e_255 / 127.5), Loss2 = ln((N^2 + N0^2 + q) /
(2 N N0 + q)). It pushes the mean JND up to N, larger for images whose guidance c is mostly
small (more redundancy). n_scale = 1 is the paper; the paper's N ~ 1 (PSNR ~ 9.6 dB) on CIFAR
would swamp a detector, so we default to n_scale 0.25 (documented in the card).
Loss 3 (paper Eq. 14-15, spatial distribution / energy term): <softmax(c), |e|> with the softmax
over the H*W positions and |e| averaged over channels: an energy penalty weighted towards where c
is high (the paper writes <v, e>; a signed e would just be pushed negative, so |e| as in
training/losses.py).
Rate (codec variant only, beyond the paper): R = -mean_MB cost_MB * log2(step_MB) / 8: rewards a
larger step where the content is costly to code (cost = normalised log AC energy, model.content_cost).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

PEAK_LOW = 0.25
PEAK_HIGH = 0.35
Q = 1e-10


def reference_peaks(h: torch.Tensor, low: float = PEAK_LOW) -> torch.Tensor:
    """Bool mask [N,80,h,w] of 3x3 local maxima with score >= low."""
    mx = F.max_pool2d(h, 3, 1, 1)
    return (h >= mx) & (h >= low)


def _logit(p, eps=1e-4):
    p = p.clamp(eps, 1 - eps)
    return torch.log(p) - torch.log1p(-p)


def loss1(hm_hat, wh_hat, hm_ref, wh_ref, lam_dense=10.0, lam_new=5.0, peaks=None):
    """Returns (total, parts dict). All terms are 0 when (hm_hat, wh_hat) == (hm_ref, wh_ref)."""
    if peaks is None:
        peaks = reference_peaks(hm_ref)
    zero = hm_hat.sum() * 0
    if peaks.any():
        w = torch.where(hm_ref[peaks] >= PEAK_HIGH, 1.0, 0.5)
        peak = (w * F.smooth_l1_loss(_logit(hm_hat[peaks]), _logit(hm_ref[peaks]), reduction="none")).mean()
        pos = peaks.any(1, keepdim=True).expand_as(wh_ref)   # wh is shared by the classes
        rel = (wh_hat[pos] - wh_ref[pos]) / (wh_ref[pos].abs() + 4.0)
        whl = F.smooth_l1_loss(rel, torch.zeros_like(rel))
    else:
        peak, whl = zero, zero
    wd = 0.1 + (hm_ref / PEAK_HIGH).clamp(max=1.0)
    dense = (wd * (hm_hat - hm_ref).pow(2)).sum(1).mean()
    new = F.relu(hm_hat - hm_ref.clamp(min=PEAK_LOW)).flatten(1).sum(1).mean() / 9.0
    total = peak + whl + lam_dense * dense + lam_new * new
    return total, {"peak": peak, "wh": whl, "dense": dense, "new": new}


def loss2(c, e_norm, n_scale=0.25, q=Q):
    """Paper Eq. 13 with N = n_scale * (1 - mean c), N0 = mean |e| (normalised units), per image."""
    n = n_scale * (1.0 - c.flatten(1).mean(1))
    n0 = e_norm.abs().flatten(1).mean(1)
    return (torch.log(n * n + n0 * n0 + q) - torch.log(2 * n * n0 + q)).mean()


def loss3(c, e_norm):
    """Paper Eq. 15: <softmax(c), |e|> (|e| averaged over channels)."""
    v = torch.softmax(c.flatten(1), dim=1)
    return (v * e_norm.abs().mean(1).flatten(1)).sum(1).mean()


def rate_term(step_mb, cost_mb):
    """-mean(cost * log2(step)) / 8 over macroblocks ([N,1,h,w] each)."""
    return -(cost_mb * torch.log2(step_mb.clamp_min(1e-3))).mean() / 8.0
