#!/usr/bin/env bash
# Full, resumable training chain (one thread, nice). Each step resumes or skips
# finished work (checkpoints in training/checkpoints/, caches in ~/.cache/dmvjnd).
#   nohup training/train_all.sh > ~/.cache/dmvjnd/logs/train_all.out 2>&1 &
# Logs: ~/.cache/dmvjnd/logs/{train_classifiers,precompute,train_jnd,evaluate}.log
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY="nice -n 10 /usr/bin/python3"
T="--threads ${DMVJND_THREADS:-1}"
echo "[train_all] start $(date -u)"
$PY -m training.train_classifiers --models resnet,vgg,alexnet,densenet $T
$PY -m training.precompute $T
$PY -m training.train_jnd $T
$PY -m training.train_classifiers --models mobilenet $T
$PY -m training.export --out models
$PY -m training.evaluate --out models $T
echo "[train_all] done $(date -u)"
