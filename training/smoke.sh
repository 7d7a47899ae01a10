#!/usr/bin/env bash
# CI smoke pipeline for the Python training part (a few minutes on 2 cores).
# Tiny subset, one short epoch per model, precompute, 1 generator epoch, export
# + evaluate into a TEMP dir (never touches models/ or training/checkpoints/),
# ONNX parity (onnxruntime-node if present), pytest.
# Needs: apt-get install -y --no-install-recommends python3-torch python3-torchvision \
#        python3-onnx libopenblas0-pthread python3-pytest
# CIFAR-10: ../shared/data/cifar10 (or DMVJND_DATA); extracted to ~/.cache/dmvjnd on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
THREADS=${DMVJND_THREADS:-2}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmvjnd-smoke.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export DMVJND_CKPT_DIR="$TMP/checkpoints" DMVJND_PRE_DIR="$TMP/precomputed" DMVJND_LOG_DIR="$TMP/logs"
S="--threads $THREADS"
t0=$(date +%s)
echo "[smoke] temp dir $TMP"
$PY -m pytest -q training/tests
$PY -m training.train_classifiers --models resnet,vgg,densenet,alexnet,mobilenet \
    --subset 512 --test-subset 256 --epochs 1 $S
$PY -m training.precompute --subset 512 --test-subset 256 $S
$PY -m training.train_jnd --subset 512 --epochs 1 --log-every 4 $S
$PY -m training.export --out "$TMP/models"
$PY -m training.evaluate --out "$TMP/models" --train-n 256 --test-n 256 --curve-n 64 $S
for f in model-card.json README.md resnet.onnx vgg.onnx densenet.onnx alexnet.onnx mobilenet.onnx \
         jnd_generator.onnx parity/resnet.json parity/jnd_generator.json; do
  test -s "$TMP/models/$f" || { echo "[smoke] missing $f"; exit 1; }
done
if command -v node >/dev/null 2>&1; then
  node training/parity_check.mjs "$TMP/models"
else
  echo "[smoke] node not found: ONNX parity check skipped"
fi
echo "[smoke] OK in $(( $(date +%s) - t0 ))s"
