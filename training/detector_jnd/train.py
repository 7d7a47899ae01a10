"""Train the detector-JND generator against frozen CenterNet (resumable).

  /usr/bin/python3 -m training.detector_jnd.train --variant codec [--steps 1500] [--subset 0]

Per step: a batch of precomputed crops (precompute.py; reference heatmap/wh of the clean crop),
guidance c = class-max reference heatmap upsampled to the crop; generator -> x_hat (additive:
x + e; codec: block-DCT proxy at step 2 x MB-mean JND with uniform coefficient noise); CenterNet
on x_hat (gradients flow through the frozen detector) -> Loss1 (losses.py) + alpha Loss2 +
beta Loss3 (+ rho Rate for codec), e = effective distortion x_hat - x in normalised units.
Adam, linear warm-up 5% then cosine to 5% of lr. Checkpoint every --ckpt-every steps to
``training/checkpoints/detector_jnd_<variant>.pt`` (DMVJND_CKPT_DIR); rerun resumes; a finished
checkpoint with the same config is skipped. Progress: JSON lines in
``~/.cache/dmvjnd/logs/detector_jnd_<variant>.log`` (DMVJND_LOG_DIR) and a CSV of the curves next
to the checkpoint.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from ..common import Logger, ckpt_dir, default_log, save_atomic, setup_threads
from . import losses as L
from . import precompute as P
from .model import DetJNDGenerator, content_cost, count_params, distort
from .stub import load_detector

CSV_KEYS = ["step", "lr", "loss", "loss1", "peak", "wh", "dense", "new", "loss2", "loss3", "rate",
            "mean_jnd_255", "mean_log2_step", "psnr", "kept", "sec_per_step"]


def ckpt_path(name):
    """name: the run name (variant, or variant_proxy for a non-default codec proxy)."""
    return ckpt_dir() / f"detector_jnd_{name}.pt"


def run_name(variant, proxy):
    return variant if variant == "additive" or proxy == "noise" else f"{variant}_{proxy}"


def load_generator(variant, path=None):
    ck = torch.load(path or ckpt_path(variant), map_location="cpu")
    g = DetJNDGenerator(**ck["gen_kwargs"])
    g.load_state_dict(ck["model"])
    return g.eval(), ck


def psnr01(x, xh):
    mse = (x - xh).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return (10 * torch.log10(1.0 / mse)).mean()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=["additive", "codec"], required=True)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--proxy", choices=["noise", "deadzone"], default="noise",
                    help="codec proxy (codec variant): uniform coefficient noise, or noise + soft dead zone")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--per-frame", type=int, default=12)
    ap.add_argument("--subset", type=int, default=0, help="training frames (0 = all)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--rho", type=float, default=0.5, help="rate term weight (codec)")
    ap.add_argument("--n-scale", type=float, default=0.25)
    ap.add_argument("--lam-dense", type=float, default=10.0)
    ap.add_argument("--lam-new", type=float, default=5.0)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stub-detector", action="store_true", help="random stand-in detector (CI)")
    ap.add_argument("--restart", action="store_true")
    a = ap.parse_args(argv)
    setup_threads(a.threads)
    name = run_name(a.variant, a.proxy)
    log = Logger(default_log(f"detector_jnd_{name}"))
    torch.manual_seed(a.seed)

    pre = P.run(a.crop, a.per_frame, a.subset, a.stub_detector, log=log)
    crops, hm_u8, wh16, meta = P.load(pre)
    M = len(crops)
    det = load_detector(a.stub_detector)
    gen_kwargs = {"variant": a.variant, "w": a.width}
    g = DetJNDGenerator(**gen_kwargs)
    opt = torch.optim.Adam(g.parameters(), lr=a.lr, weight_decay=a.wd)
    cfg = {k: getattr(a, k) for k in ("variant", "steps", "batch_size", "crop", "per_frame", "subset", "lr",
                                      "wd", "alpha", "beta", "rho", "n_scale", "lam_dense", "lam_new",
                                      "width", "seed", "stub_detector")}
    if name != a.variant:
        cfg["proxy"] = a.proxy
    warm = max(1, a.steps // 20)

    def lr_at(s):
        if s < warm:
            return a.lr * (s + 1) / warm
        p = (s - warm) / max(1, a.steps - warm)
        return a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    path = ckpt_path(name)
    step, history, elapsed = 0, [], 0.0
    if path.exists() and not a.restart:
        ck = torch.load(path, map_location="cpu")
        if ck.get("cfg") == cfg and ck.get("done"):
            log(f"detector_jnd {name}: finished checkpoint exists, skipping")
            return path
        if ck.get("cfg") == cfg:
            g.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            step, history, elapsed = ck["step"], ck["history"], ck["elapsed"]
            torch.set_rng_state(ck["rng"])
            log(f"detector_jnd {name}: resuming at step {step}/{a.steps}")
        else:
            log(f"detector_jnd {name}: checkpoint config differs, restarting")
    log(f"detector_jnd {name}: params {count_params(g)}, crops {M} from {meta['frames']} frames", **cfg)

    def save(done=False):
        ck = {"model": g.state_dict(), "opt": opt.state_dict(), "gen_kwargs": gen_kwargs, "cfg": cfg,
              "step": step, "history": history, "elapsed": elapsed, "done": done,
              "rng": torch.get_rng_state(), "name": name, "proxy": a.proxy if a.variant == "codec" else None, "pre": str(pre.name), "frames": meta["frames"],
              "crops": M, "heldout": meta["heldout"]}
        save_atomic(ck, path)
        with open(path.with_suffix(".csv"), "w") as f:
            f.write(",".join(CSV_KEYS) + "\n")
            for r in history:
                f.write(",".join(f"{r.get(k, float('nan')):.6g}" for k in CSV_KEYS) + "\n")

    g.train()
    acc: dict = {}
    while step < a.steps:
        t0 = time.time()
        ep, i = divmod(step * a.batch_size, M)
        perm = torch.randperm(M, generator=torch.Generator().manual_seed(a.seed * 1000 + ep))
        idx = perm[i:i + a.batch_size].numpy()
        if len(idx) < a.batch_size:  # wrap
            idx = np.concatenate([idx, perm[:a.batch_size - len(idx)].numpy()])
        x = torch.from_numpy(crops[idx]).permute(0, 3, 1, 2).float() / 255.0
        hm_ref = torch.from_numpy(hm_u8[idx]).float() / 255.0
        wh_ref = torch.from_numpy(wh16[idx].astype(np.float32))
        c = P.guidance(hm_ref, x.shape[-2:])
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step)
        xh, jnd, stepmap = distort(g, x, c, a.proxy)
        hm_hat, wh_hat = det(xh * 255.0)
        l1, parts = L.loss1(hm_hat, wh_hat, hm_ref, wh_ref, a.lam_dense, a.lam_new)
        e_norm = (xh - x) * 2.0
        l2 = L.loss2(c, e_norm, a.n_scale)
        l3 = L.loss3(c, e_norm)
        loss = l1 + a.alpha * l2 + a.beta * l3
        if stepmap is not None:
            smb = torch.nn.functional.avg_pool2d(stepmap, 16, 16)
            rate = L.rate_term(smb, content_cost(x * 255.0))
            loss = loss + a.rho * rate
            mls = torch.log2(smb.clamp_min(1e-3)).mean()
        else:
            rate = torch.zeros(())
            mls = torch.log2((2 * torch.nn.functional.avg_pool2d(jnd, 16, 16)).clamp_min(1e-3)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        dt = time.time() - t0
        elapsed += dt
        with torch.no_grad():
            pk = L.reference_peaks(hm_ref, L.PEAK_HIGH)
            kept = (hm_hat[pk] >= L.PEAK_LOW).float().mean().item() if pk.any() else float("nan")
            rec = {"loss": loss.item(), "loss1": l1.item(), "loss2": l2.item(), "loss3": l3.item(),
                   "rate": rate.item(), "mean_jnd_255": jnd.mean().item(), "mean_log2_step": mls.item(),
                   "psnr": psnr01(x, xh).item(), "kept": kept, "sec_per_step": dt,
                   **{k: v.item() for k, v in parts.items()}}
            for k, v in rec.items():
                if not (isinstance(v, float) and math.isnan(v)):
                    acc.setdefault(k, []).append(v)
        if step % a.log_every == 0 or step == a.steps:
            r = {"step": step, "lr": lr_at(step - 1), **{k: float(np.mean(v)) for k, v in acc.items()}}
            history.append(r)
            acc = {}
            log(f"detector_jnd {name}", **{k: round(v, 5) if isinstance(v, float) else v for k, v in r.items()},
                eta_min=round((a.steps - step) * elapsed / step / 60, 1))
        if step % a.ckpt_every == 0:
            save()
    save(done=True)
    log(f"detector_jnd {name}: done, {elapsed / 60:.1f} min")
    return path


if __name__ == "__main__":
    main()
