import { expect } from 'chai';
import {
  MAX_ABS_QP_OFFSET,
  ROI_REGION_BYTES,
  macroblockGrid,
  offsetsFromRoiSideData,
  quantiseQpDelta,
  roiSideData,
} from '../../src/media/mb-grid.ts';

describe('media/mb-grid', () => {
  it('rounds the macroblock grid up for partial macroblocks', () => {
    expect(macroblockGrid(1920, 1080)).to.include({ cols: 120, rows: 68, count: 8160 });
    expect(macroblockGrid(17, 1)).to.include({ cols: 2, rows: 1, count: 2 });
    expect(() => macroblockGrid(0, 10)).to.throw(RangeError, /Expected positive integer frame size/);
  });

  it('carries QP deltas in 1/1000 steps and clamps to +-51', () => {
    expect(quantiseQpDelta(-6)).to.equal(-6000);
    expect(quantiseQpDelta(0.1234)).to.equal(123);
    expect(quantiseQpDelta(80)).to.equal(MAX_ABS_QP_OFFSET * 1000);
    expect(() => quantiseQpDelta(Number.NaN)).to.throw(RangeError);
  });

  it('writes AVRegionOfInterest records that libx264 scales back to the same QP delta', () => {
    const grid = macroblockGrid(40, 20); // 3x2 MBs, partial on both edges
    const map = Float32Array.from([1, 2, 3, -4, -5, -6]);
    const buf = roiSideData(map, grid);
    expect(buf.length).to.equal(6 * ROI_REGION_BYTES);
    // First region: self_size, top, bottom, left, right, num, den
    expect([0, 4, 8, 12, 16, 20, 24].map((o) => (o === 0 ? buf.readUInt32LE(o) : buf.readInt32LE(o)))).to.deep.equal([
      28, 0, 16, 0, 16, 1000, 51000,
    ]);
    // Last region is clipped to the frame, not the MB grid.
    const last = 5 * ROI_REGION_BYTES;
    expect([buf.readInt32LE(last + 8), buf.readInt32LE(last + 16)]).to.deep.equal([20, 40]);
    expect([...offsetsFromRoiSideData(buf, grid)]).to.deep.equal([...map]);
  });

  it('merges equal neighbours in a row into one region', () => {
    const grid = macroblockGrid(64, 32); // 4x2
    const map = Float32Array.from([2, 2, 2, -1, 0, 0, 0, 0]);
    const buf = roiSideData(map, grid);
    expect(buf.length / ROI_REGION_BYTES).to.equal(3);
    expect([...offsetsFromRoiSideData(buf, grid)]).to.deep.equal([...map]);
  });

  it('rejects a map of the wrong size with a message naming both sizes', () => {
    expect(() => roiSideData(new Float32Array(5), macroblockGrid(64, 32))).to.throw(/Expected 8 QP offsets.*received 5/);
  });
});
