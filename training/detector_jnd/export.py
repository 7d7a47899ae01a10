"""Export detector-JND generators to ONNX (the runtime contract) + sidecar JSON + parity fixture.

  /usr/bin/python3 -m training.detector_jnd.export --out models/detectors [--ship codec] [--allow-unfinished]

For each variant with a checkpoint: ``<out>/dmv_jnd_<variant>.onnx``; the shipped one (``--ship``)
is also written as ``<out>/dmv_jnd.onnx``. Contract (opset 17, H and W dynamic, multiples of 32):
inputs ``x`` float32 [1,3,H,W] RGB in 0..1 and ``guidance`` float32 [1,1,H,W] (CenterNet's
class-max heatmap at H/4 x W/4 upsampled bilinearly to H x W, 0..1); output ``jnd`` float32
[1,1,H,W] in 0-255 pixel units (additive: 255 * mean_RGB |e|; codec: half the tolerated
quantisation step, step = 2 x jnd). Sidecars ``dmv_jnd*.json`` carry the variant, sizes, training
command, and (after evaluate) the measured figures; ``dmv_jnd*_parity.json`` holds synthetic
inputs and PyTorch outputs for an onnxruntime check (``ort_check.mjs``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np
import torch

from ..common import REPO_ROOT, setup_threads
from ..export import _synthetic_cam, _synthetic_image, _roundtrip
from .model import JNDExport, count_params
from .train import ckpt_path, load_generator

OPSET = 17
TRAIN_CMD = "npm run train:jnd-detector"
RUNTIME_SIZE = 512


def export_one(g, path: Path):
    w = JNDExport(g).eval()
    x = torch.rand(1, 3, 64, 96)
    c = torch.rand(1, 1, 64, 96)
    torch.onnx.export(w, (x, c), str(path), input_names=["x", "guidance"], output_names=["jnd"],
                      dynamic_axes={"x": {2: "H", 3: "W"}, "guidance": {2: "H", 3: "W"}, "jnd": {2: "H", 3: "W"}},
                      opset_version=OPSET, do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(str(path)))


def parity(g, path: Path):
    rng = np.random.default_rng(7)
    cases = []
    for h, w in ((32, 64), (64, 64)):
        x = _roundtrip((_synthetic_image(rng, 1, h, w) + 1) / 2)
        c = _roundtrip(_synthetic_cam(rng, 1, h, w))
        with torch.no_grad():
            j = JNDExport(g).eval()(torch.from_numpy(x), torch.from_numpy(c)).numpy()
        cases.append({"inputs": {"x": {"dims": list(x.shape), "data": [float(f"{v:.9g}") for v in x.ravel()]},
                                 "guidance": {"dims": list(c.shape), "data": [float(f"{v:.9g}") for v in c.ravel()]}},
                      "outputs": {"jnd": {"dims": list(j.shape), "data": [float(f"{v:.7g}") for v in j.ravel()]}}})
    path.write_text(json.dumps({"atol": 1e-3, "cases": cases}))


def ort_check(onnx_path: Path, parity_path: Path, sizes="512,384,256", threads=1):
    try:
        r = subprocess.run(["node", str(REPO_ROOT / "training/detector_jnd/ort_check.mjs"), str(onnx_path),
                            str(parity_path), sizes, str(threads)], capture_output=True, text=True, check=True,
                           cwd=REPO_ROOT)
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError) as e:
        print(f"[export] onnxruntime-node check skipped: {e}", flush=True)
        return None


def sidecar(variant, ck, onnx_name, extra=None):
    cfg = ck["cfg"]
    d = {"file": onnx_name, "variant": variant,
         "output": ("jnd = 255 * mean_RGB |e| (additive x_hat = x + e)" if variant == "additive" else
                    "jnd = half the tolerated quantisation step (0-255 px units), step = 2 x jnd, pooled per MB (mean)"),
         "inputs": {"x": "float32 [1,3,H,W] RGB 0..1 (frame squashed to H x W)",
                    "guidance": "float32 [1,1,H,W] CenterNet class-max heatmap (H/4 x W/4) upsampled bilinearly, 0..1"},
         "size_multiple": 32, "training_input_size": [cfg["crop"], cfg["crop"]],
         "training_frame_size": [512, 512], "recommended_runtime_size": [RUNTIME_SIZE, RUNTIME_SIZE],
         "training_command": TRAIN_CMD, "steps": ck["step"], "finished": bool(ck.get("done")),
         "train_minutes": round(ck["elapsed"] / 60, 1), "params": None, "config": cfg,
         "heldout_clips": ck.get("heldout"), "training_frames": ck.get("frames"), "training_crops": ck.get("crops"),
         "final_train_losses": ck["history"][-1] if ck["history"] else None}
    if extra:
        d.update(extra)
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/detectors")
    ap.add_argument("--ship", choices=["additive", "codec", "codec_deadzone"], default="codec")
    ap.add_argument("--runs", default="additive,codec,codec_deadzone")
    ap.add_argument("--allow-unfinished", action="store_true")
    ap.add_argument("--sizes", default="512,384,256")
    ap.add_argument("--no-ort", action="store_true")
    a = ap.parse_args(argv)
    setup_threads(1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for v in a.runs.split(","):
        if not ckpt_path(v).exists():
            print(f"[export] no checkpoint for {v}", flush=True)
            continue
        g, ck = load_generator(v)
        if not ck.get("done") and not a.allow_unfinished:
            print(f"[export] {v} unfinished (step {ck['step']}); --allow-unfinished to export", flush=True)
            continue
        names = [f"dmv_jnd_{v}"] + (["dmv_jnd"] if v == a.ship else [])
        for n in names:
            p = out / f"{n}.onnx"
            export_one(g, p)
            par = out / f"{n}_parity.json"
            parity(g, par)
            ortr = None if a.no_ort else ort_check(p, par, a.sizes)
            side = out / f"{n}.json"
            old = json.loads(side.read_text()) if side.exists() else {}
            d = sidecar(g.variant, ck, p.name, {"run": v, "codec_proxy": ck.get("proxy"), "shipped": n == "dmv_jnd" or v == a.ship, "onnxruntime_node": ortr,
                                        "measured": old.get("measured")})
            d["params"] = count_params(g)
            side.write_text(json.dumps(d, indent=2) + "\n")
            print(f"[export] {v}: {p} ({p.stat().st_size / 1e3:.0f} kB) step {ck['step']} ort {ortr}", flush=True)


if __name__ == "__main__":
    main()
