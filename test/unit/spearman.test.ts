import { expect } from 'chai';
import { averageRanks, pearson, spearman } from '../../src/metrics/spearman.ts';

describe('metrics/spearman', () => {
  it('is 1 for any increasing relation and -1 for a decreasing one', () => {
    const x = [1, 2, 3, 4, 5, 6];
    expect(spearman(x, x.map((v) => v ** 3))).to.be.closeTo(1, 1e-12);
    expect(spearman(x, x.map((v) => Math.exp(-v)))).to.be.closeTo(-1, 1e-12);
    expect(spearman(Float32Array.from([3, 1, 2]), Uint8Array.from([30, 10, 20]))).to.be.closeTo(1, 1e-12);
  });

  it('gives tied values the average of their ranks', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5, 20]))).to.deep.equal([2, 4, 4, 1, 4]);
  });

  it('matches hand-computed values with ties', () => {
    // Ranks x = [1, 2.5, 2.5, 4], y = [1, 2, 3, 4]: cov 4.5, var 4.5 and 5 -> 4.5 / sqrt(22.5).
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).to.be.closeTo(4.5 / Math.sqrt(22.5), 1e-12);
    // Ties on both sides (scipy.stats.spearmanr gives -0.3611111111111111 = -13/36).
    expect(spearman([1, 1, 2, 2, 3], [3, 1, 2, 2, 1])).to.be.closeTo(-13 / 36, 1e-12);
  });

  it('is null when undefined and rejects bad input', () => {
    expect(spearman([1], [2])).to.equal(null);
    expect(spearman([1, 1, 1], [1, 2, 3])).to.equal(null);
    expect(pearson([], [])).to.equal(null);
    expect(() => spearman([1, 2], [1])).to.throw(RangeError, /same length but received 2 and 1/);
    expect(() => spearman([1, Number.NaN], [1, 2])).to.throw(RangeError, /finite values/);
  });
});
