"""Int8 copies of the JND analysis models (four classifiers' CAM path + generator).

  bash training/quantize.sh            # = npm run quantize; makes a venv, then:
  python -m training.quantize --models models --out models/int8

Why: on CPU the JND analysis (four classifiers' CAMs + the generator, ~90 ms per
128 px view on one core) is what makes a JND-guided encode slower than plain x264.
Static int8 quantisation (ONNX Runtime QDQ, Conv layers only, per-channel 7-bit
weights so that CPUs without VNNI cannot saturate, uint8 activations, MinMax
calibration) runs the same graphs ~2x faster where the CPU has int8 dot-product
instructions (AVX512-VNNI / AVX-VNNI).

Only the analysis uses these files (`--analysis-precision int8`); the classifiers'
decisions for RCA always come from the float models.

Calibration: natural stills (Kodak, skimage, MDN CC0 under $DMVJND_DATA/images),
never the dev clips the benchmarks measure on, each at the runtime's machine view
(short side 128 px, both sides multiples of 8, area filter) and mirrored. The
generator is calibrated on (view, merged float CAM) pairs. Fidelity against the
float models on dev-clip frames: bench/int8-fidelity.ts.

Needs onnxruntime (Python), onnx, numpy and pillow: quantize.sh installs them into
a venv under ~/.cache/dmvjnd (Debian has no python3-onnxruntime).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSIFIERS = ["alexnet", "vgg", "resnet", "densenet"]
GENERATOR = "jnd_generator"
# The generator's output convolution (before tanh) sets the JND's scale: in int8 it biased
# the JND low (see main()'s docstring and models/README.md).
KEEP_FLOAT = ["/g/out/out.1/Conv"]
VIEW_STRIDE = 8
WINDOW = 32


def data_root() -> Path:
    env = os.environ.get("DMVJND_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def view_size(w: int, h: int, short_side: int) -> tuple[int, int]:
    """Same rule as src/analysis/machine-view.ts viewSizeFor."""
    scale = short_side / min(w, h)

    def snap(v: float) -> int:
        return max(WINDOW, round(v * scale / VIEW_STRIDE) * VIEW_STRIDE)

    return snap(w), snap(h)


def calibration_views(short_side: int):
    import numpy as np
    from PIL import Image

    folders = [data_root() / "images" / d for d in ("kodak", "skimage", "mdn-cc0")]
    files = sorted(p for d in folders if d.is_dir() for p in d.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        sys.exit(f"quantize: no calibration stills under {data_root() / 'images'} (set DMVJND_DATA)")
    views = []
    for p in files:
        im = Image.open(p).convert("RGB")
        w, h = view_size(im.width, im.height, short_side)
        im = im.resize((w, h), Image.BOX)
        for flip in (False, True):
            a = np.asarray(im.transpose(Image.FLIP_LEFT_RIGHT) if flip else im, dtype=np.float32)
            views.append((a.transpose(2, 0, 1)[None] / 127.5 - 1.0).astype(np.float32))
    return files, views


def untie_gather_weights(src: Path, dst: Path) -> None:
    """The CAM gathers the FC weight row of the top class; the quantiser's pre-processing
    rewrites the FC (Gemm) weight it shares, which breaks that Gather: give it a copy."""
    import onnx

    m = onnx.load(str(src))
    inits = {i.name: i for i in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "Gather" and node.input[0] in inits:
            c = copy.deepcopy(inits[node.input[0]])
            c.name = node.input[0] + "_cam"
            m.graph.initializer.append(c)
            node.input[0] = c.name
    onnx.save(m, str(dst))


class Reader:
    def __init__(self, feeds):
        self.feeds = iter(feeds)

    def get_next(self):
        return next(self.feeds, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models", help="folder with the float ONNX models")
    ap.add_argument("--out", default="models/int8", help="where the int8 copies go")
    ap.add_argument("--view", type=int, default=128, help="machine view short side of the calibration views")
    ap.add_argument("--keep-float", default=os.environ.get("DMVJND_QUANT_KEEP_FLOAT", ",".join(KEEP_FLOAT)),
                    help="comma-separated Conv node names left in float32")
    a = ap.parse_args()
    try:
        import numpy as np
        import onnxruntime as ort
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    except ImportError as e:
        sys.exit(f"quantize: {e}; run `bash training/quantize.sh` (installs onnxruntime, onnx, numpy, pillow into a venv)")
    del CalibrationDataReader  # Reader duck-types it
    models, out = Path(a.models), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    files, views = calibration_views(a.view)
    print(f"[quantize] {len(views)} calibration views from {len(files)} stills", flush=True)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    cams = []
    for name in CLASSIFIERS:
        s = ort.InferenceSession(str(models / f"{name}.onnx"), opts, providers=["CPUExecutionProvider"])
        cams.append([s.run(["cam"], {"x": v})[0] for v in views])
    merged = [np.mean([c[i] for c in cams], axis=0).astype(np.float32) for i in range(len(views))]

    tmp = out / ".untied.onnx"
    try:
        for name in CLASSIFIERS + [GENERATOR]:
            untie_gather_weights(models / f"{name}.onnx", tmp)
            feeds = [{"x": v, "cam": c} for v, c in zip(views, merged)] if name == GENERATOR else [{"x": v} for v in views]
            quantize_static(
                str(tmp), str(out / f"{name}.onnx"), Reader(feeds),
                quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"], per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                nodes_to_exclude=[n for n in a.keep_float.split(",") if n],
                # 7-bit weights: without VNNI, x86 int8 kernels (AVX2, AVX-512BW) sum u8 x s8
                # products in saturating int16, which 8-bit weights can overflow.
                reduce_range=True,
            )
            print(f"[quantize] {name}.onnx", flush=True)
    finally:
        tmp.unlink(missing_ok=True)
    summary = {
        "generated_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "onnxruntime": ort.__version__,
        "method": "static QDQ, Conv only, per-channel int8 weights (reduce_range: 7 bits), uint8 activations, MinMax calibration",
        "kept_float32": [n for n in a.keep_float.split(",") if n],
        "view_short_side": a.view,
        "calibration": [str(p.relative_to(data_root())) for p in files],
        "calibration_views": len(views),
        "seconds": round(time.time() - t0, 1),
    }
    (out / "quantization.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"[quantize] done in {summary['seconds']} s -> {out}", flush=True)


if __name__ == "__main__":
    main()
