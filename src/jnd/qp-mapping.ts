import { MB_SIZE, type MacroblockGrid } from '../media/mb-grid.ts';

/**
 * JND map -> per-macroblock QP offsets (Jin et al. 2021, section III-C: "the quantization
 * step is set as twice of the DMV-JND").
 *
 * Input: a per-pixel JND amplitude in 0-255 pixel units, computed on the machine's *view*
 * of the frame (a resized copy, view.width x view.height, row-major). Output: one QP
 * offset per macroblock of the frame (grid.count entries, row-major), for the ROI path.
 *
 * The rule, step by step:
 * 1. Macroblock (c, r) covers frame pixels [16c, min(W, 16c + 16)) x [16r, min(H, 16r + 16)),
 *    W x H = grid.width x grid.height (partial macroblocks on the right/bottom edge cover
 *    only the pixels that exist).
 * 2. That rectangle is mapped into view coordinates by scaling each axis separately
 *    (x * view.width / W, y * view.height / H), so non-integer and slightly different
 *    per-axis scales (e.g. 1280x720 -> 128x72, or odd sizes) are handled exactly.
 * 3. The JND is pooled over the view pixels the mapped rectangle overlaps, each pixel
 *    weighted by its overlap area: at typical views a macroblock covers a fraction of one
 *    view pixel (then the pooled value is that pixel's JND) or a few pixels.
 *    'mean' is the area-weighted mean; 'min' / 'max' take the extreme over every pixel
 *    with a non-zero overlap; { percentile: p } is the area-weighted nearest-rank
 *    percentile (the smallest value whose cumulative overlap weight reaches p% of the
 *    total; p = 0 is 'min', p = 100 is 'max').
 * 4. j' = gain * pooled; quantisation step = 2 * j'; target QP = 4 + 6 log2(step)
 *    (H.264: the step doubles every 6 QP and is 1 at QP 4, i.e. Qstep(QP) = 2^((QP-4)/6)).
 * 5. offset = target QP - baseQp, clamped to [minOffset, maxOffset]. A j' <= 0 (no
 *    tolerance at all) maps to minOffset, the finest allowed. Offsets are not rounded:
 *    the ROI path carries 1/1000 QP.
 */

export type JndPooling = 'mean' | 'min' | 'max' | { percentile: number };

export interface QpMappingOptions {
  /** The encode's base QP (e.g. the CRF); offsets are relative to it. Required. */
  baseQp: number;
  /** Multiplier on the pooled JND before the 2 x JND rule (the --jnd-gain). Default 1. */
  gain?: number;
  /** How the JND is pooled over a macroblock's view pixels. Default 'mean'. */
  pooling?: JndPooling;
  /** Lowest offset (finest coding). Default -12. */
  minOffset?: number;
  /** Highest offset (coarsest coding). Default +12. */
  maxOffset?: number;
}

export interface ViewSize {
  readonly width: number;
  readonly height: number;
}

export const DEFAULT_MIN_QP_OFFSET = -12;
export const DEFAULT_MAX_QP_OFFSET = 12;

/** Overlaps thinner than this (in view pixels) are floating-point slivers, not coverage. */
const MIN_OVERLAP = 1e-9;

/** H.264 QP whose quantisation step is `step` (step 1 at QP 4, doubling every 6 QP). */
export function targetQpForStep(step: number): number {
  if (!(Number.isFinite(step) && step > 0)) {
    throw new RangeError(`Expected a positive finite quantisation step but received ${step}`);
  }
  return 4 + 6 * Math.log2(step);
}

/** H.264 quantisation step at a QP: the inverse of targetQpForStep. */
export function stepForQp(qp: number): number {
  if (!Number.isFinite(qp)) throw new RangeError(`Expected a finite QP but received ${qp}`);
  return 2 ** ((qp - 4) / 6);
}

/**
 * The raw JND (before `gain`) that the 2 x JND rule maps to `targetQp`: the inverse of the
 * mapping, for tests and calibration.
 */
export function jndFromTargetQp(targetQp: number, gain = 1): number {
  if (!(Number.isFinite(gain) && gain > 0)) {
    throw new RangeError(`Expected a positive finite gain but received ${gain}`);
  }
  return stepForQp(targetQp) / 2 / gain;
}

/**
 * Pool the view-resolution JND map onto the frame's macroblock grid (steps 1-3 of the
 * rule above). Exported on its own because the per-MB JND is also what the QP read-back
 * is correlated against.
 */
export function poolJndPerMacroblock(
  jnd: Float32Array,
  view: ViewSize,
  grid: MacroblockGrid,
  pooling: JndPooling = 'mean',
): Float32Array {
  checkView(jnd, view);
  const percentile = checkPooling(pooling);
  const scaleX = view.width / grid.width;
  const scaleY = view.height / grid.height;
  const pooled = new Float32Array(grid.count);
  // Scratch buffers for min/max/percentile, sized for the largest possible overlap.
  const maxSpanX = Math.ceil(MB_SIZE * scaleX) + 2;
  const maxSpanY = Math.ceil(MB_SIZE * scaleY) + 2;
  const values = new Float64Array(maxSpanX * maxSpanY);
  const weights = new Float64Array(maxSpanX * maxSpanY);

  for (let row = 0; row < grid.rows; row++) {
    const y0 = row * MB_SIZE * scaleY;
    const y1 = Math.min(grid.height, (row + 1) * MB_SIZE) * scaleY;
    const py0 = Math.floor(y0);
    const py1 = Math.min(view.height, Math.ceil(y1));
    for (let col = 0; col < grid.cols; col++) {
      const x0 = col * MB_SIZE * scaleX;
      const x1 = Math.min(grid.width, (col + 1) * MB_SIZE) * scaleX;
      const px0 = Math.floor(x0);
      const px1 = Math.min(view.width, Math.ceil(x1));
      let n = 0;
      for (let py = py0; py < py1; py++) {
        const wy = Math.min(y1, py + 1) - Math.max(y0, py);
        if (wy <= MIN_OVERLAP) continue;
        for (let px = px0; px < px1; px++) {
          const wx = Math.min(x1, px + 1) - Math.max(x0, px);
          if (wx <= MIN_OVERLAP) continue;
          const value = jnd[py * view.width + px];
          if (!Number.isFinite(value)) {
            throw new RangeError(`Expected finite JND values but received ${value} at view pixel (${px}, ${py})`);
          }
          values[n] = value;
          weights[n] = wx * wy;
          n++;
        }
      }
      pooled[row * grid.cols + col] = poolValues(values, weights, n, pooling, percentile);
    }
  }
  return pooled;
}

/** Per-macroblock QP offsets from a view-resolution JND map; see the rule at the top of the file. */
export function qpOffsetsFromJnd(
  jnd: Float32Array,
  view: ViewSize,
  grid: MacroblockGrid,
  opts: QpMappingOptions,
): Float32Array {
  const { baseQp } = opts;
  const gain = opts.gain ?? 1;
  const minOffset = opts.minOffset ?? DEFAULT_MIN_QP_OFFSET;
  const maxOffset = opts.maxOffset ?? DEFAULT_MAX_QP_OFFSET;
  if (!Number.isFinite(baseQp)) throw new RangeError(`Expected a finite base QP but received ${baseQp}`);
  if (!(Number.isFinite(gain) && gain >= 0)) {
    throw new RangeError(`Expected a non-negative finite JND gain but received ${gain}`);
  }
  if (!(Number.isFinite(minOffset) && Number.isFinite(maxOffset) && minOffset <= maxOffset)) {
    throw new RangeError(`Expected finite offset limits with min <= max but received [${minOffset}, ${maxOffset}]`);
  }
  const pooled = poolJndPerMacroblock(jnd, view, grid, opts.pooling ?? 'mean');
  const offsets = new Float32Array(grid.count);
  for (let i = 0; i < grid.count; i++) {
    const scaled = gain * pooled[i];
    if (scaled <= 0) {
      offsets[i] = minOffset; // no tolerance: code as finely as allowed
      continue;
    }
    const offset = targetQpForStep(2 * scaled) - baseQp;
    offsets[i] = Math.max(minOffset, Math.min(maxOffset, offset));
  }
  return offsets;
}

function checkView(jnd: Float32Array, view: ViewSize): void {
  const { width, height } = view;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`Expected a positive integer view size but received ${width}x${height}`);
  }
  if (jnd.length !== width * height) {
    throw new RangeError(
      `Expected ${width * height} JND values for a ${width}x${height} view but received ${jnd.length}`,
    );
  }
}

/** Validates the pooling option; returns the percentile in [0, 100] or NaN when not a percentile. */
function checkPooling(pooling: JndPooling): number {
  if (pooling === 'mean' || pooling === 'min' || pooling === 'max') return Number.NaN;
  if (typeof pooling === 'object' && pooling !== null && typeof pooling.percentile === 'number') {
    const p = pooling.percentile;
    if (!(p >= 0 && p <= 100)) throw new RangeError(`Expected a percentile in [0, 100] but received ${p}`);
    return p;
  }
  throw new RangeError(`Expected JND pooling 'mean', 'min', 'max' or {percentile} but received ${JSON.stringify(pooling)}`);
}

function poolValues(
  values: Float64Array,
  weights: Float64Array,
  n: number,
  pooling: JndPooling,
  percentile: number,
): number {
  if (n === 0) return 0; // unreachable for valid sizes: every macroblock overlaps some view pixel
  if (pooling === 'mean') {
    let sum = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      sum += values[i] * weights[i];
      total += weights[i];
    }
    return sum / total;
  }
  if (pooling === 'min' || pooling === 'max') {
    let best = values[0];
    for (let i = 1; i < n; i++) best = pooling === 'min' ? Math.min(best, values[i]) : Math.max(best, values[i]);
    return best;
  }
  // Area-weighted nearest-rank percentile.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  const target = (percentile / 100) * total;
  let cumulative = 0;
  for (const i of order) {
    cumulative += weights[i];
    if (cumulative >= target - 1e-12 * total) return values[i];
  }
  return values[order[n - 1]];
}

/**
 * The JND's offsets as an encode places them: against the base QP (the paper's absolute
 * rule, clamped), or, without one (bitrate mode, or centred placement), minus their frame
 * mean and then clamped, so the rate control keeps the rate.
 */
export function placedQpOffsets(
  jnd: Float32Array,
  view: ViewSize,
  grid: MacroblockGrid,
  opts: { baseQp: number | undefined; gain: number; pooling: JndPooling; minOffset: number; maxOffset: number },
): Float32Array {
  const { baseQp, gain, pooling, minOffset, maxOffset } = opts;
  if (baseQp !== undefined) return qpOffsetsFromJnd(jnd, view, grid, { baseQp, gain, pooling, minOffset, maxOffset });
  const raw = qpOffsetsFromJnd(jnd, view, grid, { baseQp: 0, gain, pooling, minOffset: -1000, maxOffset: 1000 });
  let mean = 0;
  for (const v of raw) mean += v / raw.length;
  return raw.map((v) => Math.min(maxOffset, Math.max(minOffset, v - mean)));
}

/**
 * The 2 x JND rule's target QPs placed relative to the frame's least tolerant macroblocks
 * (their `percentile`-th percentile, nearest rank): offset = clamp(target - anchor, 0, span).
 * The rule's step ratios between macroblocks are kept (up to the span); the CRF, not the
 * JND's absolute level, sets the rate, as det-roi's boxes-at-the-CRF does.
 */
export function relativeQpOffsets(targets: Float32Array, span: number, percentile = 5): Float32Array {
  if (!(Number.isFinite(span) && span >= 0)) throw new RangeError(`Expected a non-negative finite QP span but received ${span}`);
  if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`Expected a percentile in [0, 100] but received ${percentile}`);
  if (targets.length === 0) return new Float32Array(0);
  const sorted = Float32Array.from(targets).sort();
  const anchor = sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)];
  return targets.map((t) => Math.min(span, Math.max(0, t - anchor)));
}
