"""CIFAR-10 loading for dmvjnd training.

Sources (first that applies):
  * ``--cifar-dir`` / env ``DMVJND_CIFAR_DIR``: official ``cifar-10-batches-py``
    folder (python pickles ``data_batch_1..5`` and ``test_batch``) or
    ``cifar-10-batches-bin`` (``data_batch_1..5.bin``, ``test_batch.bin``), or
    their parent folder.
  * The project's JPEG copy: ``$DMVJND_DATA/cifar10/cifar10-jpg.tar.gz`` where
    ``DMVJND_DATA`` defaults to ``../shared/data`` relative to the repo root.
    The tar is extracted ONCE into the cache (``$DMVJND_CACHE`` or
    ``~/.cache/dmvjnd``) and decoded ONCE into uint8 ``.npy`` arrays there.
    Nothing is ever written into the repository.

Arrays are uint8 NHWC [N,32,32,3] plus int64 labels. Training code converts
batches to float NCHW normalised with mean 0.5 / std 0.5 (x in [-1, 1]).
"""
from __future__ import annotations

import csv
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
MEAN = 0.5
STD = 0.5


def data_root() -> Path:
    env = os.environ.get("DMVJND_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data")


def cache_dir() -> Path:
    env = os.environ.get("DMVJND_CACHE")
    p = Path(env) if env else Path.home() / ".cache" / "dmvjnd"
    p.mkdir(parents=True, exist_ok=True)
    return p


def _log(msg: str) -> None:
    print(f"[data] {msg}", flush=True)


def _load_official(cifar_dir: Path):
    for sub in ("cifar-10-batches-py", "cifar-10-batches-bin"):
        if (cifar_dir / sub).is_dir():
            cifar_dir = cifar_dir / sub
    if (cifar_dir / "data_batch_1.bin").exists():  # official binary version
        def load(name):
            raw = np.fromfile(cifar_dir / f"{name}.bin", dtype=np.uint8).reshape(-1, 3073)
            x = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return x, raw[:, 0].astype(np.int64)
    else:
        load = _load_pickle(cifar_dir)

    parts = [load(f"data_batch_{i}") for i in range(1, 6)]
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    xte, yte = load("test_batch")
    return np.ascontiguousarray(xtr), ytr, np.ascontiguousarray(xte), yte


def _load_pickle(cifar_dir: Path):
    def load(name):
        with open(cifar_dir / name, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.asarray(d[b"labels"], dtype=np.int64)
        return x, y
    return load


def _load_jpeg_tar() -> tuple:
    src = data_root() / "cifar10"
    tar_path = src / "cifar10-jpg.tar.gz"
    out = cache_dir() / "cifar10"
    npy = {k: out / f"{k}.npy" for k in ("x_train", "y_train", "x_test", "y_test")}
    if all(p.exists() for p in npy.values()):
        return tuple(np.load(npy[k]) for k in ("x_train", "y_train", "x_test", "y_test"))
    if not tar_path.exists():
        raise FileNotFoundError(
            f"CIFAR-10 not found: {tar_path} (set DMVJND_DATA, or pass --cifar-dir "
            "pointing at an official cifar-10-batches-py folder)")
    from PIL import Image

    ext = out / "jpg"
    marker = ext / ".extracted"
    if not marker.exists():
        _log(f"extracting {tar_path} -> {ext}")
        ext.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar_path) as tf:
            members = [m for m in tf.getmembers()
                       if m.isfile() and not m.name.startswith("/") and ".." not in m.name]
            tf.extractall(ext, members=members)
        marker.write_text("ok\n")
    _log("decoding JPEGs once into .npy (takes ~1 min)")
    rows = {"train": [], "test": []}
    with open(src / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows[r["split"]].append((r["path"], int(r["label"])))
    res = {}
    for split in ("train", "test"):
        items = rows[split]
        x = np.empty((len(items), 32, 32, 3), dtype=np.uint8)
        y = np.empty(len(items), dtype=np.int64)
        for i, (p, lab) in enumerate(items):
            with Image.open(ext / p) as im:
                x[i] = np.asarray(im.convert("RGB"), dtype=np.uint8)
            y[i] = lab
        res[f"x_{split}"], res[f"y_{split}"] = x, y
    for k, v in res.items():
        tmp = npy[k].with_suffix(".tmp.npy")
        np.save(tmp, v)
        os.replace(tmp, npy[k])
    return res["x_train"], res["y_train"], res["x_test"], res["y_test"]


def load_cifar10(cifar_dir: str | None = None):
    """Return (x_train, y_train, x_test, y_test); x uint8 NHWC, y int64."""
    cifar_dir = cifar_dir or os.environ.get("DMVJND_CIFAR_DIR")
    if cifar_dir:
        return _load_official(Path(cifar_dir))
    return _load_jpeg_tar()


def source_name(cifar_dir: str | None = None) -> str:
    cifar_dir = cifar_dir or os.environ.get("DMVJND_CIFAR_DIR")
    return f"official python batches ({cifar_dir})" if cifar_dir else \
        "JPEG q75 copy ../shared/data/cifar10/cifar10-jpg.tar.gz"


def subset(x, y, n: int | None, seed: int = 0):
    """Deterministic class-mixed subset of n items (None or 0 = all)."""
    if not n or n >= len(x):
        return x, y
    idx = np.random.RandomState(seed).permutation(len(x))[:n]
    idx.sort()
    return x[idx], y[idx]


# ---------------------------------------------------------------- tensors
def to_tensor(x_uint8):
    """uint8 NHWC numpy -> float32 NCHW torch tensor normalised to [-1, 1]."""
    import torch
    t = torch.from_numpy(np.ascontiguousarray(x_uint8)).permute(0, 3, 1, 2).float()
    return t.div_(127.5).sub_(1.0).contiguous()


def augment_crop_flip(xb, pad: int = 4):
    """Random crop with zero(-1 after norm: we pad with reflect) padding + hflip.

    xb: float NCHW tensor. Done per batch in memory (cheap vs the model)."""
    import torch
    import torch.nn.functional as F
    n, c, h, w = xb.shape
    xp = F.pad(xb, (pad, pad, pad, pad), mode="reflect")
    dx = torch.randint(0, 2 * pad + 1, (n,))
    dy = torch.randint(0, 2 * pad + 1, (n,))
    # gather crops via unfold-free indexing: build index grids
    ar_h = torch.arange(h)
    ar_w = torch.arange(w)
    rows = (dy[:, None] + ar_h[None, :])  # n,h
    cols = (dx[:, None] + ar_w[None, :])  # n,w
    flip = torch.rand(n) < 0.5
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    bidx = torch.arange(n)[:, None, None]
    out = xp.permute(0, 2, 3, 1)[bidx, rows[:, :, None], cols[:, None, :]]  # n,h,w,c
    return out.permute(0, 3, 1, 2).contiguous()


def augment_flip(xb, flip=None):
    """Horizontal flip with p=0.5 (the paper's generator augmentation).

    Returns (augmented batch, bool flip mask)."""
    import torch
    n = xb.shape[0]
    if flip is None:
        flip = torch.rand(n) < 0.5
    out = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    return out, flip


def main():  # pragma: no cover - convenience: prepare the cache
    import argparse
    ap = argparse.ArgumentParser(description="extract + decode CIFAR-10 into the cache")
    ap.add_argument("--cifar-dir", default=None)
    a = ap.parse_args()
    xtr, ytr, xte, yte = load_cifar10(a.cifar_dir)
    _log(f"train {xtr.shape} test {xte.shape} cache {cache_dir()}")


if __name__ == "__main__":
    main()
