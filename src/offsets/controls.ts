/**
 * Control and baseline offset maps for the benchmark (issue 5):
 * - `random`: our offsets at shuffled positions. Same per-frame values, hence the same mean
 *   and variance, so any gain it shows comes from the bit budget's distribution, not from
 *   where the bits go (the paper's WGN control, for QP maps).
 * - `cam-roi`: offsets from the merged CAM alone, the saliency/ROI baseline of
 *   video-coding-for-machines work: where the classifiers look is coded finer.
 */

/** mulberry32: a small, fast, seeded 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The same offsets, spatially permuted (Fisher-Yates with mulberry32(seed)). Deterministic
 * per seed; use a different seed per frame (e.g. base seed + frame index) so the pattern
 * does not repeat. Returns a new array.
 */
export function shuffledOffsets(offsets: Float32Array, seed: number): Float32Array {
  if (!Number.isInteger(seed)) throw new RangeError(`Expected an integer seed but received ${seed}`);
  const out = Float32Array.from(offsets);
  const random = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = out[i];
    out[i] = out[j];
    out[j] = swap;
  }
  return out;
}

export interface CamRoiOptions {
  /** QP difference between a macroblock with CAM 0 and one with CAM 1. Default 6 (one step doubling). */
  strength?: number;
  /**
   * true (default): subtract the frame's mean so the offsets average zero (the encode's base
   * QP keeps its meaning: bits move, the budget stays about the same). false: offsets
   * are centred on CAM 0.5, i.e. strength * (0.5 - cam).
   */
  meanZero?: boolean;
}

/** Tolerance for CAM values a hair outside [0, 1] from float rounding; they are clamped. */
const CAM_TOLERANCE = 1e-6;

/**
 * Per-MB QP offsets from a per-MB merged CAM in [0, 1]: high CAM (the classifiers look
 * there) -> negative offset (finer), low CAM -> positive (coarser). Linear in the CAM:
 * offset = -strength * (cam - centre), centre = mean CAM (meanZero) or 0.5.
 */
export function camRoiOffsets(cam: Float32Array, opts: CamRoiOptions = {}): Float32Array {
  const strength = opts.strength ?? 6;
  const meanZero = opts.meanZero ?? true;
  if (!(Number.isFinite(strength) && strength >= 0)) {
    throw new RangeError(`Expected a non-negative finite CAM-ROI strength but received ${strength}`);
  }
  const values = new Float64Array(cam.length);
  let sum = 0;
  for (let i = 0; i < cam.length; i++) {
    const v = cam[i];
    if (!(v >= -CAM_TOLERANCE && v <= 1 + CAM_TOLERANCE)) {
      throw new RangeError(`Expected merged CAM values in [0, 1] but received ${v} at macroblock ${i}`);
    }
    values[i] = Math.min(1, Math.max(0, v));
    sum += values[i];
  }
  const centre = meanZero ? (cam.length > 0 ? sum / cam.length : 0) : 0.5;
  const out = new Float32Array(cam.length);
  for (let i = 0; i < cam.length; i++) out[i] = -strength * (values[i] - centre) + 0; // + 0 turns -0 into 0
  return out;
}
