"""Frames for detector-JND training and evaluation, decoded with Debian's ``ffmpeg`` CLI.

  /usr/bin/python3 -m training.detector_jnd.frames [--every 10] [--size 512]

Every frame is squashed to SIZE x SIZE (what the runtime and CenterNet see: the frame squashed
to 512x512, no letterbox) and written as PNG under ``~/.cache/dmvjnd/detector-frames/``
(``DMVJND_CACHE`` overrides the parent). Never inside the repository.

Training: every ``--every``-th frame of each dev clip (at most ``--max-per-clip``, evenly spread)
except the held-out clips, plus every still under ``images/``. Held out entirely from training
(used only by ``evaluate``): HELDOUT below, decoded every ``--eval-every``-th frame.
"""
from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

import numpy as np

HELDOUT = ("people_asl_walk_480p.mkv", "indoor_people_event_480p.mp4")
VIDEO_EXT = (".mp4", ".mkv", ".mov", ".webm", ".avi")
IMAGE_EXT = (".png", ".jpg", ".jpeg")


def data_dir() -> Path:
    d = os.environ.get("DMVJND_DATA")
    if d:
        return Path(d)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def cache_root() -> Path:
    return Path(os.environ.get("DMVJND_CACHE", Path.home() / ".cache" / "dmvjnd"))


def frames_dir() -> Path:
    return Path(os.environ.get("DMVJND_DETECTOR_FRAMES", cache_root() / "detector-frames"))


def _run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def decode_clip(src: Path, out: Path, every: int, size: int, max_frames: int = 0) -> list[Path]:
    """Every ``every``-th frame of ``src``, squashed to size x size, as out/NNNNN.png (cached)."""
    done = out / ".done"
    if not done.exists():
        out.mkdir(parents=True, exist_ok=True)
        for p in out.glob("*.png"):
            p.unlink()
        _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-vf",
              f"select=not(mod(n\\,{every})),scale={size}:{size}:flags=bicubic", "-vsync", "vfr",
              "-pix_fmt", "rgb24", str(out / "%05d.png")])
        done.write_text("ok")
    files = sorted(out.glob("*.png"))
    if max_frames and len(files) > max_frames:
        idx = np.linspace(0, len(files) - 1, max_frames).round().astype(int)
        files = [files[i] for i in idx]
    return files


def decode_still(src: Path, out: Path, size: int) -> Path:
    dst = out / (src.parent.name + "__" + src.stem + ".png")
    if not dst.exists():
        out.mkdir(parents=True, exist_ok=True)
        _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-vf",
              f"scale={size}:{size}:flags=bicubic,format=rgb24", "-frames:v", "1", str(dst)])
    return dst


def list_videos(root: Path | None = None) -> list[Path]:
    root = root or data_dir()
    return sorted(p for p in (root / "videos").glob("*") if p.suffix.lower() in VIDEO_EXT)


def list_stills(root: Path | None = None) -> list[Path]:
    root = root or data_dir()
    return sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_EXT)


def training_frames(every=10, size=512, max_per_clip=40, subset=0, stills=True) -> list[Path]:
    """Decoded training frames (paths), held-out clips excluded. ``subset`` > 0 (smoke runs) keeps
    that many, evenly spread, from the stills only (no clip decoding: fast in CI)."""
    base = frames_dir() / f"train_s{size}_e{every}"
    files: list[Path] = []
    if subset:
        st = list_stills()
        idx = np.linspace(0, len(st) - 1, min(subset, len(st))).round().astype(int)
        return [decode_still(st[i], base / "_stills", size) for i in idx]
    for v in list_videos():
        if v.name in HELDOUT:
            continue
        files += decode_clip(v, base / v.stem, every, size, max_per_clip)
    if stills:
        for s in list_stills():
            files.append(decode_still(s, base / "_stills", size))
    return files


def eval_frames(every=3, size=512, max_per_clip=30) -> dict[str, list[Path]]:
    base = frames_dir() / f"eval_s{size}_e{every}"
    out = {}
    for v in list_videos():
        if v.name in HELDOUT:
            out[v.stem] = decode_clip(v, base / v.stem, every, size, max_per_clip)
    return out


def load_rgb(path: Path) -> np.ndarray:
    """uint8 [H, W, 3]."""
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--max-per-clip", type=int, default=40)
    ap.add_argument("--eval-every", type=int, default=3)
    a = ap.parse_args(argv)
    tr = training_frames(a.every, a.size, a.max_per_clip)
    ev = eval_frames(a.eval_every, a.size)
    print(f"frames: {len(tr)} training (held out: {', '.join(HELDOUT)}), eval "
          + ", ".join(f"{k} {len(v)}" for k, v in ev.items()), f"in {frames_dir()}")


if __name__ == "__main__":
    main()
