"""CenterNet decoding and detection agreement, mirroring src/machines/detection-decode.ts and
src/metrics/detection.ts (same class, IoU >= 0.5, hysteresis band: reference objects score >= 0.35,
matches down to 0.25; unmatched test detections are FP only at >= 0.35; a test detection matched to
an uncertain reference [0.25, 0.35) is neither TP nor FP)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

HIGH, LOW, IOU = 0.35, 0.25, 0.5
MAX_DET = 100


def decode(hm: torch.Tensor, wh: torch.Tensor, floor=LOW, stride=4.0):
    """One image: hm [80,h,w], wh [4,h,w] -> list of (cls, score, x1, y1, x2, y2) in input px."""
    H, W = hm.shape[-2:]
    mx = F.max_pool2d(hm[None], 3, 1, 1)[0]
    keep = (hm >= floor) & (hm >= mx)
    k, r, c = torch.nonzero(keep, as_tuple=True)
    s = hm[k, r, c]
    order = torch.argsort(-s, stable=True)[:MAX_DET]
    k, r, c, s = k[order], r[order], c[order], s[order]
    cx, cy = stride * c.float(), stride * r.float()
    x1 = (cx - wh[0, r, c]).clamp(0, W * stride)
    y1 = (cy - wh[1, r, c]).clamp(0, H * stride)
    x2 = (cx + wh[2, r, c]).clamp(0, W * stride)
    y2 = (cy + wh[3, r, c]).clamp(0, H * stride)
    return np.stack([k.float().numpy(), s.numpy(), torch.minimum(x1, x2).numpy(), torch.minimum(y1, y2).numpy(),
                     torch.maximum(x1, x2).numpy(), torch.maximum(y1, y2).numpy()], 1) if len(s) else np.zeros((0, 6))


def _iou(a, b):
    ix = max(0.0, min(a[4], b[4]) - max(a[2], b[2]))
    iy = max(0.0, min(a[5], b[5]) - max(a[3], b[3]))
    inter = ix * iy
    u = (a[4] - a[2]) * (a[5] - a[3]) + (b[4] - b[2]) * (b[5] - b[3]) - inter
    return inter / u if u > 0 else 0.0


def match_frame(ref, test, high=HIGH, low=LOW, iou=IOU):
    """(tp, fp, fn) of one frame."""
    refs = [d for d in ref if d[1] >= low]
    obj = [d[1] >= high for d in refs]
    order = sorted([i for i in range(len(test)) if test[i][1] >= low], key=lambda i: -test[i][1])
    taken = [False] * len(refs)
    tp = fp = 0
    for t in order:
        best, bi, bp = -1, -1.0, False
        for r, d in enumerate(refs):
            if taken[r] or d[0] != test[t][0]:
                continue
            v = _iou(test[t], d)
            if v < iou:
                continue
            if (obj[r] and not bp) or (obj[r] == bp and v > bi):
                best, bi, bp = r, v, obj[r]
        if best >= 0:
            taken[best] = True
            if obj[best]:
                tp += 1
        elif test[t][1] >= high:
            fp += 1
    fn = sum(1 for r in range(len(refs)) if obj[r] and not taken[r])
    return tp, fp, fn


def f1(counts):
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)
