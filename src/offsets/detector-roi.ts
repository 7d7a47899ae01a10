/**
 * Per-frame QP offsets from a detector's decisions, on the macroblock grid (row-major,
 * grid.count entries):
 * - `det-roi`: macroblocks overlapping a detected box (dilated a little, since the decoded
 *   box moves with the coding noise) get `inside` (negative: finer), the rest `outside`.
 *   The baseline NOTES measured: -2/+12 saves 18-37% at equal F1 where boxes leave background.
 * - `det-heat`: the same, continuous, from a saliency map (CenterNet's class-max heatmap, or
 *   boxSaliency() for detectors without one).
 */
import type { Detection, SaliencyMap } from '../machines/types.ts';
import { MB_SIZE, type MacroblockGrid } from '../media/mb-grid.ts';

export interface DetRoiOptions {
  /** Offset of macroblocks touching a box (usually negative). */
  inside: number;
  /** Offset of the others. */
  outside: number;
  /** Pixels added to each side of every box before the overlap test (>= 0). */
  dilate: number;
  /** Only boxes with score >= minScore count. */
  minScore: number;
}

function checkFinite(value: number, what: string): void {
  if (!Number.isFinite(value)) throw new RangeError(`Expected a finite ${what} but received ${value}`);
}

/**
 * Inside/outside map: a macroblock (pixels [16c, 16c + 16) x [16r, 16r + 16)) is inside
 * when it intersects some dilated box with positive area. A box that only touches a
 * macroblock's edge does not select it, so a box exactly on macroblock boundaries with
 * dilate 0 selects exactly the macroblocks it covers.
 */
export function detRoiOffsets(dets: readonly Detection[], grid: MacroblockGrid, opts: DetRoiOptions): Float32Array {
  checkRoiOptions(opts);
  const out = new Float32Array(grid.count).fill(opts.outside);
  for (const d of dets) {
    if (!(d.score >= opts.minScore)) continue;
    forBoxMacroblocks(d, grid, opts.dilate, (from, to) => out.fill(opts.inside, from, to));
  }
  return out;
}

function checkRoiOptions(opts: DetRoiOptions): void {
  checkFinite(opts.inside, 'inside offset');
  checkFinite(opts.outside, 'outside offset');
  checkFinite(opts.minScore, 'minimum score');
  if (!(Number.isFinite(opts.dilate) && opts.dilate >= 0)) {
    throw new RangeError(`Expected a non-negative finite dilation in pixels but received ${opts.dilate}`);
  }
}

/** Calls visit(from, to) for each macroblock row run [from, to) (grid indices) the dilated box overlaps with positive area. */
function forBoxMacroblocks(d: Detection, grid: MacroblockGrid, dilate: number, visit: (from: number, to: number) => void): void {
  const x1 = d.box.x1 - dilate;
  const y1 = d.box.y1 - dilate;
  const x2 = d.box.x2 + dilate;
  const y2 = d.box.y2 + dilate;
  if (!(x2 > x1 && y2 > y1)) return; // no area, no overlap
  // Column c overlaps iff 16c < x2 and 16c + 16 > x1.
  const c0 = Math.max(0, Math.floor(x1 / MB_SIZE));
  const c1 = Math.min(grid.cols - 1, Math.ceil(x2 / MB_SIZE) - 1);
  const r0 = Math.max(0, Math.floor(y1 / MB_SIZE));
  const r1 = Math.min(grid.rows - 1, Math.ceil(y2 / MB_SIZE) - 1);
  if (c1 < c0) return;
  for (let r = r0; r <= r1; r++) visit(r * grid.cols + c0, r * grid.cols + c1 + 1);
}

export interface DetScaleOptions extends DetRoiOptions {
  /** QP added per doubling of a box's size (the square root of its area) above `referenceSide`. */
  slope: number;
  /** Box side in frame pixels up to which a box gets `inside` unchanged (> 0). */
  referenceSide: number;
}

/**
 * Like det-roi, but graded by object size: a box of side s = sqrt(w h) (frame pixels, before
 * dilation) gets inside + slope * max(0, log2(s / referenceSide)), never above `outside`; a
 * macroblock under several boxes takes the finest. Why: compression erases small objects
 * first, while a large one is still found at a much coarser QP, and it is large boxes that
 * cost the most macroblocks.
 */
export function detScaleOffsets(dets: readonly Detection[], grid: MacroblockGrid, opts: DetScaleOptions): Float32Array {
  checkFinite(opts.slope, 'QP slope per size doubling');
  if (!(Number.isFinite(opts.referenceSide) && opts.referenceSide > 0)) {
    throw new RangeError(`Expected a positive finite reference box side in pixels but received ${opts.referenceSide}`);
  }
  return gradedBoxOffsets(dets, grid, opts, (d) => {
    const side = Math.sqrt(Math.max(0, d.box.x2 - d.box.x1) * Math.max(0, d.box.y2 - d.box.y1));
    return opts.inside + opts.slope * Math.max(0, Math.log2(side / opts.referenceSide));
  });
}

/**
 * The object-level detector JND (training/object_jnd, card models/detectors/object_jnd.md):
 * a logistic model of whether the detector still finds an object under plain x264 at a CRF,
 * from the detection alone; its tolerance is the CRF where that probability is 1/2.
 */
export interface ObjectJndModel {
  features: string[];
  weights: number[];
  /** Logit drop per 10 CRF. */
  k: number;
  /** Tolerance (CRF) that gets `inside` unchanged: the 10th percentile of the training objects'. */
  tolerance_ref: number;
  /** The detector's (squashed) input size the detector-pixel size feature is measured at. */
  detector_size: number;
  /** COCO indices that count as vehicles. */
  vehicle_classes: number[];
}

/** The features a model may use, from the detection alone (training/object_jnd/fit.py). */
const OBJECT_JND_FEATURES: Record<string, (d: Detection, width: number, height: number, m: ObjectJndModel) => number> = {
  bias: () => 1,
  log2_side_detector_32: (d, width, height, m) => Math.log2(Math.sqrt(boxW(d) * (m.detector_size / width) * boxH(d) * (m.detector_size / height)) / 32),
  log2_side_frame_32: (d) => Math.log2(Math.sqrt(boxW(d) * boxH(d)) / 32),
  logit_score: (d) => {
    const s = Math.min(Math.max(d.score, 1e-4), 1 - 1e-4);
    return Math.log(s / (1 - s));
  },
  person: (d) => (d.cls === 0 ? 1 : 0),
  vehicle: (d, _w, _h, m) => (m.vehicle_classes.includes(d.cls) ? 1 : 0),
};
const boxW = (d: Detection) => Math.max(1e-3, d.box.x2 - d.box.x1);
const boxH = (d: Detection) => Math.max(1e-3, d.box.y2 - d.box.y1);

export function checkObjectJndModel(m: ObjectJndModel, file: string): void {
  const known = Object.keys(OBJECT_JND_FEATURES);
  const ok =
    Array.isArray(m.features) && m.features.length > 0 && m.features.every((f) => known.includes(f)) &&
    Array.isArray(m.weights) && m.weights.length === m.features.length && m.weights.every(Number.isFinite) &&
    Number.isFinite(m.k) && m.k > 0 && Number.isFinite(m.tolerance_ref) && m.detector_size > 0 && Array.isArray(m.vehicle_classes);
  if (!ok) throw new RangeError(`Expected an object-JND model with features among [${known.join(', ')}], one weight each and a positive k in ${file}`);
}

/** The CRF at which the detector keeps this object with probability 1/2 (frame of width x height). */
export function objectTolerance(m: ObjectJndModel, d: Detection, width: number, height: number): number {
  const z = m.features.reduce((a, f, i) => a + m.weights[i] * OBJECT_JND_FEATURES[f](d, width, height, m), 0);
  return 40 + (10 * z) / m.k;
}

/** x264's quantiser step doubles every 6 QP, so a macroblock's bits roughly halve too. */
const RATE_PER_QP = Math.LN2 / 6;

/**
 * det-roi graded by the object-level JND, rate-aware: each box's QP minimises its bits
 * (area x 2^(-q/6)) minus a price on losing it (the model's survival probability), where
 * the object is still kept (sigmoid tail e^(-z)). Setting the derivative to zero there gives
 *   q_i - q_ref = (ln(area_i / area_ref) + (k/10) (tol_i - tol_ref)) / (k/10 + ln 2 / 6):
 * large boxes (many bits) and tolerant objects coarser, ~3.2 QP per doubling of the side at
 * equal tolerance. The reference is a 32 px box at the 10th-percentile tolerance; a box
 * gets inside + clamp(q_i - q_ref, 0, outside - inside), the finest where boxes overlap.
 */
export function objectJndOffsets(dets: readonly Detection[], grid: MacroblockGrid, opts: DetRoiOptions & { model: ObjectJndModel }): Float32Array {
  const span = Math.max(0, opts.outside - opts.inside);
  const m = opts.model;
  const perCrf = m.k / 10;
  return gradedBoxOffsets(dets, grid, opts, (d) => {
    const area = Math.log((boxW(d) * boxH(d)) / (32 * 32));
    const tol = objectTolerance(m, d, grid.width, grid.height) - m.tolerance_ref;
    return opts.inside + Math.min(span, Math.max(0, (area + perCrf * tol) / (perCrf + RATE_PER_QP)));
  });
}

/** Boxes (score >= minScore) with an offset each, never above `outside`; a macroblock under several takes the finest. */
function gradedBoxOffsets(dets: readonly Detection[], grid: MacroblockGrid, opts: DetRoiOptions, offsetOf: (d: Detection) => number): Float32Array {
  checkRoiOptions(opts);
  const out = new Float32Array(grid.count).fill(opts.outside);
  const seen = new Uint8Array(grid.count);
  for (const d of dets) {
    if (!(d.score >= opts.minScore)) continue;
    const offset = Math.min(opts.outside, offsetOf(d));
    forBoxMacroblocks(d, grid, opts.dilate, (from, to) => {
      for (let i = from; i < to; i++) {
        out[i] = seen[i] ? Math.min(out[i], offset) : offset;
        seen[i] = 1;
      }
    });
  }
  return out;
}

export interface DetHeatOptions {
  /** Offset where the saliency reaches `saturation`. */
  inside: number;
  /** Offset where the saliency is 0. */
  outside: number;
  /** Saliency at and above which a macroblock counts as fully inside (> 0). */
  saturation: number;
}

/**
 * Continuous map: the saliency map is stretched over the frame (its cell (i, j) covers
 * frame pixels [i W/w, (i+1) W/w) x [j H/h, (j+1) H/h)); per macroblock, m = the maximum
 * over the cells its in-frame part overlaps with positive area, h = min(1, m / saturation),
 * offset = outside + (inside - outside) * h. The maximum (not the mean) so that a small
 * object inside a macroblock is not diluted by its background.
 */
export function detHeatOffsets(sal: SaliencyMap, grid: MacroblockGrid, opts: DetHeatOptions): Float32Array {
  checkFinite(opts.inside, 'inside offset');
  checkFinite(opts.outside, 'outside offset');
  if (!(Number.isFinite(opts.saturation) && opts.saturation > 0)) {
    throw new RangeError(`Expected a positive finite saliency saturation but received ${opts.saturation}`);
  }
  checkSaliencyMap(sal);
  const { width: mw, height: mh, data } = sal;
  const out = new Float32Array(grid.count);
  for (let r = 0; r < grid.rows; r++) {
    const py0 = r * MB_SIZE;
    const py1 = Math.min(grid.height, py0 + MB_SIZE);
    // Cells j with j H/h < py1 and (j+1) H/h > py0 (only the macroblock's in-frame part).
    const j0 = Math.floor((py0 * mh) / grid.height);
    const j1 = Math.min(mh - 1, Math.ceil((py1 * mh) / grid.height) - 1);
    for (let c = 0; c < grid.cols; c++) {
      const px0 = c * MB_SIZE;
      const px1 = Math.min(grid.width, px0 + MB_SIZE);
      const i0 = Math.floor((px0 * mw) / grid.width);
      const i1 = Math.min(mw - 1, Math.ceil((px1 * mw) / grid.width) - 1);
      let max = 0;
      for (let j = j0; j <= j1; j++) {
        for (let i = i0; i <= i1; i++) if (data[j * mw + i] > max) max = data[j * mw + i];
      }
      const h = Math.min(1, max / opts.saturation);
      out[r * grid.cols + c] = opts.outside + (opts.inside - opts.outside) * h;
    }
  }
  return out;
}

function checkSaliencyMap(sal: SaliencyMap): void {
  if (!Number.isInteger(sal.width) || !Number.isInteger(sal.height) || sal.width <= 0 || sal.height <= 0) {
    throw new RangeError(`Expected a positive integer saliency map size but received ${sal.width}x${sal.height}`);
  }
  if (sal.data.length !== sal.width * sal.height) {
    throw new RangeError(
      `Expected ${sal.width * sal.height} saliency values for ${sal.width}x${sal.height} but received ${sal.data.length}`,
    );
  }
}

export interface BoxSaliencyOptions {
  /** Only boxes with score >= minScore count. */
  minScore: number;
  /** Frame pixels per map cell along each side (the map is ceil(W / cell) x ceil(H / cell)). Default 4. */
  cellSize?: number;
}

export const BOX_SALIENCY_CELL = 4;

/**
 * A saliency map from boxes, for detectors without a heatmap (NanoDet, YOLO): each cell is
 * the highest score (clamped to [0, 1]) of the boxes overlapping it with positive area, 0
 * elsewhere. The map covers the frame exactly as detHeatOffsets reads it (cell i spans
 * [i W/w, (i+1) W/w)), so a frame size that is not a multiple of the cell size shifts nothing.
 */
export function boxSaliency(dets: readonly Detection[], width: number, height: number, opts: BoxSaliencyOptions): SaliencyMap {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`Expected a positive integer frame size but received ${width}x${height}`);
  }
  checkFinite(opts.minScore, 'minimum score');
  const cell = opts.cellSize ?? BOX_SALIENCY_CELL;
  if (!Number.isInteger(cell) || cell <= 0) throw new RangeError(`Expected a positive integer cell size but received ${cell}`);
  const mw = Math.ceil(width / cell);
  const mh = Math.ceil(height / cell);
  const data = new Float32Array(mw * mh);
  for (const d of dets) {
    if (!(d.score >= opts.minScore)) continue;
    const { x1, y1, x2, y2 } = d.box;
    if (!(x2 > x1 && y2 > y1)) continue;
    const score = Math.min(1, Math.max(0, d.score));
    // Cell i overlaps iff i W/w < x2 and (i+1) W/w > x1.
    const i0 = Math.max(0, Math.floor((x1 * mw) / width));
    const i1 = Math.min(mw - 1, Math.ceil((x2 * mw) / width) - 1);
    const j0 = Math.max(0, Math.floor((y1 * mh) / height));
    const j1 = Math.min(mh - 1, Math.ceil((y2 * mh) / height) - 1);
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) if (score > data[j * mw + i]) data[j * mw + i] = score;
    }
  }
  return { width: mw, height: mh, data };
}
