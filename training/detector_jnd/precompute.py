"""Fixed pool of training crops and the detector's reference outputs on them (computed once).

  /usr/bin/python3 -m training.detector_jnd.precompute [--crop 128] [--per-frame 12] [--subset 0]

From every training frame (frames.training_frames: dev clips minus the held-out ones, plus the
stills, squashed to 512x512 as the runtime does) take ``--per-frame`` random crops of
``--crop`` px, each flipped horizontally with p = 0.5, and run the detector on the clean crop:
heatmap (stored as uint8, score * 255) and wh (float16). The generator's guidance is the
class-max of that heatmap, upsampled bilinearly to the crop (computed on the fly).
Written to ``<cache>/detector-pre/<tag>/`` (``DMVJND_PRE_DIR`` overrides the parent).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..common import Logger, default_log, setup_threads
from . import frames as FR
from .stub import load_detector


def pre_root() -> Path:
    d = os.environ.get("DMVJND_PRE_DIR")
    return Path(d) / "detector" if d else FR.cache_root() / "detector-pre"


def tag(crop, per_frame, subset, stub, seed):
    return f"c{crop}_k{per_frame}_s{subset}_seed{seed}" + ("_stub" if stub else "")


def guidance(hm: torch.Tensor, size) -> torch.Tensor:
    """Class-max heatmap [N,1,H/4,W/4] upsampled bilinearly to size (H, W), in 0..1."""
    g = hm.amax(1, keepdim=True)
    return F.interpolate(g, size=size, mode="bilinear", align_corners=False).clamp(0, 1)


def run(crop=128, per_frame=12, subset=0, stub=False, seed=0, batch=16, log=print) -> Path:
    out = pre_root() / tag(crop, per_frame, subset, stub, seed)
    if (out / "meta.json").exists():
        log(f"precompute: exists {out}")
        return out
    out.mkdir(parents=True, exist_ok=True)
    files = FR.training_frames(subset=subset)
    rng = np.random.default_rng(seed)
    crops, srcs = [], []
    for f in files:
        im = FR.load_rgb(f)
        H, W, _ = im.shape
        for _ in range(per_frame):
            y, x = rng.integers(0, H - crop + 1), rng.integers(0, W - crop + 1)
            c = im[y:y + crop, x:x + crop]
            if rng.random() < 0.5:
                c = c[:, ::-1]
            crops.append(np.ascontiguousarray(c))
            srcs.append(f"{f.parent.name}/{f.name}@{y},{x}")
    crops = np.stack(crops)
    det = load_detector(stub)
    M, s = len(crops), crop // 4
    hm_all = np.zeros((M, 80, s, s), np.uint8)
    wh_all = np.zeros((M, 4, s, s), np.float16)
    t0 = time.time()
    with torch.no_grad():
        for i in range(0, M, batch):
            x = torch.from_numpy(crops[i:i + batch]).permute(0, 3, 1, 2).float()
            hm, wh = det(x)
            hm_all[i:i + batch] = (hm.numpy() * 255).round().astype(np.uint8)
            wh_all[i:i + batch] = wh.numpy().astype(np.float16)
            if (i // batch) % 50 == 0:
                log(f"precompute: {i}/{M} crops, {time.time() - t0:.0f}s")
    np.save(out / "crops.npy", crops)
    np.save(out / "heatmap_u8.npy", hm_all)
    np.save(out / "wh_f16.npy", wh_all)
    peaks = int(((hm_all >= 0.35 * 255)).any(axis=(1,)).sum())
    meta = {"crop": crop, "per_frame": per_frame, "subset": subset, "stub": stub, "seed": seed,
            "frames": len(files), "crops": M, "heldout": list(FR.HELDOUT),
            "cells_with_score_ge_0.35": peaks, "seconds": round(time.time() - t0, 1),
            "sources": srcs}
    (out / "meta.json").write_text(json.dumps(meta))
    log(f"precompute: {M} crops from {len(files)} frames in {time.time() - t0:.0f}s -> {out}")
    return out


def load(path: Path):
    return (np.load(path / "crops.npy"), np.load(path / "heatmap_u8.npy"), np.load(path / "wh_f16.npy"),
            json.loads((path / "meta.json").read_text()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--per-frame", type=int, default=12)
    ap.add_argument("--subset", type=int, default=0)
    ap.add_argument("--stub-detector", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    setup_threads(a.threads)
    log = Logger(default_log("detector_jnd_precompute"))
    run(a.crop, a.per_frame, a.subset, a.stub_detector, a.seed, log=log)


if __name__ == "__main__":
    main()
