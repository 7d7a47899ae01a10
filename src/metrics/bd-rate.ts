/**
 * Bjontegaard delta rate (VCEG-M33) at equal quality, where quality is an RCA in [0, 1]
 * (or PSNR in dB: nothing here assumes a range).
 *
 * Method, and why:
 * - Each curve is made monotone first: points sorted by rate, quality replaced by its
 *   running maximum (a higher rate is never credited with less quality than a lower one
 *   already reached), then points that add no quality dropped, keeping the lowest rate.
 *   Measured RCA curves are noisy and saturate at 1.0; without this the inverse function
 *   rate(quality) does not exist.
 * - log10(rate) is interpolated as a function of quality with the monotone piecewise cubic
 *   Hermite interpolant (PCHIP; Fritsch-Carlson with the Fritsch-Butland harmonic-mean
 *   slopes and the shape-preserving three-point end slopes, as SciPy's PchipInterpolator,
 *   which the JCT-VC/JVET CTC spreadsheets' PCHIP also matches). One cubic through all
 *   points, the original VCEG-M33 fit, blew up on saturating curves (+110% to +570%).
 * - Both interpolants are integrated exactly (per Hermite segment) over the overlapping
 *   quality interval [qmin, qmax];
 *   BD-rate % = (10^((int_test - int_anchor) / (qmax - qmin)) - 1) * 100.
 *   Negative means the test curve needs fewer bits for the same quality.
 */

export interface RateQualityPoint {
  /** Bitrate (any positive unit, the same for both curves). */
  readonly rate: number;
  /** RCA in [0, 1], PSNR in dB, ...: higher is better. */
  readonly quality: number;
}

export type BdRateResult =
  | { bdRatePercent: number; overlap: [number, number] }
  | { bdRatePercent: null; reason: 'no overlapping quality range' | 'fewer than 2 distinct points' };

/**
 * The curve made monotone: sorted by rate, strictly increasing in both rate and quality,
 * each kept point the lowest rate that reaches its quality.
 */
export function monotoneCurve(points: readonly RateQualityPoint[]): RateQualityPoint[] {
  for (const [i, p] of points.entries()) {
    if (!(Number.isFinite(p.rate) && p.rate > 0)) {
      throw new RangeError(`Expected a positive finite rate for point ${i} but received ${p.rate}`);
    }
    if (!Number.isFinite(p.quality)) {
      throw new RangeError(`Expected a finite quality for point ${i} but received ${p.quality}`);
    }
  }
  // Equal rates: the best quality first, so the others add nothing and are dropped.
  const sorted = [...points].sort((a, b) => a.rate - b.rate || b.quality - a.quality);
  const kept: RateQualityPoint[] = [];
  for (const p of sorted) {
    if (kept.length === 0 || p.quality > kept[kept.length - 1].quality) kept.push({ rate: p.rate, quality: p.quality });
  }
  return kept;
}

/** A monotone piecewise cubic Hermite interpolant y(x) through strictly increasing x. */
export interface Pchip {
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Slopes dy/dx at the knots. */
  readonly slopes: Float64Array;
}

/** PCHIP slopes as in SciPy's PchipInterpolator (Fritsch-Carlson / Fritsch-Butland). */
export function pchip(xs: ArrayLike<number>, ys: ArrayLike<number>): Pchip {
  const n = xs.length;
  if (n < 2 || ys.length !== n) {
    throw new RangeError(`Expected at least 2 knots with as many y as x values but received ${n} x and ${ys.length} y`);
  }
  const x = Float64Array.from(xs);
  const y = Float64Array.from(ys);
  for (let i = 1; i < n; i++) {
    if (!(x[i] > x[i - 1])) throw new RangeError(`Expected strictly increasing x but received ${x[i - 1]} then ${x[i]}`);
  }
  const h = new Float64Array(n - 1);
  const m = new Float64Array(n - 1); // secant slopes
  for (let i = 0; i < n - 1; i++) {
    h[i] = x[i + 1] - x[i];
    m[i] = (y[i + 1] - y[i]) / h[i];
  }
  const slopes = new Float64Array(n);
  if (n === 2) {
    slopes[0] = slopes[1] = m[0]; // a straight line
    return { x, y, slopes };
  }
  for (let k = 1; k < n - 1; k++) {
    // Zero slope at local extrema and flat secants keeps the interpolant monotone.
    if (m[k - 1] === 0 || m[k] === 0 || Math.sign(m[k - 1]) !== Math.sign(m[k])) {
      slopes[k] = 0;
    } else {
      const w1 = 2 * h[k] + h[k - 1];
      const w2 = h[k] + 2 * h[k - 1];
      slopes[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k]);
    }
  }
  slopes[0] = endSlope(h[0], h[1], m[0], m[1]);
  slopes[n - 1] = endSlope(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
  return { x, y, slopes };
}

/** One-sided three-point end slope, limited so the end segment stays monotone. */
function endSlope(h0: number, h1: number, m0: number, m1: number): number {
  const d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
  if (Math.sign(d) !== Math.sign(m0)) return 0;
  if (Math.sign(m0) !== Math.sign(m1) && Math.abs(d) > Math.abs(3 * m0)) return 3 * m0;
  return d;
}

/** The interpolant's value at x (x inside [x0, xn]; outside, the end cubic is extended). */
export function pchipValue(p: Pchip, at: number): number {
  const k = segmentIndex(p, at);
  const [a, b, c, d] = segmentPolynomial(p, k);
  const s = at - p.x[k];
  return a + s * (b + s * (c + s * d));
}

/** Exact integral of the interpolant over [from, to], both inside the knot range. */
export function pchipIntegral(p: Pchip, from: number, to: number): number {
  if (to < from) return -pchipIntegral(p, to, from);
  let total = 0;
  const n = p.x.length;
  for (let k = 0; k < n - 1; k++) {
    const lo = Math.max(from, p.x[k]);
    const hi = Math.min(to, p.x[k + 1]);
    if (hi <= lo) continue;
    const [a, b, c, d] = segmentPolynomial(p, k);
    const antiderivative = (s: number): number => s * (a + s * (b / 2 + s * (c / 3 + (s * d) / 4)));
    total += antiderivative(hi - p.x[k]) - antiderivative(lo - p.x[k]);
  }
  return total;
}

/** Coefficients of segment k as a + b s + c s^2 + d s^3 in s = x - x_k. */
function segmentPolynomial(p: Pchip, k: number): [number, number, number, number] {
  const h = p.x[k + 1] - p.x[k];
  const secant = (p.y[k + 1] - p.y[k]) / h;
  const d0 = p.slopes[k];
  const d1 = p.slopes[k + 1];
  return [p.y[k], d0, (3 * secant - 2 * d0 - d1) / h, (d0 + d1 - 2 * secant) / (h * h)];
}

function segmentIndex(p: Pchip, at: number): number {
  const n = p.x.length;
  let k = 0;
  while (k < n - 2 && at > p.x[k + 1]) k++;
  return k;
}

export interface BdRateOptions {
  /** Integrate only over this part of the overlapping quality range (e.g. [0.8, 1]: the high end). */
  within?: readonly [number, number];
}

/**
 * BD-rate of `test` against `anchor` in percent at equal quality (see the file header).
 * Either curve may be given in any order; it needs two or more distinct quality levels.
 */
export function bdRate(anchor: readonly RateQualityPoint[], test: readonly RateQualityPoint[], opts: BdRateOptions = {}): BdRateResult {
  const a = monotoneCurve(anchor);
  const t = monotoneCurve(test);
  if (a.length < 2 || t.length < 2) return { bdRatePercent: null, reason: 'fewer than 2 distinct points' };
  const [lo, hi] = opts.within ?? [-Infinity, Infinity];
  const qmin = Math.max(a[0].quality, t[0].quality, lo);
  const qmax = Math.min(a[a.length - 1].quality, t[t.length - 1].quality, hi);
  if (!(qmax > qmin)) return { bdRatePercent: null, reason: 'no overlapping quality range' };
  const fit = (curve: RateQualityPoint[]): Pchip =>
    pchip(
      curve.map((p) => p.quality),
      curve.map((p) => Math.log10(p.rate)),
    );
  const anchorIntegral = pchipIntegral(fit(a), qmin, qmax);
  const testIntegral = pchipIntegral(fit(t), qmin, qmax);
  const meanLogRatio = (testIntegral - anchorIntegral) / (qmax - qmin);
  return { bdRatePercent: (10 ** meanLogRatio - 1) * 100, overlap: [qmin, qmax] };
}

export interface KneeOptions {
  /**
   * false (default): the lowest rate whose quality on the monotone curve reaches the
   * threshold. true: the lowest measured rate from which every higher-rate point also
   * reaches it ("stays above"), which is stricter on noisy curves.
   */
  stays?: boolean;
}

/** The knee: the lowest rate that reaches `threshold` quality, or null if no point does. */
export function kneeRate(points: readonly RateQualityPoint[], threshold: number, opts: KneeOptions = {}): number | null {
  if (!Number.isFinite(threshold)) throw new RangeError(`Expected a finite quality threshold but received ${threshold}`);
  if (!opts.stays) {
    const first = monotoneCurve(points).find((p) => p.quality >= threshold);
    return first ? first.rate : null;
  }
  monotoneCurve(points); // validates the points
  const sorted = [...points].sort((x, y) => x.rate - y.rate);
  let knee: number | null = null;
  for (let i = sorted.length - 1; i >= 0; i--) {
    if (sorted[i].quality < threshold) break;
    knee = sorted[i].rate;
  }
  return knee;
}
