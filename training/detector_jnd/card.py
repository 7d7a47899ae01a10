"""Model card (models/detectors/dmv_jnd.md), plots (PIL; Debian has no python3-matplotlib here) and the
sidecars' "measured" block, from the evaluation results and the training checkpoints."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import frames as FR
from .evaluate_consts import KS, TARGETS

COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (127, 127, 127)]


def lineplot(panels, path: Path, width=460, height=300):
    """panels: list of (title, xlabel, {name: (xs, ys)}). Draws them side by side into one PNG."""
    from PIL import Image, ImageDraw
    W = width * len(panels)
    im = Image.new("RGB", (W, height), "white")
    d = ImageDraw.Draw(im)
    for p, (title, xlabel, series) in enumerate(panels):
        ox, L, R, T, B = p * width, 48, 12, 22, 40
        xs_all = [x for xs, _ in series.values() for x in xs]
        ys_all = [y for _, ys in series.values() for y in ys if np.isfinite(y)]
        if not xs_all or not ys_all:
            continue
        x0, x1 = min(xs_all), max(xs_all)
        y0, y1 = min(ys_all), max(ys_all)
        if y1 - y0 < 1e-9:
            y1 = y0 + 1
        pad = 0.05 * (y1 - y0)
        y0, y1 = y0 - pad, y1 + pad
        fx = lambda x: ox + L + (x - x0) / max(1e-9, x1 - x0) * (width - L - R)
        fy = lambda y: T + (y1 - y) / (y1 - y0) * (height - T - B)
        d.rectangle([ox + L, T, ox + width - R, height - B], outline=(0, 0, 0))
        d.text((ox + L, 4), title, fill=(0, 0, 0))
        d.text((ox + width // 2 - 20, height - 14), xlabel, fill=(0, 0, 0))
        for i in range(5):
            yv = y0 + (y1 - y0) * i / 4
            d.text((ox + 2, fy(yv) - 5), f"{yv:.3g}", fill=(80, 80, 80))
            xv = x0 + (x1 - x0) * i / 4
            d.text((fx(xv) - 10, height - B + 3), f"{xv:.3g}", fill=(80, 80, 80))
        for k, (name, (xs, ys)) in enumerate(series.items()):
            col = COLORS[k % len(COLORS)]
            pts = [(fx(x), fy(y)) for x, y in zip(xs, ys) if np.isfinite(y)]
            if len(pts) > 1:
                d.line(pts, fill=col, width=2)
            for q in pts if len(pts) < 20 else []:
                d.ellipse([q[0] - 2, q[1] - 2, q[0] + 2, q[1] + 2], fill=col)
            d.text((ox + L + 6, T + 4 + 12 * k), name, fill=col)
    im.save(path)


def _f(res, key):
    r = res["f1"].get(key)
    return r["f1"] if r else float("nan")


def write_card(out: Path, res: dict, cks: dict):
    out = Path(out)
    ship = res["ship"]
    # curves
    panels = []
    for key, title in (("loss1", "Loss1 (detector agreement)"), ("loss2", "Loss2 (magnitude)"),
                       ("mean_jnd_255", "mean JND (0-255)")):
        series = {}
        for v, ck in cks.items():
            h = ck["history"]
            xs = [r["step"] for r in h]
            ys = [r.get(key, float("nan")) for r in h]
            k = max(1, len(ys) // 60)  # smooth for readability
            ys = np.convolve(np.nan_to_num(ys, nan=np.nanmean(ys)), np.ones(k) / k, mode="same").tolist()
            series[v] = (xs, ys)
        panels.append((title, "step", series))
    lineplot(panels, out / "dmv_jnd_curves.png")
    ev = [("F1 vs mean log2 step (proxy, held-out)", "mean log2 step",
           {m: (list(TARGETS), [_f(res, f"cmp|{T}|{m}") for T in TARGETS]) for m in list(cks) + ["flat", "wgn"]})]
    ev.append(("homogeneity: F1 at x + (k/9) e", "k",
               {v: (list(KS), [_f(res, f"{v}|homog|{k}") if k != 9 else _f(res, f"{v}|jnd") for k in KS]) for v in cks}))
    lineplot(ev, out / "dmv_jnd_eval.png")

    measured = {"eval_frames": res["frames"], "eval_clips": res["clips"],
                "ref_objects_per_frame": round(res["ref_objects_per_frame"], 2)}
    for v in cks:
        measured[v] = {
            "f1_at_jnd": _f(res, f"{v}|jnd"), "f1_wgn_same_energy": _f(res, f"{v}|jnd|wgn"),
            "psnr_at_jnd_db": res["means"].get(f"{v}|jnd|psnr"),
            "mean_jnd_255": res["means"].get(f"{v}|mean_jnd_255"),
            "homogeneity_f1": {str(k): (_f(res, f"{v}|homog|{k}") if k != 9 else _f(res, f"{v}|jnd")) for k in KS},
            "f1_matched_log_step": {str(T): _f(res, f"cmp|{T}|{v}") for T in TARGETS},
        }
        if v.startswith("codec"):
            measured[v]["f1_at_jnd_training_proxy"] = _f(res, f"{v}|jnd_train_proxy")
            measured[v]["f1_wgn_same_energy_training_proxy"] = _f(res, f"{v}|jnd_train_proxy|wgn")
            measured[v]["mean_log2_step_at_jnd"] = res["means"].get(f"{v}|mean_log2_step")
    measured["flat_f1_matched_log_step"] = {str(T): _f(res, f"cmp|{T}|flat") for T in TARGETS}
    measured["wgn_f1_matched_log_step"] = {str(T): _f(res, f"cmp|{T}|wgn") for T in TARGETS}
    for name in ["dmv_jnd"] + [f"dmv_jnd_{v}" for v in cks]:
        p = out / f"{name}.json"
        if p.exists():
            d = json.loads(p.read_text())
            d["measured"] = measured
            d["shipped"] = (name == "dmv_jnd") or name == f"dmv_jnd_{ship}"
            p.write_text(json.dumps(d, indent=2) + "\n")
    (out / "dmv_jnd_measured.json").write_text(json.dumps(measured, indent=1) + "\n")
    return measured
