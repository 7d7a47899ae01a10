#!/usr/bin/env bash
# Detector-JND pipeline, resumable end to end (npm run train:jnd-detector):
#   frames (ffmpeg, cached) -> precompute (crop pool + CenterNet reference) -> train additive,
#   codec (uniform-noise proxy) and codec_deadzone (checkpoints every 50 steps; rerun resumes, finished runs are skipped) -> export ONNX
#   -> evaluate (WGN, homogeneity, offline comparison) -> card.
# Options (env): STEPS (3000; additive and codec), DZ_STEPS (2500; codec with the dead-zone proxy), SUBSET (0 = all frames), THREADS (1), PARALLEL (1: both variants at
# once, one thread each), OUT (models/detectors), SHIP (codec|additive|auto = by evaluation),
# STUB (1: random stand-in detector, for CI without the detector cache), EVAL_FRAMES (20 per clip).
# Runs at nice 19 with OPENBLAS_NUM_THREADS=1; progress: ~/.cache/dmvjnd/logs/detector_jnd_*.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
STEPS=${STEPS:-3000}; DZ_STEPS=${DZ_STEPS:-2500}; SUBSET=${SUBSET:-0}; THREADS=${THREADS:-1}; PARALLEL=${PARALLEL:-1}
OUT=${OUT:-models/detectors}; SHIP=${SHIP:-auto}; EVAL_FRAMES=${EVAL_FRAMES:-20}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
STUBARG=""; [ "${STUB:-0}" = 1 ] && STUBARG="--stub-detector"
N="nice -n 19"
$N $PY -m training.detector_jnd.frames
$N $PY -m training.detector_jnd.precompute --subset "$SUBSET" --threads "$THREADS" $STUBARG
TRAIN="-m training.detector_jnd.train --subset $SUBSET --threads $THREADS $STUBARG"
if [ "$PARALLEL" = 1 ]; then
  $N $PY $TRAIN --steps "$STEPS" --variant additive & p1=$!
  $N $PY $TRAIN --steps "$STEPS" --variant codec & p2=$!
  wait $p1; wait $p2
else
  $N $PY $TRAIN --steps "$STEPS" --variant additive
  $N $PY $TRAIN --steps "$STEPS" --variant codec
fi
$N $PY $TRAIN --steps "$DZ_STEPS" --variant codec --proxy deadzone
RUNS=additive,codec,codec_deadzone
$N $PY -m training.detector_jnd.export --out "$OUT" --runs $RUNS --ship codec
$N $PY -m training.detector_jnd.evaluate --out "$OUT" --frames "$EVAL_FRAMES" --runs $RUNS --ship "$SHIP" \
  --threads "$THREADS" $STUBARG
PICK=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['ship'])" "$OUT/dmv_jnd_eval.json")
$N $PY -m training.detector_jnd.export --out "$OUT" --runs $RUNS --ship "$PICK"
echo "[train:jnd-detector] done; shipped $PICK as $OUT/dmv_jnd.onnx"
