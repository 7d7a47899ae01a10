import { expect } from 'chai';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import { jndFromTargetQp, poolJndPerMacroblock, qpOffsetsFromJnd, relativeQpOffsets, stepForQp, targetQpForStep } from '../../src/jnd/qp-mapping.ts';

const constant = (n: number, value: number): Float32Array => new Float32Array(n).fill(value);
// One assertion per map instead of per element: chai is slow on thousands of calls.
const maxDeviation = (values: Float32Array, expected: number): number =>
  values.reduce((worst, v) => Math.max(worst, Math.abs(v - expected)), 0);

describe('jnd/qp-mapping', () => {
  it('maps a quantisation step to the H.264 QP (step 1 at QP 4, doubling every 6 QP)', () => {
    expect(targetQpForStep(1)).to.equal(4);
    expect(targetQpForStep(2)).to.equal(10);
    expect(targetQpForStep(16)).to.equal(28);
    expect(stepForQp(28)).to.be.closeTo(16, 1e-12);
    expect(jndFromTargetQp(28)).to.be.closeTo(8, 1e-12);
    expect(jndFromTargetQp(28, 2)).to.be.closeTo(4, 1e-12);
    expect(() => targetQpForStep(0)).to.throw(RangeError, /Expected a positive finite quantisation step/);
  });

  it('turns JND 8 into step 16, QP 28, offset +5 at base QP 23 (hand-computed)', () => {
    const grid = macroblockGrid(32, 32);
    const offsets = qpOffsetsFromJnd(constant(4, 8), { width: 2, height: 2 }, grid, { baseQp: 23 });
    expect(Array.from(offsets)).to.deep.equal([5, 5, 5, 5]);
    // gain 0.5 halves the JND: step 8, QP 22, offset -1.
    const halved = qpOffsetsFromJnd(constant(4, 8), { width: 2, height: 2 }, grid, { baseQp: 23, gain: 0.5 });
    expect(Array.from(halved)).to.deep.equal([-1, -1, -1, -1]);
    // The inverse gives back the JND for any target QP.
    const jnd = jndFromTargetQp(23 + 3.25);
    const back = qpOffsetsFromJnd(constant(4, jnd), { width: 2, height: 2 }, grid, { baseQp: 23 });
    expect(back[0]).to.be.closeTo(3.25, 1e-5);
  });

  it('clamps to [minOffset, maxOffset] and sends zero or negative JND to minOffset', () => {
    const grid = macroblockGrid(32, 32);
    const view = { width: 2, height: 2 };
    // JND 1000 -> QP 4 + 6 log2(2000) ~ 69.8 -> +46.8, clamped to +12; JND 0.01 -> QP ~ -21.9, clamped to -12.
    const jnd = Float32Array.from([1000, 0.01, 0, -3]);
    expect(Array.from(qpOffsetsFromJnd(jnd, view, grid, { baseQp: 23 }))).to.deep.equal([12, -12, -12, -12]);
    const narrow = qpOffsetsFromJnd(jnd, view, grid, { baseQp: 23, minOffset: -4, maxOffset: 3 });
    expect(Array.from(narrow)).to.deep.equal([3, -4, -4, -4]);
    // gain 0 means "no tolerance anywhere": everything at the finest allowed offset.
    expect(Array.from(qpOffsetsFromJnd(constant(4, 8), view, grid, { baseQp: 23, gain: 0 }))).to.deep.equal([
      -12, -12, -12, -12,
    ]);
  });

  it('maps a 2x2 view over a 32x32 frame one view pixel per macroblock', () => {
    const grid = macroblockGrid(32, 32);
    const jnd = Float32Array.from([1, 2, 3, 4]);
    expect(Array.from(poolJndPerMacroblock(jnd, { width: 2, height: 2 }, grid))).to.deep.equal([1, 2, 3, 4]);
    for (const pooling of ['min', 'max', { percentile: 50 }] as const) {
      expect(Array.from(poolJndPerMacroblock(jnd, { width: 2, height: 2 }, grid, pooling))).to.deep.equal([1, 2, 3, 4]);
    }
  });

  it('weights view pixels by the area a macroblock covers (3x3 view over a 32x32 frame)', () => {
    // Scale 3/32: MB (0,0) covers view [0, 1.5) x [0, 1.5): pixel (0,0) fully, (1,0) and (0,1)
    // half, (1,1) a quarter; total area 2.25.
    const grid = macroblockGrid(32, 32);
    const view = { width: 3, height: 3 };
    const jnd = Float32Array.from([4, 8, 100, 12, 16, 100, 100, 100, 100]);
    const mean = poolJndPerMacroblock(jnd, view, grid, 'mean');
    expect(mean[0]).to.be.closeTo((4 * 1 + 8 * 0.5 + 12 * 0.5 + 16 * 0.25) / 2.25, 1e-5);
    // MB (1,1) covers [1.5, 3) x [1.5, 3): (1,1) a quarter, (2,1) and (1,2) half, (2,2) fully.
    expect(mean[3]).to.be.closeTo((16 * 0.25 + 100 * 0.5 + 100 * 0.5 + 100 * 1) / 2.25, 1e-5);
    expect(poolJndPerMacroblock(jnd, view, grid, 'min')[0]).to.equal(4);
    expect(poolJndPerMacroblock(jnd, view, grid, 'max')[0]).to.equal(16);
    // Weighted nearest rank over MB (0,0): sorted 4 (w 1), 8 (0.5), 12 (0.5), 16 (0.25); total 2.25.
    // p40 -> 0.9 reached by 4; p50 -> 1.125 reached at 8; p80 -> 1.8 reached at 12; p100 -> 16.
    const at = (p: number): number => poolJndPerMacroblock(jnd, view, grid, { percentile: p })[0];
    expect([at(0), at(40), at(50), at(80), at(100)]).to.deep.equal([4, 4, 8, 12, 16]);
  });

  it('maps partial edge macroblocks onto only the pixels that exist (40x40 frame, 5x5 view)', () => {
    // Scale 1/8: MB column 2 covers frame x [32, 40) -> view x [4, 5), one pixel, not [4, 6).
    const grid = macroblockGrid(40, 40);
    const jnd = new Float32Array(25);
    for (let i = 0; i < 25; i++) jnd[i] = i;
    const pooled = poolJndPerMacroblock(jnd, { width: 5, height: 5 }, grid, 'mean');
    // MB (row 0, col 2) covers view [4, 5) x [0, 2): pixels 4 and 9; MB (2, 2) covers only pixel 24.
    expect(pooled[2]).to.be.closeTo((4 + 9) / 2, 1e-6);
    expect(pooled[8]).to.be.closeTo(24, 1e-6);
    // MB (1, 1) covers view [2, 4) x [2, 4): pixels 12, 13, 17, 18.
    expect(pooled[4]).to.be.closeTo((12 + 13 + 17 + 18) / 4, 1e-6);
  });

  it('gives constant offsets for a constant JND at a non-integer scale (128x72 view, 1280x720 frame)', () => {
    const grid = macroblockGrid(1280, 720);
    const view = { width: 128, height: 72 };
    const offsets = qpOffsetsFromJnd(constant(128 * 72, 8), view, grid, { baseQp: 23 });
    expect(offsets.length).to.equal(grid.count);
    expect(maxDeviation(offsets, 5)).to.be.below(1e-5);
    for (const pooling of ['min', 'max', { percentile: 90 }] as const) {
      const pooled = qpOffsetsFromJnd(constant(128 * 72, 8), view, grid, { baseQp: 23, pooling });
      expect(maxDeviation(pooled, 5)).to.be.below(1e-5);
    }
  });

  it('keeps a horizontal JND ramp monotone across macroblocks at a non-integer scale', () => {
    const grid = macroblockGrid(1280, 720); // 80x45 MBs; each MB is 1.6 view pixels wide
    const view = { width: 128, height: 72 };
    const jnd = new Float32Array(128 * 72);
    for (let y = 0; y < 72; y++) for (let x = 0; x < 128; x++) jnd[y * 128 + x] = 1 + x;
    const pooled = poolJndPerMacroblock(jnd, view, grid);
    // MB column 0 covers view x [0, 1.6): (1 * 1 + 2 * 0.6) / 1.6.
    expect(pooled[0]).to.be.closeTo((1 + 2 * 0.6) / 1.6, 1e-5);
    let increasing = true;
    for (let c = 1; c < grid.cols; c++) increasing &&= pooled[c] > pooled[c - 1];
    expect(increasing).to.equal(true);
  });

  it('rejects mismatched sizes and bad options with a sentence', () => {
    const grid = macroblockGrid(32, 32);
    const view = { width: 2, height: 2 };
    expect(() => qpOffsetsFromJnd(constant(3, 1), view, grid, { baseQp: 23 })).to.throw(
      RangeError,
      /Expected 4 JND values for a 2x2 view but received 3/,
    );
    expect(() => qpOffsetsFromJnd(constant(4, 1), view, grid, { baseQp: Number.NaN })).to.throw(/base QP/);
    expect(() => qpOffsetsFromJnd(constant(4, 1), view, grid, { baseQp: 23, minOffset: 2, maxOffset: 1 })).to.throw(
      /min <= max/,
    );
    expect(() => qpOffsetsFromJnd(constant(4, 1), view, grid, { baseQp: 23, pooling: { percentile: 101 } })).to.throw(
      /percentile in \[0, 100\]/,
    );
    expect(() => qpOffsetsFromJnd(Float32Array.from([1, Number.NaN, 1, 1]), view, grid, { baseQp: 23 })).to.throw(
      /finite JND values/,
    );
  });
});

describe('relativeQpOffsets (dmv-jnd-rel)', () => {
  it('puts the 5th-percentile target at 0 and the rest above it by their difference, up to the span', () => {
    // 20 macroblocks: targets 20, 21, ..., 39; the 5th percentile (nearest rank: the 1st of 20) is 20.
    const targets = Float32Array.from({ length: 20 }, (_, i) => 20 + i);
    const o = relativeQpOffsets(targets, 16);
    expect(o[0]).to.equal(0);
    expect(o[5]).to.equal(5);
    expect(o[16]).to.equal(16);
    expect(o[19]).to.equal(16); // 19 clamped to the span
  });

  it('ignores a single outlier below the percentile and clamps it to 0', () => {
    const targets = Float32Array.from({ length: 40 }, (_, i) => (i === 7 ? -50 : 30 + (i % 4)));
    const o = relativeQpOffsets(targets, 16);
    // Nearest rank 2 of 40: the smallest regular value, 30.
    expect(o[7]).to.equal(0);
    expect(Math.min(...[...o].filter((_, i) => i !== 7))).to.equal(0);
    expect(Math.max(...o)).to.equal(3);
  });

  it('is shift-invariant: the JND gain (a uniform QP shift) does not change the offsets', () => {
    const targets = Float32Array.from([25, 31, 40, 28, 36]);
    const shifted = targets.map((t) => t + 6 * Math.log2(0.3));
    const a = [...relativeQpOffsets(targets, 12)];
    const b = [...relativeQpOffsets(shifted, 12)];
    b.forEach((v, i) => expect(v).to.be.closeTo(a[i], 1e-4));
  });

  it('rejects a negative span or a percentile outside [0, 100]', () => {
    expect(() => relativeQpOffsets(Float32Array.of(1), -1)).to.throw(/non-negative finite QP span/);
    expect(() => relativeQpOffsets(Float32Array.of(1), 4, 101)).to.throw(/percentile in \[0, 100\]/);
  });
});
