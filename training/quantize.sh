#!/usr/bin/env bash
# Int8 copies of the JND analysis models: models/int8/ (see training/quantize.py).
# Debian ships no python3-onnxruntime, so this makes a venv under ~/.cache/dmvjnd with
# the pinned onnxruntime (same version as onnxruntime-node), onnx, numpy and pillow.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${DMVJND_QUANT_VENV:-$HOME/.cache/dmvjnd/quantize-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet onnxruntime==1.30.0 onnx==1.23.1 numpy pillow
fi
OMP_NUM_THREADS=1 "$VENV/bin/python" -m training.quantize "$@"
