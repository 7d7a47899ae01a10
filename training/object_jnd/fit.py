"""Fit the object-level detector JND: the CRF at which each detected object stops being
found by CenterNet under real x264, from the object's own features.

  python3 -m training.object_jnd.fit --train records.jsonl [--val heldout.jsonl]
      [--out models/detectors/object_jnd.json]

Records come from training/object_jnd/collect.ts (one line per source object with a kept
flag per CRF). Model: logistic regression over (object, CRF) pairs,
    P(kept | f, crf) = sigmoid(w . f - k (crf - 40) / 10),
so an object's tolerance (its JND in CRF units) is the CRF where P = 0.5:
    tol(f) = 40 + 10 (w . f) / k.
Features are only what the encoder knows when it places offsets (the detection itself).
The candidates: log2(side / 32) in detector input pixels and in frame pixels, logit(score),
person, vehicle. Shipped: 1, log2(side / 32) in detector pixels, logit(score): the variants
with the frame-pixel size or the class flags fit the training clips better and the
held-out clips worse (the fit prints every variant's log loss on both).
At run time (src/offsets/detector-roi.ts objectJndOffsets) a box gets
    inside + clamp(tol(f) - tol_ref, 0, outside - inside)
with tol_ref the 10th percentile of the training objects' tolerance: equal risk per
object, so an object that survives 6 more CRF steps takes 6 more QP.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

DETECTOR_SIZE = 512
VEHICLES = {1, 2, 3, 5, 7}  # COCO-80 indices: bicycle, car, motorcycle, bus, truck
ALL_FEATURES = ["bias", "log2_side_detector_32", "log2_side_frame_32", "logit_score", "person", "vehicle"]
FEATURES = ["bias", "log2_side_detector_32", "logit_score"]
VARIANTS = {
    "crf only": ["bias"],
    "size": ["bias", "log2_side_detector_32"],
    "score": ["bias", "logit_score"],
    "size + score (shipped)": FEATURES,
    "size + frame size + score": ["bias", "log2_side_detector_32", "log2_side_frame_32", "logit_score"],
    "all": ALL_FEATURES,
}
REF_PERCENTILE = 10


def features(r: dict) -> list[float]:
    b = r["box"]
    w, h = max(1e-3, b["x2"] - b["x1"]), max(1e-3, b["y2"] - b["y1"])
    sx, sy = DETECTOR_SIZE / r["width"], DETECTOR_SIZE / r["height"]
    side_det = math.sqrt(w * sx * h * sy)
    side_frame = math.sqrt(w * h)
    s = min(max(r["score"], 1e-4), 1 - 1e-4)
    return [1.0, math.log2(side_det / 32), math.log2(side_frame / 32), math.log(s / (1 - s)), float(r["cls"] == 0), float(r["cls"] in VEHICLES)]


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    recs = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    X, C, Y = [], [], []
    for r in recs:
        f = features(r)
        for crf, kept in zip(r["crfs"], r["kept"]):
            X.append(f)
            C.append(crf)
            Y.append(float(kept))
    return np.array(X), np.array(C, dtype=np.float64), np.array(Y), recs


def fit(X: np.ndarray, C: np.ndarray, Y: np.ndarray, l2: float = 1e-3, iters: int = 4000, lr: float = 0.5) -> tuple[np.ndarray, float]:
    """Plain gradient descent on the mean log loss (convex); params = w (per feature) and k."""
    n, d = X.shape
    Z = np.concatenate([X, -(C[:, None] - 40) / 10], axis=1)
    theta = np.zeros(d + 1)
    theta[-1] = 1.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(Z @ theta)))
        g = Z.T @ (p - Y) / n
        g[1:d] += l2 * theta[1:d]
        theta -= lr * g
    return theta[:d], float(theta[-1])


def log_loss(X, C, Y, w, k) -> float:
    p = 1 / (1 + np.exp(-(X @ w - k * (C - 40) / 10)))
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p)))


def tolerance(X, w, k) -> np.ndarray:
    return 40 + 10 * (X @ w) / k


def columns(names: list[str]) -> list[int]:
    return [ALL_FEATURES.index(n) for n in names]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--val", type=Path, help="held-out clips' records (never fitted)")
    ap.add_argument("--out", type=Path, default=Path("models/detectors/object_jnd.json"))
    a = ap.parse_args()
    XA, C, Y, recs = load(a.train)
    X = XA[:, columns(FEATURES)]
    w, k = fit(X, C, Y)
    tol = tolerance(X[:: len(recs[0]["crfs"])], w, k)
    tol_ref = float(np.percentile(tol, REF_PERCENTILE))
    base_rate = float(Y.mean())
    const_p = np.clip(np.full_like(Y, base_rate), 1e-6, 1 - 1e-6)
    report = {
        "objects": len(recs),
        "pairs": int(len(Y)),
        "clips": sorted({r["clip"] for r in recs}),
        "crfs": recs[0]["crfs"],
        "log_loss_train": log_loss(X, C, Y, w, k),
        "log_loss_train_constant": float(-np.mean(Y * np.log(const_p) + (1 - Y) * np.log(1 - const_p))),
    }
    val = load(a.val) if a.val and a.val.exists() else None
    if val and len(val[2]):
        report.update({"val_objects": len(val[3]), "val_clips": sorted({r["clip"] for r in val[3]}), "log_loss_val": log_loss(val[0][:, columns(FEATURES)], val[1], val[2], w, k)})
    variants = {}
    for name, feats in VARIANTS.items():
        cols = columns(feats)
        wv, kv = fit(XA[:, cols], C, Y)
        variants[name] = {"features": feats, "weights": [float(v) for v in wv], "k": kv, "log_loss_train": log_loss(XA[:, cols], C, Y, wv, kv)}
        if val and len(val[2]):
            variants[name]["log_loss_val"] = log_loss(val[0][:, cols], val[1], val[2], wv, kv)
    report["variants"] = variants
    model = {
        "kind": "object-jnd",
        "about": "Object-level detector JND for CenterNet: tolerated CRF per detection (training/object_jnd, card models/detectors/object_jnd.md)",
        "detector": "centernet",
        "detector_size": DETECTOR_SIZE,
        "features": FEATURES,
        "vehicle_classes": sorted(VEHICLES),
        "crf_per_size_doubling": 10 * float(w[1]) / k,
        "crf_per_score_logit": 10 * float(w[2]) / k,
        "weights": [float(v) for v in w],
        "k": k,
        "tolerance_ref": tol_ref,
        "tolerance_ref_percentile": REF_PERCENTILE,
        "training": {**report, "command": "npm run train:object-jnd"},
        "tolerance_percentiles": {str(p): float(np.percentile(tol, p)) for p in (10, 25, 50, 75, 90)},
    }
    a.out.write_text(json.dumps(model, indent=1) + "\n")
    print(json.dumps({k2: v for k2, v in model.items() if k2 not in ("about",)}, indent=1))


if __name__ == "__main__":
    main()
