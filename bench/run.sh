#!/usr/bin/env bash
# Reproduces the committed bitrate-versus-RCA benchmark (issue 5) over every dev clip in
# $DMVJND_DATA/videos (default ../shared/data/videos) into bench/results/rate-rca/:
# bench.json (all raw points, BD-rates, knees), points.csv, summary.md, plots/*.svg|png.
#
#   bench/run.sh [extra dmvjnd bench options, e.g. --provider cuda --models dir]
#
# Resumable: every finished clip x method x CRF point is kept in a cache JSON outside the
# repository ($DMVJND_BENCH_CACHE, default ~/.cache/dmvjnd/bench-cache.json) and skipped
# on the next run when clip file, method, CRF, frames, settings and model files are the
# same. DMVJND_BENCH_FRESH=1 deletes the cache first.
#
# Knobs (environment): DMVJND_BENCH_FRAMES (first N frames per clip, default 30),
# DMVJND_BENCH_CRFS (default 1,6,12,18,23,28,33,37,41,45,51,57,63,69: denser where the curves bend,
# NOTES.md; 1, 6 and 12 for the all-decision knees of the absolute-rule methods on noisy
# clips; 57, 63 and 69 are CRF 51 plus 6 / 12 / 18 QP on every macroblock, for curves that
# keep 99% at CRF 51), DMVJND_BENCH_METHODS (default: all baselines and dmv-jnd at gains 0.15, 0.25 (the default), 0.5, and dmv-jnd-centred),
# DMVJND_BENCH_CLIPS (a grep -E pattern on file names), DMVJND_BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${DMVJND_DATA:-../shared/data}"
VIDEOS="$DATA/videos"
if [ ! -d "$VIDEOS" ]; then
  echo "bench/run.sh: dev clips not found at $VIDEOS (set DMVJND_DATA)" >&2
  exit 1
fi
OUT="${DMVJND_BENCH_OUT:-bench/results/rate-rca}"
CACHE="${DMVJND_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmvjnd/bench-cache.json}"
FRAMES="${DMVJND_BENCH_FRAMES:-30}"
CRFS="${DMVJND_BENCH_CRFS:-1,6,12,18,23,28,33,37,41,45,51,57,63,69}"
METHODS="${DMVJND_BENCH_METHODS:-x264,x264-noaq,cam-roi,hvs-jnd,random,dmv-jnd@0.15,dmv-jnd@0.25,dmv-jnd@0.5,dmv-jnd-centred}"
PATTERN="${DMVJND_BENCH_CLIPS:-.}"

mapfile -t CLIPS < <(find "$VIDEOS" -maxdepth 1 -type f \( -name '*.mp4' -o -name '*.mkv' \) | sort | grep -E -- "$PATTERN" || true)
if [ "${#CLIPS[@]}" -eq 0 ]; then
  echo "bench/run.sh: no clips in $VIDEOS match '$PATTERN'" >&2
  exit 1
fi
if [ "${DMVJND_BENCH_FRESH:-0}" = 1 ]; then rm -f "$CACHE"; fi
mkdir -p "$(dirname "$CACHE")" "$OUT"

echo "bench/run.sh: ${#CLIPS[@]} clips, first $FRAMES frames, CRF $CRFS, methods $METHODS -> $OUT (cache $CACHE)" >&2
# Every method analyses every frame (--analysis-stride 1): the comparison is about where the
# bits go, at the best the analysis can do, not about the speed shortcut.
# --jnd-gain 0.25 (for methods named without a gain) and --jnd-aq-strength 1 (x264's own AQ
# at its default under the JND offsets) are the settings bench/results/rate-rca was
# measured with, before the encode's defaults became 0.2 and 0.3; pass others after them.
exec node bin/dmvjnd.js bench "${CLIPS[@]}" \
  --crf "$CRFS" --methods "$METHODS" --frames "$FRAMES" --analysis-stride 1 \
  --jnd-gain 0.25 --jnd-aq-strength 1 --out "$OUT" --cache "$CACHE" "$@"
