"""Export the classifiers (with CAM) and the JND generator to ONNX + parity fixtures.

  /usr/bin/python3 -m training.export --out models

Writes ``<out>/<name>.onnx`` (opset 17, dynamic N/H/W, onnx.checker clean) for
every finished (or, with --allow-unfinished, any) checkpoint, and
``<out>/parity/<name>.json`` fixtures (synthetic inputs, never dataset pixels):

  {"model": "resnet.onnx", "atol": 1e-4, "cases": [
     {"inputs":  {"x":      {"dims": [2,3,32,32], "data": [...float32, row-major]}},
      "outputs": {"logits": {"dims": [2,10],      "data": [...]},
                  "cam":    {"dims": [2,1,32,32], "data": [...]}}},
     {... one 1x3x48x64 case ...}]}

Generator fixtures have inputs ``x`` and ``cam`` and outputs ``x_hat`` and ``e``.
Parity: onnxruntime (Python) when installed, else skipped with a message; the
Node check ``node training/parity_check.mjs <out>`` uses onnxruntime-node.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from .common import ckpt_dir, setup_threads
from .models import CLASSIFIERS, ClassifierWithCam, GeneratorExport, JNDGenerator, build_classifier

OPSET = 17
ATOL = 1e-4
CASES = [(2, 32, 32), (1, 48, 64)]  # (N, H, W)


def _synthetic_image(rng, n, h, w):
    """Smooth colour blobs + gradient + mild noise in [-1, 1] (no dataset pixels)."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.empty((n, 3, h, w), dtype=np.float32)
    for i in range(n):
        for ch in range(3):
            v = 0.6 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * xx + rng.uniform(0, 1)))
            v += 0.6 * np.cos(2 * np.pi * (rng.uniform(0.5, 2) * yy + rng.uniform(0, 1)))
            cx, cy = rng.uniform(0.2, 0.8, 2)
            v += rng.uniform(-1, 1) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.02)
            v += 0.1 * rng.standard_normal((h, w))
            out[i, ch] = np.clip(v, -1, 1)
    return out


def _synthetic_cam(rng, n, h, w):
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.empty((n, 1, h, w), dtype=np.float32)
    for i in range(n):
        cx, cy = rng.uniform(0.25, 0.75, 2)
        g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.05)
        out[i, 0] = (g - g.min()) / (g.max() - g.min())
    return out


def _roundtrip(a):
    """float32 array -> JSON-exact float32 values (repr with 9 significant digits)."""
    return np.asarray([float(f"{v:.9g}") for v in a.ravel()], dtype=np.float32).reshape(a.shape)


def _tensor_json(a, digits):
    return {"dims": list(a.shape), "data": [float(f"{v:.{digits}g}") for v in a.ravel().tolist()]}


def load_classifier_ckpt(name, allow_unfinished=False):
    p = ckpt_dir() / f"{name}.pt"
    if not p.exists():
        return None, None
    ck = torch.load(p, map_location="cpu")
    if not ck.get("done") and not allow_unfinished:
        return None, ck
    m = build_classifier(name)
    m.load_state_dict(ck["model"])
    return m.eval(), ck


def export_model(wrapper, inputs, input_names, output_names, path):
    dyn = {}
    for k in input_names + output_names:
        dyn[k] = {0: "N", 2: "H", 3: "W"}
    if "logits" in output_names:
        dyn["logits"] = {0: "N"}
    with torch.no_grad():
        torch.onnx.export(wrapper, tuple(torch.from_numpy(i) for i in inputs), str(path),
                          input_names=input_names, output_names=output_names,
                          dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    import onnx
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    return m


def add_metadata(path, meta: dict):
    import onnx
    m = onnx.load(str(path))
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.save(m, str(path))
    onnx.checker.check_model(onnx.load(str(path)))


def make_cases(kind, seed, wrapper):
    rng = np.random.RandomState(seed)
    cases = []
    for n, h, w in CASES:
        for _attempt in range(20):
            x = _roundtrip(_synthetic_image(rng, n, h, w))
            ins = {"x": x}
            if kind == "generator":
                ins["cam"] = _roundtrip(_synthetic_cam(rng, n, h, w))
            with torch.no_grad():
                outs = wrapper(*[torch.from_numpy(v) for v in ins.values()])
            outs = [o.numpy() for o in outs]
            if kind == "classifier":  # avoid near-ties in argmax / flat CAMs
                s = np.sort(outs[0], 1)
                if (s[:, -1] - s[:, -2]).min() < 1e-2:
                    continue
            break
        cases.append((ins, outs))
    return cases


def ort_parity(path, cases, output_names):
    try:
        import onnxruntime as ort
    except ImportError:
        print(f"[export] onnxruntime (python) not installed: skipping python parity for {path.name}; "
              "run `node training/parity_check.mjs <out>` (onnxruntime-node) instead", flush=True)
        return None
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for ins, outs in cases:
        got = s.run(output_names, ins)
        for g, o in zip(got, outs):
            worst = max(worst, float(np.abs(g - o).max()))
    print(f"[export] ort parity {path.name}: max abs diff {worst:.2e}", flush=True)
    assert worst < ATOL, f"parity failed for {path}"
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models")
    ap.add_argument("--models", default=",".join(CLASSIFIERS + ["jnd_generator"]))
    ap.add_argument("--allow-unfinished", action="store_true",
                    help="also export checkpoints whose training has not finished")
    a = ap.parse_args(argv)
    setup_threads(1)
    out = Path(a.out)
    (out / "parity").mkdir(parents=True, exist_ok=True)
    summary = {}
    norm = "x = rgb/127.5 - 1 (mean 0.5, std 0.5 on [0,1] pixels), NCHW float32 RGB"
    for name in a.models.split(","):
        if name == "jnd_generator":
            p = ckpt_dir() / "jnd_generator.pt"
            if not p.exists():
                print("[export] jnd_generator: no checkpoint, skipped", flush=True)
                continue
            ck = torch.load(p, map_location="cpu")
            if not ck.get("done") and not a.allow_unfinished:
                print("[export] jnd_generator: unfinished, skipped (use --allow-unfinished)", flush=True)
                continue
            g = JNDGenerator(**ck.get("gen_kwargs", {}))
            g.load_state_dict(ck["model"])
            wrapper = GeneratorExport(g.eval()).eval()
            kind, in_names, out_names = "generator", ["x", "cam"], ["x_hat", "e"]
            meta = {"input.x": f"[N,3,H,W] {norm}; H and W multiples of 8 (pad)",
                    "input.cam": "[N,1,H,W] merged CAM in [0,1] (mean of the 4 classifiers' cam outputs)",
                    "output.x_hat": "[N,3,H,W] clamp(x + E(x,cam), -1, 1)",
                    "output.e": "[N,3,H,W] x_hat - x, effective JND in normalised units (x127.5 = 0..255 units)",
                    "finished": ck.get("done", False)}
        else:
            m, ck = load_classifier_ckpt(name, a.allow_unfinished)
            if m is None:
                why = "no checkpoint" if ck is None else f"unfinished ({ck.get('epoch')}/{ck.get('epochs')} epochs)"
                print(f"[export] {name}: {why}, skipped", flush=True)
                continue
            wrapper = ClassifierWithCam(m).eval()
            kind, in_names, out_names = "classifier", ["x"], ["logits", "cam"]
            meta = {"input.x": f"[N,3,H,W] {norm}; any H,W >= 32",
                    "output.logits": "[N,10] CIFAR-10 class logits (0 airplane .. 9 truck)",
                    "output.cam": "[N,1,H,W] CAM of the top-1 class, bilinear to HxW, min-max to [0,1] per image",
                    "finished": ck.get("done", False)}
        path = out / f"{name}.onnx"
        seed = 1234 + sum(map(ord, name))
        cases = make_cases(kind, seed, wrapper)
        export_model(wrapper, list(cases[0][0].values()), in_names, out_names, path)
        add_metadata(path, meta)
        size = path.stat().st_size
        assert size < 10 * 1024 * 1024, f"{path} is {size} bytes (limit 10 MB)"
        fx = {"model": path.name, "atol": ATOL, "cases": [
            {"inputs": {k: _tensor_json(v, 9) for k, v in ins.items()},
             "outputs": {k: _tensor_json(o, 8) for k, o in zip(out_names, outs)}}
            for ins, outs in cases]}
        (out / "parity" / f"{name}.json").write_text(json.dumps(fx, separators=(",", ":")))
        diff = ort_parity(path, cases, out_names)
        summary[name] = {"bytes": size, "inputs": in_names, "outputs": out_names,
                         "python_ort_max_abs_diff": diff}
        print(f"[export] {name}: {path} ({size / 1e6:.2f} MB), checker ok", flush=True)
    (out / "export-summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
