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
            yp = np.pad(np.nan_to_num(ys, nan=np.nanmean(ys)), (k // 2, k - 1 - k // 2), mode="edge")
            ys = np.convolve(yp, np.ones(k) / k, mode="valid").tolist()
            series[v] = (xs, ys)
        panels.append((title, "step", series))
    lineplot(panels, out / "dmv_jnd_curves.png")
    ev = [("F1 vs mean log2 step (proxy, held-out)", "mean log2 step",
           {m: (list(TARGETS), [_f(res, f"cmp|{T}|{m}") for T in TARGETS]) for m in list(cks) + ["flat", "wgn"]})]
    ev.append(("homogeneity: F1 at x + (k/9) e", "k",
               {v: (list(KS), [_f(res, f"{v}|homog|{k}") if k != 9 else _f(res, f"{v}|jnd") for k in KS]) for v in cks}))
    rs = {}
    for m in list(cks) + ["flat"]:
        pts = sorted((res["means"][f"cmp|{T}|{m}|rate"], _f(res, f"cmp|{T}|{m}")) for T in TARGETS
                     if f"cmp|{T}|{m}|rate" in res["means"])
        rs[m] = ([p[0] for p in pts], [p[1] for p in pts])
    ev.insert(1, ("F1 vs rate proxy (held-out)", "rate proxy (bits/px-ish)", rs))
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
    if "cmp_rate_matched_f1" in res:
        measured["f1_matched_rate_proxy_at_flat_T"] = {m: dict(zip(map(str, TARGETS), v)) for m, v in res["cmp_rate_matched_f1"].items()}
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
    write_markdown(out, res, cks, measured)
    return measured


NOTES = Path(__file__).resolve().parent / "card_notes.md"
CREDITS = ("Frames: dev clips and stills from `../shared/data` (see its README): Toronto Road Cams (CC-BY 3.0), "
           "Peter Stevens (CC-BY 2.0), Aaron Tang (CC-BY 2.0; indoor_people_event, held out), zombieite (CC-BY 2.0), "
           "Intel (CC-BY 4.0; people_asl_walk, held out), Blender Foundation (CC-BY 3.0), public-domain / CC0 clips, "
           "Kodak, scikit-image and MDN CC0 stills.")


def _fmt(v, d=3):
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{d}f}"


def write_markdown(out: Path, res: dict, cks: dict, measured: dict):
    out = Path(out)
    runs = list(cks)
    side = {}
    for v in runs:
        p = out / f"dmv_jnd_{v}.json"
        side[v] = json.loads(p.read_text()) if p.exists() else {}
    L = ["# DMV-JND for CenterNet (`dmv_jnd*.onnx`)", "",
         "Section owner: the detector-JND training (issue 13). Generated by `python3 -m training.detector_jnd.evaluate` "
         "(tables, figures) plus `training/detector_jnd/card_notes.md` (verdict); regenerate with "
         "`npm run train:jnd-detector` (resumable; finished steps are skipped).", ""]
    L += [f"**Shipped as `dmv_jnd.onnx`: `{res['ship']}`.** Others: " +
          ", ".join(f"`dmv_jnd_{v}.onnx`" for v in runs) + ".", ""]
    if NOTES.exists():
        L += [NOTES.read_text().strip(), ""]
    L += ["## Contract", "",
          "- inputs `x` float32 [1,3,H,W] RGB 0..1 (the frame squashed to H x W, no letterbox) and `guidance` float32 "
          "[1,1,H,W]: CenterNet's class-max heatmap (its [80,H/4,W/4] sigmoid output, max over classes) upsampled "
          "bilinearly to H x W, 0..1. H, W dynamic, multiples of 32. **Recommended runtime size 512x512** (the size "
          "CenterNet runs at, so one detector pass gives the guidance; frames were squashed to 512x512 in training).",
          "- output `jnd` float32 [1,1,H,W] in 0-255 pixel units. additive: 255 x mean over RGB of |e|; codec "
          "variants: half the quantisation step the macroblock tolerates (step = 2 x jnd, QP = 4 + 6 log2 step), "
          "trained with the JND mean-pooled per 16x16 block of the 512x512 view (pool with 'mean').",
          "- sidecars `dmv_jnd*.json`: variant, sizes, training command/config, final losses, measured figures; "
          "`dmv_jnd*_parity.json`: synthetic inputs + PyTorch outputs (onnxruntime-node max |diff| below).", ""]
    L += ["## Training data", "",
          f"- {next(iter(cks.values())).get('frames', '?')} frames: every 10th frame of each dev clip in `../shared/data/videos` "
          "(at most 40 per clip, evenly spread) except the held-out clips, plus all 45 stills of `../shared/data/images`; "
          "all squashed to 512x512 (decoded with Debian's `ffmpeg` into `~/.cache/dmvjnd/detector-frames/`, never the repo).",
          "- **Held out entirely from training** (used only for the tests below): `people_asl_walk_480p.mkv`, "
          "`indoor_people_event_480p.mp4`.",
          f"- A fixed pool of {next(iter(cks.values())).get('crops', '?')} random 128x128 crops (12 per frame, "
          "horizontal flip p = 0.5). Labels: CenterNet's own outputs on the clean crop (heatmap, wh), computed once "
          "(no annotation). Guidance = class-max of that heatmap, upsampled.", ""]
    L += ["## Generator and losses", "",
          "Paper's E-D (x stacked with the guidance -> conv+BN+ReLU+max-pool encoder, transposed-conv decoder), sized "
          "for CPU: 3x3 stride-2 stem + pool (1/4), 16-32-64-64-64 channels to 1/32, transposed convs x4, x2 back to 1/4, "
          "a head that also sees the 1/4-pooled input, bilinear x4 to full size; ~136k parameters.",
          "- additive (paper): e = 0.5 tanh(.) [3 channels, 0..1 units], x_hat = clamp(x + e).",
          "- codec: j = 128 sigmoid(.) (0-255 units), step = 2 x mean of j per 16x16 block; x_hat = proxy(x, step): "
          "RGB -> YCbCr -> orthonormal 4x4 block DCT of Y, Cb, Cr -> perturb coefficients -> inverse -> RGB. "
          "`codec`: uniform noise U(-step/2, step/2) on every coefficient (the brief's proxy). `codec_deadzone`: the "
          "same noise on coefficients with |c| >= 2/3 step and a soft gate (sigmoid, width 0.1 step) zeroing the smaller "
          "ones, as the H.264 reference quantiser (rounding offset 1/3) does. The rate term R = -mean_MB "
          "cost_MB log2(step_MB) / 8 (cost = log2(1 + mean luma AC energy) normalised per image) rewards large steps "
          "where content is costly.",
          "- Loss 1 (detector agreement; `losses.py`): reference peaks = 3x3 local maxima >= 0.25; smooth-L1 on the "
          "logit of the distorted score at the peaks (weight 1 for >= 0.35, 0.5 in the band), smooth-L1 on the "
          "relative box extents (wh) at the peaks, a dense heatmap term (squared difference weighted 0.1 + min(1, H/0.35), "
          "x10), and a new-peak term sum relu(H_hat - max(H, 0.25)) / 9 (x5).",
          "- Loss 2 (paper Eq. 13, magnitude): ln((N^2 + N0^2)/(2 N N0)) with N = 0.25 (1 - mean c), N0 = mean |e| in "
          "the paper's normalised units (e_255 / 127.5): the mean distortion is pushed towards 0.25 x the paper's target "
          "(the paper's N ~ 1, PSNR ~ 9.6 dB on CIFAR, would swamp a detector), larger where c is small. "
          "Loss 3 (Eq. 15, spatial/energy): <softmax(c), |e|>. e = effective distortion x_hat - x for all variants. "
          "alpha = beta = 1, rate weight 0.5.", ""]
    L += ["## Schedule (CPU, 1 thread, nice 19, shared 2-core machine)", "",
          "| run | steps | batch | crop | lr (Adam, warm-up 5%, cosine to 5%) | wall (train loop) | final loss | Loss1 | Loss2 | Loss3 | rate | mean JND (0-255) | train PSNR dB | peaks >= 0.35 kept >= 0.25 |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v, ck in cks.items():
        h = ck["history"][-10:]
        m = {k: float(np.nanmean([r.get(k, np.nan) for r in h])) for k in ("loss", "loss1", "loss2", "loss3", "rate",
                                                                           "mean_jnd_255", "psnr", "kept")}
        c = ck["cfg"]
        L.append(f"| {v} | {ck['step']} | {c['batch_size']} | {c['crop']} | {c['lr']} | {ck['elapsed'] / 60:.1f} min | "
                 f"{m['loss']:.3f} | {m['loss1']:.3f} | {m['loss2']:.3f} | {m['loss3']:.3f} | {m['rate']:.3f} | "
                 f"{m['mean_jnd_255']:.1f} | {m['psnr']:.1f} | {m['kept']:.2f} |")
    L += ["", "(final = mean of the last 100 steps; training-crop figures, codec PSNR with the training proxy.)", "",
          "![loss curves](dmv_jnd_curves.png)", "",
          "Curve data: `training/checkpoints/detector_jnd_<run>.csv` (not committed; rerun writes it).", ""]
    L += ["## Paper's tests on held-out frames", "",
          f"{res['frames']} frames ({', '.join(f'{k} {v}' for k, v in res['clips'].items())}; every 3rd frame, 512x512), "
          f"{res['ref_objects_per_frame']:.1f} reference objects (score >= 0.35) per frame. Agreement = CenterNet F1 "
          "(micro over frames) on the distorted vs the clean frame: same class, IoU >= 0.5, reference objects >= 0.35, "
          "matches down to 0.25 (the project's band). Codec variants at the JND use the H.264 reference quantiser "
          "(dead zone, step = 2 x MB-mean JND); 'training proxy' = the noise proxy they were trained with. "
          "WGN: white Gaussian noise with the same energy (MSE) per frame.", "",
          "| run | PSNR at JND (dB) | F1 at JND | F1 WGN, same energy | F1 at JND (training proxy) | F1 WGN (proxy energy) |",
          "|---|---|---|---|---|---|"]
    for v in runs:
        mv = measured[v]
        L.append(f"| {v} | {_fmt(mv['psnr_at_jnd_db'], 1)} | {_fmt(mv['f1_at_jnd'])} | {_fmt(mv['f1_wgn_same_energy'])} | "
                 f"{_fmt(mv.get('f1_at_jnd_training_proxy'))} | {_fmt(mv.get('f1_wgn_same_energy_training_proxy'))} |")
    L += ["", "Homogeneity (paper V-F: x + (k/9) e, k = 1..9; k = 12, 18 go beyond the JND):", "",
          "| run | " + " | ".join(f"k={k}" for k in KS) + " |", "|---|" + "---|" * len(KS)]
    for v in runs:
        L.append(f"| {v} | " + " | ".join(_fmt(measured[v]["homogeneity_f1"][str(k)]) for k in KS) + " |")
    L += ["", "## Offline comparison at matched mean log-step", "",
          "Per frame, each method's per-MB QP = 4 + 6 log2(2 x gain x MB-mean JND) with the gain set so the mean QP is "
          "4 + 6T (T = mean log2 step), offsets clamped to +-12 (as `src/jnd/qp-mapping.ts`), then the H.264 reference "
          "quantiser on 4x4 DCTs of Y, Cb, Cr. flat = every MB at T; WGN = Gaussian noise with the flat quantiser's "
          "energy. Rate proxy: mean log2(1 + |level|) per coefficient x 3 (lower = fewer bits).", "",
          "| T (QP) | " + " | ".join(runs) + " | flat | WGN (flat energy) | rate proxy " + " / ".join(runs + ["flat"]) + " |",
          "|---|" + "---|" * (len(runs) + 3)]
    for T in TARGETS:
        rates = " / ".join(_fmt(res["means"].get(f"cmp|{T}|{m}|rate")) for m in runs + ["flat"])
        L.append(f"| {T:g} ({4 + 6 * T:g}) | " + " | ".join(_fmt(_f(res, f"cmp|{T}|{m}")) for m in runs) +
                 f" | {_fmt(_f(res, f'cmp|{T}|flat'))} | {_fmt(_f(res, f'cmp|{T}|wgn'))} | {rates} |")
    L += ["", "Mean F1 over T (equal mean log-step): " + ", ".join(f"{k} {v:.3f}" for k, v in res["cmp_mean_f1"].items()) + ".", ""]
    if "cmp_rate_matched_f1" in res:
        L += ["At equal rate proxy (each method's F1 curve over T, interpolated in log rate at the flat quantiser's rate "
              "of each T; an 'equal bits' reading, closer to the bench's BD-rate):", "",
              "| flat at T | " + " | ".join(runs) + " | flat |", "|---|" + "---|" * (len(runs) + 1)]
        for i, T in enumerate(TARGETS):
            L.append(f"| {T:g} | " + " | ".join(_fmt(res["cmp_rate_matched_f1"][m][i]) for m in runs + ["flat"]) + " |")
        L += ["", "Mean F1 at equal rate proxy: " + ", ".join(f"{k} {v:.3f}" for k, v in res["cmp_rate_matched_mean_f1"].items()) + ".", ""]
    L += [
          "![evaluation](dmv_jnd_eval.png)", ""]
    L += ["## Inference (onnxruntime-node, CPU, 1 thread, median of 10; machine shared with other jobs)", "",
          "| file | 256x256 | 384x384 | 512x512 | max abs diff vs PyTorch |", "|---|---|---|---|---|"]
    for v in runs:
        o = side[v].get("onnxruntime_node") or {}
        lt = o.get("latency_ms", {})
        L.append(f"| dmv_jnd_{v}.onnx | " + " | ".join(f"{lt[s]['median']} ms" if s in lt else "n/a" for s in ("256", "384", "512"))
                 + f" | {o.get('max_abs_diff', 'n/a')} |")
    L += ["", CREDITS, ""]
    (out / "dmv_jnd.md").write_text("\n".join(L))
