import { expect } from 'chai';
import { bootstrapMeanCi } from '../../src/metrics/bootstrap.ts';

describe('metrics/bootstrap: percentile interval of a mean over clips', () => {
  it('collapses to the value when every clip agrees, and needs two clips', () => {
    const [lo, hi] = bootstrapMeanCi([-0.1, -0.1, -0.1])!;
    expect(lo).to.be.closeTo(-0.1, 1e-12);
    expect(hi).to.be.closeTo(-0.1, 1e-12);
    expect(bootstrapMeanCi([0.3])).to.equal(null);
    expect(bootstrapMeanCi([])).to.equal(null);
  });

  it('of two clips spans about their range (the resampled mean is one of the two a quarter of the time each)', () => {
    const ci = bootstrapMeanCi([0, 1])!;
    expect(ci[0]).to.equal(0);
    expect(ci[1]).to.equal(1);
  });

  it('is reproducible by seed, contains the mean and widens with the level', () => {
    const v = [-0.51, -0.37, -0.21, -0.04, 0.03, 0.06, 0.12, 0.19, 0.36];
    const a = bootstrapMeanCi(v, { seed: 7 })!;
    expect(bootstrapMeanCi(v, { seed: 7 })).to.deep.equal(a);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    expect(a[0]).to.be.below(mean);
    expect(a[1]).to.be.above(mean);
    const narrow = bootstrapMeanCi(v, { seed: 7, level: 0.5 })!;
    expect(narrow[0]).to.be.above(a[0]);
    expect(narrow[1]).to.be.below(a[1]);
  });

  it('matches the normal approximation on a large sample (half-width 1.96 sd / sqrt(n))', () => {
    // 400 values evenly spread on [-1, 1]: sd = 0.578 (population), so the half-width is ~0.0566.
    const v = Array.from({ length: 400 }, (_, i) => -1 + (2 * i) / 399);
    const [lo, hi] = bootstrapMeanCi(v, { resamples: 4000 })!;
    expect((hi - lo) / 2).to.be.closeTo(0.0566, 0.006);
    expect((hi + lo) / 2).to.be.closeTo(0, 0.01);
  });

  it('rejects bad options and non-finite values', () => {
    expect(() => bootstrapMeanCi([1, 2], { resamples: 10 })).to.throw(/at least 100 resamples/);
    expect(() => bootstrapMeanCi([1, 2], { level: 1 })).to.throw(/coverage level in \(0, 1\)/);
    expect(() => bootstrapMeanCi([1, Number.NaN])).to.throw(/finite values/);
  });
});
