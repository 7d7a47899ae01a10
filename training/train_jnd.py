"""Train DMV-JND-NET (the E-D generator) against the four frozen classifiers.

  /usr/bin/python3 -m training.train_jnd --epochs 2

Per batch: x (hflip p=0.5, normalised to [-1,1]) and its precomputed merged
CAM c and classifier labels l_n (from training.precompute, matching flip);
e = G(x, c); x_hat = clamp(x + e, -1, 1); Loss = Loss1 + alpha Loss2 + beta
Loss3 on the effective e = x_hat - x (see training/losses.py). Loss1 needs
gradients through the frozen classifiers on x_hat. Adam (default lr 1e-3 with
cosine decay; paper 1e-5 constant), weight decay 1e-3, batch 64.
Checkpoint ``training/checkpoints/jnd_generator.pt`` every --ckpt-every steps
and at each epoch end; rerun to resume.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from . import data as D
from .common import Logger, ckpt_dir, default_log, save_atomic, setup_threads
from .losses import total_loss
from .models import JND_CLASSIFIERS, JNDGenerator, apply_jnd, count_params
from .precompute import load_jnd_classifiers, load_pre, pre_dir

GEN_CKPT = "jnd_generator.pt"


def psnr_255(x, xh):
    """Per-image PSNR in 0-255 units for normalised x, x_hat (float, unrounded)."""
    mse = ((x - xh) * 127.5).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(255.0 ** 2 / mse.clamp_min(1e-10))


def load_generator(path=None):
    path = path or (ckpt_dir() / GEN_CKPT)
    ck = torch.load(path, map_location="cpu")
    g = JNDGenerator(**ck.get("gen_kwargs", {}))
    g.load_state_dict(ck["model"])
    g.eval()
    return g, ck


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--subset", type=int, default=0, help="must match training.precompute --subset")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--units", choices=["norm", "unit"], default="norm")
    ap.add_argument("--amp", type=float, default=2.0, help="max |e| (normalised units)")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restart", action="store_true")
    ap.add_argument("--cifar-dir", default=None)
    ap.add_argument("--log", default=None)
    a = ap.parse_args(argv)
    setup_threads(a.threads)
    log = Logger(a.log or default_log("train_jnd"))
    torch.manual_seed(a.seed)

    xtr, _, _, _ = D.load_cifar10(a.cifar_dir)
    xtr, _ = D.subset(xtr, np.zeros(len(xtr)), a.subset)
    lab_o, cam_o = load_pre("train", "orig")
    lab_f, cam_f = load_pre("train", "flip")
    assert lab_o.shape[1] == len(xtr), f"precompute ({lab_o.shape[1]}) does not match subset ({len(xtr)})"
    x_all = D.to_tensor(xtr)
    cam_o = torch.from_numpy(cam_o.astype(np.float32))[:, None]
    cam_f = torch.from_numpy(cam_f.astype(np.float32))[:, None]
    lab_o, lab_f = torch.from_numpy(lab_o), torch.from_numpy(lab_f)
    classifiers = load_jnd_classifiers()

    gen_kwargs = {"w": a.width, "amp": a.amp}
    g = JNDGenerator(**gen_kwargs)
    opt = torch.optim.Adam(g.parameters(), lr=a.lr, weight_decay=a.wd)
    n = len(xtr)
    spe = max(1, n // a.batch_size)
    total = spe * a.epochs
    warm = max(1, total // 20)

    def lr_at(step):  # linear warm-up 5%, cosine decay to 5% of lr
        if step < warm:
            return a.lr * (step + 1) / warm
        p = (step - warm) / max(1, total - warm)
        return a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    path = ckpt_dir() / GEN_CKPT
    step, history, elapsed = 0, [], 0.0
    cfg = {"epochs": a.epochs, "subset": a.subset, "batch_size": a.batch_size, "lr": a.lr,
           "wd": a.wd, "alpha": a.alpha, "beta": a.beta, "units": a.units, "gen_kwargs": gen_kwargs}
    if path.exists() and not a.restart:
        ck = torch.load(path, map_location="cpu")
        if ck.get("done") and ck.get("cfg") == cfg:
            log("train_jnd: finished checkpoint exists, skipping")
            return
        if ck.get("cfg") == cfg:
            g.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            step, history, elapsed = ck["step"], ck["history"], ck.get("elapsed", 0.0)
            log(f"train_jnd: resuming at step {step}/{total}")
        else:
            log("train_jnd: checkpoint config differs, restarting")
    log(f"train_jnd: gen params {count_params(g)}, train {n}, steps/epoch {spe}, cfg", **cfg)

    def save(done=False):
        ck = {"model": g.state_dict(), "gen_kwargs": gen_kwargs, "cfg": cfg, "step": step,
              "history": history, "elapsed": elapsed, "done": done,
              "classifiers": JND_CLASSIFIERS, "pre_meta": (pre_dir() / "meta.json").read_text()}
        if not done:
            ck["opt"] = opt.state_dict()
        save_atomic(ck, path)

    g.train()
    acc = None
    while step < total:
        ep = step // spe
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(a.seed * 1000 + ep))
        if acc is None or step % spe == 0:
            acc = {"loss": 0.0, "l1": 0.0, "l2": 0.0, "l3": 0.0, "rca": np.zeros(4),
                   "psnr": 0.0, "mae": 0.0, "n": 0}
            t_ep = time.time()
        t0 = time.time()
        i = step % spe
        idx = perm[i * a.batch_size:(i + 1) * a.batch_size]
        flip = torch.rand(len(idx)) < 0.5
        x, _ = D.augment_flip(x_all[idx], flip)
        c = torch.where(flip[:, None, None, None], cam_f[idx], cam_o[idx])
        labels = torch.where(flip[None, :], lab_f[:, idx], lab_o[:, idx])
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step)
        e = g(x, c)
        xh, e_eff = apply_jnd(x, e)
        logits = [m(xh.contiguous(memory_format=m.mem_format)) for m in classifiers]
        loss, (l1, l2, l3) = total_loss(logits, [labels[j] for j in range(4)], c, e_eff,
                                        a.alpha, a.beta, units=a.units)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        elapsed += time.time() - t0
        b = len(idx)
        with torch.no_grad():
            acc["loss"] += loss.item() * b
            acc["l1"] += l1.item() * b
            acc["l2"] += l2.item() * b
            acc["l3"] += l3.item() * b
            acc["rca"] += np.array([(lg.argmax(1) == labels[j]).float().sum().item()
                                    for j, lg in enumerate(logits)])
            acc["psnr"] += psnr_255(x, xh).sum().item()
            acc["mae"] += (e_eff.abs().mean().item() * 127.5) * b
            acc["n"] += b
        if step % a.log_every == 0 or step % spe == 0:
            k = acc["n"]
            rec = {"step": step, "epoch": step / spe, "lr": lr_at(step - 1), "loss": acc["loss"] / k,
                   "loss1": acc["l1"] / k, "loss2": acc["l2"] / k, "loss3": acc["l3"] / k,
                   "train_rca": float(acc["rca"].mean() / k), "train_rca_per": (acc["rca"] / k).round(4).tolist(),
                   "psnr": acc["psnr"] / k, "mean_abs_e_255": acc["mae"] / k,
                   "img_per_s": k / max(1e-6, time.time() - t_ep)}
            rec["window"] = "since epoch start"
            if step % spe == 0:
                rec["epoch_end"] = True
            history.append(rec)
            log("train_jnd", **rec)
        if step % spe == 0 or step % a.ckpt_every == 0:
            save(done=step >= total)
    save(done=True)
    log(f"train_jnd: done, {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
