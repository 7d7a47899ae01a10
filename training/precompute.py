"""Run the four frozen JND classifiers once over train and test images, unflipped
and horizontally flipped, and cache their labels and merged CAM.

  /usr/bin/python3 -m training.precompute

Writes to ``<cache>/precomputed/`` (``$DMVJND_CACHE`` or ~/.cache/dmvjnd):
  {split}_{flip}_labels.npy  int64 [4, N]  argmax of alexnet, vgg, resnet, densenet
  {split}_{flip}_cam.npy     float16 [N, 32, 32] merged CAM c = mean of the four CAMs
  meta.json                  which checkpoints / subset produced them
flip is "orig" or "flip". Recomputed automatically when a checkpoint changes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from . import data as D
from .common import Logger, ckpt_dir, default_log, setup_threads
from .models import JND_CLASSIFIERS, cam_from_maps
from .train_classifiers import load_classifier, mem_format


def pre_dir() -> Path:
    d = Path(os.environ.get("DMVJND_PRE_DIR", D.cache_dir() / "precomputed"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def ckpt_signature(names=JND_CLASSIFIERS):
    h = hashlib.sha256()
    for n in names:
        p = ckpt_dir() / f"{n}.pt"
        h.update(n.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def load_jnd_classifiers():
    ms = []
    for n in JND_CLASSIFIERS:
        m, ck = load_classifier(n)
        if not ck.get("done"):
            print(f"[precompute] WARNING: {n} checkpoint is not finished "
                  f"(epoch {ck.get('epoch')}/{ck.get('epochs')})", flush=True)
        m = m.to(memory_format=mem_format(n))
        m.mem_format = mem_format(n)
        for p in m.parameters():
            p.requires_grad_(False)
        ms.append(m)
    return ms


@torch.no_grad()
def labels_and_cam(models, x, bs=500):
    """x: normalised float NCHW. Returns labels int64 [M, N], merged CAM float32 [N,1,H,W]."""
    n = x.shape[0]
    labels = np.empty((len(models), n), dtype=np.int64)
    cams = torch.empty((n, 1) + tuple(x.shape[-2:]))
    for i in range(0, n, bs):
        xb = x[i:i + bs]
        acc = 0
        for j, m in enumerate(models):
            lg, f = m.logits_and_maps(xb.contiguous(memory_format=m.mem_format))
            labels[j, i:i + bs] = lg.argmax(1).numpy()
            acc = acc + cam_from_maps(lg, f, m.fc.weight, xb.shape[-2:])
        cams[i:i + bs] = acc / len(models)
    return labels, cams


def load_pre(split: str, flip: str):
    d = pre_dir()
    return (np.load(d / f"{split}_{flip}_labels.npy"),
            np.load(d / f"{split}_{flip}_cam.npy"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subset", type=int, default=0, help="train subset (must match train_jnd)")
    ap.add_argument("--test-subset", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cifar-dir", default=None)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--log", default=None)
    a = ap.parse_args(argv)
    setup_threads(a.threads)
    log = Logger(a.log or default_log("precompute"))
    sig = ckpt_signature()
    meta_p = pre_dir() / "meta.json"
    want = {"ckpt_sig": sig, "subset": a.subset, "test_subset": a.test_subset,
            "classifiers": JND_CLASSIFIERS, "source": D.source_name(a.cifar_dir)}
    if meta_p.exists() and not a.force:
        if json.loads(meta_p.read_text()) == want:
            log(f"precompute: up to date in {pre_dir()}")
            return
    models = load_jnd_classifiers()
    xtr, ytr, xte, yte = D.load_cifar10(a.cifar_dir)
    xtr, ytr = D.subset(xtr, ytr, a.subset)
    xte, yte = D.subset(xte, yte, a.test_subset)
    for split, xs in (("train", xtr), ("test", xte)):
        x = D.to_tensor(xs)
        for flip in ("orig", "flip"):
            t0 = time.time()
            xx = x if flip == "orig" else x.flip(3)
            lab, cam = labels_and_cam(models, xx)
            np.save(pre_dir() / f"{split}_{flip}_labels.npy", lab)
            np.save(pre_dir() / f"{split}_{flip}_cam.npy", cam[:, 0].numpy().astype(np.float16))
            log(f"precompute {split}/{flip}: {len(xs)} images in {time.time() - t0:.1f}s")
    meta_p.write_text(json.dumps(want, indent=1))


if __name__ == "__main__":
    main()
