import { expect } from 'chai';
import { intraSampleIndices } from '../../bench/intra-spearman.ts';

describe('bench: intra-frame sample for the Spearman(JND, QP) check', function () {
  it("'first' takes frames 0..n-1", () => {
    expect(intraSampleIndices(100, 8, 'first')).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("'spread' takes the middle frame of each of n equal segments", () => {
    expect(intraSampleIndices(720, 8, 'spread')).to.deep.equal([45, 135, 225, 315, 405, 495, 585, 675]);
    // 1.5 frames per segment: still 8 distinct frames.
    expect(intraSampleIndices(12, 8, 'spread')).to.deep.equal([0, 2, 3, 5, 6, 8, 9, 11]);
  });

  it('takes every frame of a clip shorter than n', () => {
    expect(intraSampleIndices(5, 8, 'spread')).to.deep.equal([0, 1, 2, 3, 4]);
    expect(intraSampleIndices(5, 8, 'first')).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('rejects a non-positive count', () => {
    expect(() => intraSampleIndices(0, 8, 'spread')).to.throw(/positive integer/);
  });
});
