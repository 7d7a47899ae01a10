"""Small shared helpers: thread setup, paths, logging, atomic checkpoints."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CKPT_DIR = Path(os.environ.get("DMVJND_CKPT_DIR", REPO_ROOT / "training" / "checkpoints"))


def setup_threads(n: int = 1) -> None:
    """Pin BLAS/OpenMP/torch to n threads (call before heavy work)."""
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(k, str(n))
    import torch
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def ckpt_dir() -> Path:
    d = Path(os.environ.get("DMVJND_CKPT_DIR", CKPT_DIR))
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_atomic(obj, path: Path) -> None:
    import torch
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Logger:
    """Prints and appends JSON lines to a log file."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, msg: str = "", **rec):
        t = time.strftime("%H:%M:%S")
        line = f"[{t}] {msg}" + ((" " + json.dumps(rec)) if rec else "")
        print(line, flush=True)
        if self.path:
            with open(self.path, "a") as f:
                f.write(line + "\n")


def default_log(name: str) -> Path:
    d = Path(os.environ.get("DMVJND_LOG_DIR", Path.home() / ".cache" / "dmvjnd" / "logs"))
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}.log"
