"""Evaluate the detector-JND generators on the held-out clips (never used in training).

  /usr/bin/python3 -m training.detector_jnd.evaluate --out models/detectors [--frames 30] [--ship auto]

Frames: frames.eval_frames (people_asl_walk_480p, indoor_people_event_480p; every 3rd frame,
squashed to 512x512, the runtime's size). Reference: CenterNet on the clean frame; guidance = its
class-max heatmap upsampled bilinearly to 512 (as the runtime). Agreement = detection F1 (micro over
frames) with the project's matching (metrics.py).

1. Paper tests per variant. "At the JND": additive x_hat = clamp(x + e); codec x_hat = proxy(x,
   step = 2 x MB-mean JND) with real rounding ('round', deterministic) and with the training noise
   (the run's training proxy: 'noise' or 'deadzone'); the primary codec test uses 'quant' (H.264
   reference quantiser with dead zone). e = x_hat - x. WGN control: x + N(0, sigma^2) with sigma^2 = mean(e^2) of that frame
   (same energy), clamped. Homogeneity (paper V-F): x + (k/9) e for k = 1..9; we add k = 12, 18 (e
   scaled beyond the JND) to show where agreement falls.
2. Offline comparison at matched mean log-step: per frame and target T = mean over MBs of log2(step)
   in 4..7 by 0.5 (QP 28..46 at QP = 4 + 6 log2 step), each method's per-MB QP is 4 + 6
   log2(2 g jnd_MB) with the gain g chosen so the mean QP is 4 + 6T, offsets clamped to +-12 around
   it (as src/jnd/qp-mapping.ts), Methods: additive JND,
   codec JND(s), flat (every MB at T), and WGN with the flat quantiser's energy. x_hat = proxy(x,
   step, 'quant'). Also a rate proxy:
   sum over 4x4 DCT coefficients of log2(1 + |level|) per pixel; F1 is also read at equal rate proxy
   (interpolated at the flat quantiser's rate of each T), and --ship auto picks by that mean.
Writes <out>/dmv_jnd_eval.json, updates the sidecars' "measured", writes the card
<out>/dmv_jnd.md and plots <out>/dmv_jnd_curves.png, <out>/dmv_jnd_eval.png.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..common import Logger, default_log, setup_threads
from . import frames as FR
from . import metrics as MT
from .model import block_dct, codec_proxy, rgb_to_ycc
from .precompute import guidance
from .stub import load_detector
from .train import ckpt_path, load_generator

from .evaluate_consts import KS, TARGETS, rate_matched  # noqa: E402
MAXOFF = 12.0


def mb_means(j, mb=16):
    return F.avg_pool2d(j, mb, mb)


def matched_steps(jmb: torch.Tensor, target: float, iters=4):
    """Per-MB step [1,1,h,w] with mean QP 4+6T, QP offsets within +-12 of it."""
    base = 4 + 6 * target
    q = 4 + 6 * torch.log2((2 * jmb).clamp_min(1e-3))
    q = q - q.mean() + base
    for _ in range(iters):
        q = q.clamp(base - MAXOFF, base + MAXOFF)
        q = q - q.mean() + base
    q = q.clamp(base - MAXOFF, base + MAXOFF).clamp(0, 51)
    return 2 ** ((q - 4) / 6)


def up_mb(s, mb=16):
    return F.interpolate(s, scale_factor=float(mb), mode="nearest")


def rate_proxy(x255, step):
    y = block_dct(rgb_to_ycc(x255), 4)
    return torch.log2(1 + (y / step.expand_as(y)).round().abs()).mean().item() * 3  # bits/pixel-ish


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/detectors")
    ap.add_argument("--frames", type=int, default=20, help="per held-out clip")
    ap.add_argument("--ship", default="auto", choices=["auto", "codec", "additive", "codec_deadzone"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--stub-detector", action="store_true")
    ap.add_argument("--allow-unfinished", action="store_true")
    ap.add_argument("--runs", default="additive,codec,codec_deadzone", help="training runs to evaluate")
    ap.add_argument("--merge", action="store_true", help="merge into an existing dmv_jnd_eval.json")
    ap.add_argument("--merge-json", default=None,
                    help="no evaluation: merge this dmv_jnd_eval.json (another run's) into <out>'s, then card")
    a = ap.parse_args(argv)
    setup_threads(a.threads)
    log = Logger(default_log("detector_jnd_evaluate"))
    out = Path(a.out)
    if a.merge_json:
        res = json.loads(Path(a.merge_json).read_text())
        res["seconds"] = 0
        return summarize(res, out, a, log, time.time(), merge=True)
    det = load_detector(a.stub_detector)
    gens = {}
    for v in a.runs.split(","):
        if ckpt_path(v).exists():
            g, ck = load_generator(v)
            if ck.get("done") or a.allow_unfinished:
                gens[v] = (g, ck)
    clips = FR.eval_frames()
    gen = torch.Generator().manual_seed(123)
    counts: dict[str, list] = {}
    extra: dict[str, list] = {}

    def add(key, ref, x01, clip):
        with torch.no_grad():
            hm, wh = det(x01 * 255.0)
        c = MT.match_frame(ref, MT.decode(hm[0], wh[0]))
        counts.setdefault(key, []).append(c)
        counts.setdefault(f"{clip}|{key}", []).append(c)

    def wgn(x, e):
        sigma = e.pow(2).mean().sqrt()
        return (x + sigma * torch.randn(x.shape, generator=gen)).clamp(0, 1)

    t0 = time.time()
    n = 0
    for clip, files in clips.items():
        for f in files[:a.frames]:
            x = torch.from_numpy(FR.load_rgb(f).copy()).permute(2, 0, 1)[None].float() / 255.0
            with torch.no_grad():
                hm, wh = det(x * 255.0)
            ref = MT.decode(hm[0], wh[0])
            extra.setdefault("ref_objects", []).append(sum(1 for d in ref if d[1] >= MT.HIGH))
            c = guidance(hm, x.shape[-2:])
            jmaps = {}
            for v, (g, ck) in gens.items():
                with torch.no_grad():
                    o = g(x, c)
                if g.variant == "additive":
                    xh = (x + o).clamp(0, 1)
                    j = 255.0 * o.abs().mean(1, keepdim=True)
                    cases = {"jnd": xh - x}
                else:
                    j = o
                    step = 2.0 * up_mb(mb_means(j))
                    cases = {"jnd": codec_proxy(x * 255, step, "quant") / 255 - x,
                             "jnd_train_proxy": codec_proxy(x * 255, step, ck.get("proxy") or "noise",
                                                            generator=gen) / 255 - x}
                    extra.setdefault(f"{v}|mean_log2_step", []).append(torch.log2(mb_means(step)).mean().item())
                jmaps[v] = j
                extra.setdefault(f"{v}|mean_jnd_255", []).append(j.mean().item())
                for name, e in cases.items():
                    extra.setdefault(f"{v}|{name}|psnr", []).append(
                        (10 * torch.log10(1 / e.pow(2).mean().clamp_min(1e-12))).item())
                    add(f"{v}|{name}", ref, (x + e).clamp(0, 1), clip)
                    add(f"{v}|{name}|wgn", ref, wgn(x, e), clip)
                e = cases["jnd"]
                for k in KS:
                    if k != 9:
                        add(f"{v}|homog|{k}", ref, (x + e * k / 9).clamp(0, 1), clip)
            # offline comparison at matched mean log-step
            methods = {v: mb_means(j) for v, j in jmaps.items()}
            methods["flat"] = torch.ones_like(mb_means(x[:, :1]))
            if a.merge:
                methods.pop("flat")
            for T in TARGETS:
                for mname, jmb in methods.items():
                    step = up_mb(matched_steps(jmb, T))
                    xh = codec_proxy(x * 255, step, "quant") / 255
                    add(f"cmp|{T}|{mname}", ref, xh, clip)
                    extra.setdefault(f"cmp|{T}|{mname}|rate", []).append(rate_proxy(x * 255, step))
                    extra.setdefault(f"cmp|{T}|{mname}|psnr", []).append(
                        (10 * torch.log10(1 / (xh - x).pow(2).mean().clamp_min(1e-12))).item())
                    if mname == "flat":  # WGN control with the flat quantiser's energy
                        add(f"cmp|{T}|wgn", ref, wgn(x, xh - x), clip)
            n += 1
            if n % 5 == 0:
                log(f"evaluate: {n} frames, {time.time() - t0:.0f}s")
    res = {"frames": n, "clips": {k: min(len(v), a.frames) for k, v in clips.items()},
           "matching": {"iou": MT.IOU, "high": MT.HIGH, "low": MT.LOW, "same_class": True},
           "ref_objects_per_frame": float(np.mean(extra["ref_objects"])),
           "seconds": round(time.time() - t0, 1), "f1": {}, "means": {}}
    for k, v in counts.items():
        tp, fp, fn = (int(sum(c[i] for c in v)) for i in range(3))
        res["f1"][k] = {"f1": round(MT.f1(v), 4), "tp": tp, "fp": fp, "fn": fn}
    for k, v in extra.items():
        if k != "ref_objects":
            res["means"][k] = round(float(np.mean(v)), 4)
    return summarize(res, out, a, log, t0, merge=a.merge)


def summarize(res, out, a, log, t0, merge=False):
    if merge and (out / "dmv_jnd_eval.json").exists():
        old = json.loads((out / "dmv_jnd_eval.json").read_text())
        keep = lambda k: k in old["f1"] or k in old["means"]  # noqa: E731
        shared = lambda k: ("|flat" in k or "|wgn" in k) and k.startswith(("cmp|", "indoor", "people"))  # noqa: E731
        for part in ("f1", "means"):
            for k, v in res[part].items():
                if not (shared(k) and keep(k)):  # the first run's flat / WGN controls stay
                    old[part][k] = v
        old["seconds"] = round(old.get("seconds", 0) + res["seconds"], 1)
        res = old
    runs = sorted({k.split("|")[0] for k in res["f1"] if k.split("|")[0] in ("additive", "codec", "codec_deadzone")})
    cmp = {v: float(np.mean([res["f1"][f"cmp|{T}|{v}"]["f1"] for T in TARGETS])) for v in runs}
    res["runs"] = runs
    res["cmp_mean_f1"] = {k: round(x, 4) for k, x in cmp.items()}
    res["cmp_mean_f1"]["flat"] = round(float(np.mean([res["f1"][f"cmp|{T}|flat"]["f1"] for T in TARGETS])), 4)
    rm = rate_matched(res, runs + ["flat"])
    res["cmp_rate_matched_f1"] = {k: [round(x, 4) for x in v] for k, v in rm.items()}
    res["cmp_rate_matched_mean_f1"] = {k: round(float(np.mean(v)), 4) for k, v in rm.items()}
    # pick by equal bits (rate proxy), the reading closest to the bench's BD-rate at equal F1
    rmm = {k: v for k, v in res["cmp_rate_matched_mean_f1"].items() if k != "flat"}
    ship = a.ship if a.ship != "auto" else (max(rmm, key=rmm.get) if rmm else "codec")
    res["ship"] = ship
    out.mkdir(parents=True, exist_ok=True)
    (out / "dmv_jnd_eval.json").write_text(json.dumps(res, indent=1) + "\n")
    log(f"evaluate: done in {time.time() - t0:.0f}s, ship {ship}", cmp_mean_f1=res["cmp_mean_f1"])
    cks = {}
    for v in runs:
        if ckpt_path(v).exists():
            cks[v] = torch.load(ckpt_path(v), map_location="cpu")
    from .card import write_card
    write_card(out, res, cks)
    return res


if __name__ == "__main__":
    main()
