import { expect } from 'chai';
import {
  bdRate,
  kneeRate,
  monotoneCurve,
  pchip,
  pchipIntegral,
  pchipValue,
  type RateQualityPoint,
} from '../../src/metrics/bd-rate.ts';

const curve = (rates: number[], qualities: number[]): RateQualityPoint[] =>
  rates.map((rate, i) => ({ rate, quality: qualities[i] }));
const scaled = (points: RateQualityPoint[], factor: number): RateQualityPoint[] =>
  points.map((p) => ({ rate: p.rate * factor, quality: p.quality }));

function percent(result: ReturnType<typeof bdRate>): number {
  if (result.bdRatePercent === null) throw new Error(`Expected a BD-rate but received "${result.reason}"`);
  return result.bdRatePercent;
}

/** A saturating RCA curve as measured on the dev clips: flat at 1.0 at the top. */
const SATURATING = curve([100, 200, 400, 800, 1600], [0.9, 0.97, 0.99, 1.0, 1.0]);

/**
 * The two rate/PSNR curve pairs (libx265 presets, kbit/s and dB) published with the FAU-LMS
 * `bjontegaard` package (README and example_usage.py). The package's PCHIP BD-rate is SciPy's
 * PchipInterpolator integrated over the overlap, which its authors report equal to the
 * JCT-VC/JVET CTC spreadsheet to 10 decimals. The package prints no numbers, so the expected
 * values were evaluated with SciPy 1.17 (PchipInterpolator(...).integrate), not by this module.
 */
const FAU_TEST_1 = {
  anchor: curve([9487.76, 4593.6, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851]),
  test: curve([9787.8, 4469.0, 2451.52, 1356.24], [40.121, 38.651, 36.97, 34.987]),
  expected: -4.417485350589045,
};
const FAU_TEST_2 = {
  anchor: curve([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615]),
  test: curve([99896.96, 33952.04, 9787.8, 4469.0], [44.731, 41.875, 40.121, 38.651]),
  expected: -4.47218200276197,
};

describe('metrics/bd-rate', () => {
  it('is exactly -20% for a curve needing 0.8x the rate at every quality, +25% for 1.25x', () => {
    const a = curve([100, 250, 600, 1500], [0.5, 0.8, 0.93, 0.99]);
    expect(percent(bdRate(a, scaled(a, 0.8)))).to.be.closeTo(-20, 1e-9);
    expect(percent(bdRate(a, scaled(a, 1.25)))).to.be.closeTo(25, 1e-9);
    expect(percent(bdRate(a, a))).to.be.closeTo(0, 1e-12);
    expect(bdRate(a, scaled(a, 0.8))).to.deep.include({ overlap: [0.5, 0.99] });
  });

  it('integrates exactly over a partial overlap (hand-computed two-point curves)', () => {
    // Two points -> a straight line in log10(rate): anchor log10 r = 2 + 2q on q in [0, 1],
    // test log10 r = 1.9 + 2q on q in [0.5, 1.5]. Overlap [0.5, 1]: mean difference -0.1 in log10.
    const anchor = curve([100, 10_000], [0, 1]);
    const test = curve([10 ** 2.9, 10 ** 4.9], [0.5, 1.5]);
    const result = bdRate(anchor, test);
    expect(percent(result)).to.be.closeTo((10 ** -0.1 - 1) * 100, 1e-9);
    expect(result).to.deep.include({ overlap: [0.5, 1] });
  });

  it('integrates only over the part of the overlap that `within` names (hand-computed lines)', () => {
    // anchor log10 r = 2 + 2q, test log10 r = 2 + 1.6q on q in [0, 1]: the difference is -0.4q,
    // whose mean is -0.2 over [0, 1], -0.3 over [0.5, 1] and -0.36 over [0.8, 1].
    const anchor = curve([100, 10_000], [0, 1]);
    const test = curve([100, 10 ** 3.6], [0, 1]);
    expect(percent(bdRate(anchor, test))).to.be.closeTo((10 ** -0.2 - 1) * 100, 1e-9);
    expect(percent(bdRate(anchor, test, { within: [0.5, 1] }))).to.be.closeTo((10 ** -0.3 - 1) * 100, 1e-9);
    const clipped = bdRate(anchor, test, { within: [0.8, 2] });
    expect(percent(clipped)).to.be.closeTo((10 ** -0.36 - 1) * 100, 1e-9);
    expect(clipped).to.deep.include({ overlap: [0.8, 1] });
    expect(bdRate(anchor, test, { within: [1.2, 2] })).to.deep.equal({ bdRatePercent: null, reason: 'no overlapping quality range' });
  });

  it('matches the published FAU-LMS curve pairs (SciPy PCHIP reference values)', () => {
    expect(percent(bdRate(FAU_TEST_1.anchor, FAU_TEST_1.test))).to.be.closeTo(FAU_TEST_1.expected, 1e-9);
    expect(percent(bdRate(FAU_TEST_2.anchor, FAU_TEST_2.test))).to.be.closeTo(FAU_TEST_2.expected, 1e-9);
    // Point order does not matter.
    const shuffled = [...FAU_TEST_1.test].reverse();
    expect(percent(bdRate(FAU_TEST_1.anchor, shuffled))).to.be.closeTo(FAU_TEST_1.expected, 1e-9);
  });

  it('says so when the quality ranges do not overlap or a curve has fewer than 2 distinct points', () => {
    const low = curve([100, 200], [0.5, 0.6]);
    const high = curve([300, 400], [0.7, 0.8]);
    expect(bdRate(low, high)).to.deep.equal({ bdRatePercent: null, reason: 'no overlapping quality range' });
    const touching = curve([300, 400], [0.6, 0.8]);
    expect(bdRate(low, touching)).to.deep.equal({ bdRatePercent: null, reason: 'no overlapping quality range' });
    const flat = curve([100, 200, 400], [1, 1, 1]);
    expect(bdRate(flat, low)).to.deep.equal({ bdRatePercent: null, reason: 'fewer than 2 distinct points' });
    expect(bdRate(low, [])).to.deep.equal({ bdRatePercent: null, reason: 'fewer than 2 distinct points' });
  });

  it('behaves on saturating RCA curves (0.9, 0.97, 0.99, 1.0, 1.0)', () => {
    // The repeated 1.0 at a higher rate is dropped; the scale rule still holds exactly.
    expect(monotoneCurve(SATURATING).map((p) => p.rate)).to.deep.equal([100, 200, 400, 800]);
    expect(percent(bdRate(SATURATING, scaled(SATURATING, 0.8)))).to.be.closeTo(-20, 1e-9);
    // A slightly different saturating curve gives a modest number (SciPy PCHIP on the
    // monotone curves: 4.332841574073942), not the blow-up of one global cubic.
    const other = curve([90, 170, 330, 700, 1500], [0.88, 0.96, 0.985, 0.995, 1.0]);
    const result = bdRate(SATURATING, other);
    expect(percent(result)).to.be.closeTo(4.332841574073942, 1e-9);
    expect(result).to.deep.include({ overlap: [0.9, 1] });
  });

  it('makes curves monotone: running maximum of quality, lowest rate per quality level', () => {
    const noisy = curve([400, 100, 200, 300, 300, 500], [0.95, 0.9, 0.97, 0.96, 0.98, 0.97]);
    expect(monotoneCurve(noisy)).to.deep.equal(curve([100, 200, 300], [0.9, 0.97, 0.98]));
    expect(() => monotoneCurve(curve([0, 1], [0.5, 0.6]))).to.throw(RangeError, /positive finite rate for point 0/);
    expect(() => monotoneCurve(curve([1, 2], [0.5, Number.NaN]))).to.throw(RangeError, /finite quality for point 1/);
  });

  it('interpolates with a monotone PCHIP that matches SciPy on a hand case', () => {
    // x = [0, 1, 2, 3], y = [0, 1, 1, 2]: secants 1, 0, 1 -> interior slopes 0 (flat secant);
    // end slopes ((2*1+1)*1 - 1*0) / 2 = 1.5 at both ends (SciPy gives the same).
    const p = pchip([0, 1, 2, 3], [0, 1, 1, 2]);
    expect(Array.from(p.slopes)).to.deep.equal([1.5, 0, 0, 1.5]);
    expect(pchipValue(p, 1.5)).to.equal(1); // flat between the equal knots: no overshoot
    // Segment [0, 1]: y = 1.5 s + c s^2 + d s^3 with c = (3 - 3 - 0) = 0, d = (1.5 + 0 - 2) = -0.5;
    // integral over [0, 1] = 0.75 - 0.125 = 0.625; segment [1, 2] integrates to 1; [2, 3] by symmetry 1.375.
    expect(pchipIntegral(p, 0, 3)).to.be.closeTo(0.625 + 1 + 1.375, 1e-12);
    expect(pchipIntegral(p, 0, 0.5)).to.be.closeTo(0.75 * 0.25 - 0.125 * 0.0625, 1e-12);
    // Point symmetry y(3 - x) = 2 - y(x): the middle [0.5, 2.5] integrates to 2.
    expect(pchipIntegral(p, 0.5, 2.5)).to.be.closeTo(2, 1e-12);
  });

  it('finds the knee: the lowest rate reaching the threshold on the monotone curve', () => {
    const noisy = curve([100, 200, 300, 400, 500], [0.95, 0.991, 0.985, 0.995, 1]);
    expect(kneeRate(noisy, 0.99)).to.equal(200);
    expect(kneeRate(noisy, 0.99, { stays: true })).to.equal(400); // 300 dips below again
    expect(kneeRate(noisy, 0.9)).to.equal(100);
    expect(kneeRate(noisy, 1)).to.equal(500);
    expect(kneeRate(noisy, 1.01)).to.equal(null);
    expect(kneeRate(curve([100, 200], [0.5, 0.8]), 0.99, { stays: true })).to.equal(null);
    expect(kneeRate([], 0.99)).to.equal(null);
  });
});
