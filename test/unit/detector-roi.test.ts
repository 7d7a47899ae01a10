import { expect } from 'chai';
import type { Detection } from '../../src/machines/types.ts';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import { shuffledOffsets } from '../../src/offsets/controls.ts';
import { boxSaliency, checkObjectJndModel, detHeatOffsets, detRoiOffsets, detScaleOffsets, objectJndOffsets, objectTolerance } from '../../src/offsets/detector-roi.ts';

const det = (x1: number, y1: number, x2: number, y2: number, score = 0.9): Detection => ({ cls: 0, score, box: { x1, y1, x2, y2 } });
const roi = { inside: -2, outside: 12, dilate: 0, minScore: 0.3 };
/** Indices of the macroblocks set to `inside`. */
const insideAt = (map: Float32Array, inside = roi.inside): number[] =>
  Array.from(map).flatMap((v, i) => (v === inside ? [i] : []));

describe('offsets/detector-roi', () => {
  const grid = macroblockGrid(64, 48); // 4 x 3 macroblocks

  it('selects the macroblocks a box covers, not those it only touches', () => {
    // [16, 48) x [16, 32): columns 1-2 of row 1, exactly on macroblock edges.
    const exact = detRoiOffsets([det(16, 16, 48, 32)], grid, roi);
    expect(insideAt(exact)).to.deep.equal([5, 6]);
    expect(Array.from(exact).filter((v) => v === roi.outside)).to.have.length(10);
    // Dilated by one pixel it reaches into every neighbour; by 16 it covers the frame.
    expect(insideAt(detRoiOffsets([det(16, 16, 48, 32)], grid, { ...roi, dilate: 1 }))).to.have.length(12);
    expect(insideAt(detRoiOffsets([det(16, 16, 32, 32)], grid, { ...roi, dilate: 16 }))).to.deep.equal([0, 1, 2, 4, 5, 6, 8, 9, 10]);
    // A box beyond the frame selects the edge macroblocks only.
    expect(insideAt(detRoiOffsets([det(-50, -50, 5, 5)], grid, roi))).to.deep.equal([0]);
  });

  it('det-scale grades the inside offset by box size and keeps the finest where boxes overlap', () => {
    const scale = { ...roi, slope: 3, referenceSide: 16 };
    // Side 16 (= reference): inside unchanged; side 32: one doubling, +3; side 64x48 (sqrt 55.4): +5.38.
    const small = detScaleOffsets([det(0, 0, 16, 16)], grid, scale);
    expect(Array.from(small)).to.deep.equal([-2, ...new Array(11).fill(12)]);
    const mid = detScaleOffsets([det(16, 16, 48, 48)], grid, scale);
    expect(Array.from(mid).filter((v) => v === 1)).to.have.length(4); // rows 1-2, columns 1-2
    const whole = detScaleOffsets([det(0, 0, 64, 48)], grid, scale);
    expect(whole[0]).to.be.closeTo(-2 + 3 * Math.log2(Math.sqrt(64 * 48) / 16), 1e-5);
    // The small box inside the large one keeps its finer offset; the rest of the large one is coarser.
    const both = detScaleOffsets([det(0, 0, 64, 48), det(0, 0, 16, 16)], grid, scale);
    expect(both[0]).to.equal(-2);
    expect(both[1]).to.be.closeTo(whole[1], 1e-6);
    // Never coarser than outside; below minScore or zero slope: det-roi.
    expect(Array.from(detScaleOffsets([det(0, 0, 64, 48)], grid, { ...scale, slope: 40 }))).to.deep.equal(new Array(12).fill(12));
    expect(Array.from(detScaleOffsets([det(0, 0, 64, 48, 0.1)], grid, scale))).to.deep.equal(new Array(12).fill(12));
    expect(Array.from(detScaleOffsets([det(16, 16, 48, 32)], grid, { ...scale, slope: 0 }))).to.deep.equal(Array.from(detRoiOffsets([det(16, 16, 48, 32)], grid, roi)));
    expect(() => detScaleOffsets([], grid, { ...scale, referenceSide: 0 })).to.throw(RangeError, /positive finite reference box side/);
    expect(() => detScaleOffsets([], grid, { ...scale, slope: Number.NaN })).to.throw(RangeError, /finite QP slope/);
  });

  it('obj-jnd grades each box by its bits and its tolerance (rate-aware), within [inside, outside]', () => {
    const sq = macroblockGrid(64, 64);
    // tol = 40 + 10 * log2(detector-pixel side / 32) / 1; detector input = the frame here.
    const model = {
      features: ['bias', 'log2_side_detector_32', 'logit_score'],
      weights: [0, 1, 0], k: 1, tolerance_ref: 40, detector_size: 64, vehicle_classes: [2],
    };
    expect(objectTolerance(model, det(0, 0, 32, 32), 64, 64)).to.be.closeTo(40, 1e-9);
    expect(objectTolerance(model, det(0, 0, 64, 64), 64, 64)).to.be.closeTo(50, 1e-9);
    // The same box in a frame twice as large looks half as large to the squashed detector.
    expect(objectTolerance(model, det(0, 0, 64, 64), 128, 128)).to.be.closeTo(40, 1e-9);
    const opts = { ...roi, outside: 12, model };
    // The reference object (32 px, tolerance 40) keeps inside.
    expect(Array.from(objectJndOffsets([det(0, 0, 32, 32)], sq, opts)).filter((v) => v === -2)).to.have.length(4);
    // 64 px: 4x the area, 10 CRF more tolerance: (ln 4 + 0.1 * 10) / (0.1 + ln 2 / 6) above inside.
    const q64 = -2 + (Math.log(4) + 1) / (0.1 + Math.LN2 / 6);
    expect(objectJndOffsets([det(0, 0, 64, 64)], sq, opts)[5]).to.be.closeTo(q64, 1e-5);
    // In a 128 px frame the same box has the reference tolerance: only its area counts.
    const big = macroblockGrid(128, 128);
    expect(objectJndOffsets([det(0, 0, 64, 64)], big, opts)[0]).to.be.closeTo(-2 + Math.log(4) / (0.1 + Math.LN2 / 6), 1e-5);
    // Smaller and less tolerant than the reference: clamped to inside; pushed beyond: outside.
    expect(objectJndOffsets([det(0, 0, 16, 16)], sq, opts)[0]).to.equal(-2);
    expect(Array.from(objectJndOffsets([det(0, 0, 64, 64)], sq, { ...opts, model: { ...model, weights: [5, 1, 0] } }))).to.deep.equal(new Array(16).fill(12));
    // Scores and classes enter through their weights.
    const byScore = { ...model, weights: [0, 0, 1] };
    expect(objectTolerance(byScore, det(0, 0, 32, 32, 0.5), 64, 64)).to.be.closeTo(40, 1e-9);
    expect(objectTolerance(byScore, det(0, 0, 32, 32, 0.9), 64, 64)).to.be.closeTo(40 + 10 * Math.log(9), 1e-6);
    const vehicle = { ...model, features: ['vehicle'], weights: [2] };
    expect(objectTolerance(vehicle, { ...det(0, 0, 32, 32), cls: 2 }, 64, 64)).to.be.closeTo(60, 1e-9);
    expect(() => checkObjectJndModel({ ...model, k: 0 }, 'm.json')).to.throw(RangeError, /positive k in m\.json/);
    expect(() => checkObjectJndModel({ ...model, weights: [1] }, 'm.json')).to.throw(RangeError, /one weight each/);
    expect(() => checkObjectJndModel({ ...model, features: ['colour', 'bias', 'logit_score'] }, 'm.json')).to.throw(RangeError, /features among/);
  });

  it('handles partial macroblocks at the frame edge', () => {
    const odd = macroblockGrid(70, 40); // 5 x 3, last column 64..70 in the frame
    expect(insideAt(detRoiOffsets([det(66, 0, 70, 10)], odd, roi))).to.deep.equal([4]);
    expect(insideAt(detRoiOffsets([det(60, 30, 70, 40)], odd, roi))).to.deep.equal([8, 9, 13, 14]); // y 30..40 spans rows 1-2
  });

  it('gives all outside for no detections, boxes below minScore or without area', () => {
    const none = detRoiOffsets([], grid, roi);
    expect(Array.from(none)).to.deep.equal(new Array(12).fill(12));
    expect(insideAt(detRoiOffsets([det(0, 0, 64, 48, 0.29)], grid, roi))).to.deep.equal([]);
    expect(insideAt(detRoiOffsets([det(0, 0, 16, 16, 0.3)], grid, roi))).to.deep.equal([0]); // inclusive
    expect(insideAt(detRoiOffsets([det(20, 20, 20, 30)], grid, roi))).to.deep.equal([]); // zero width
    expect(() => detRoiOffsets([], grid, { ...roi, dilate: -1 })).to.throw(RangeError, /non-negative finite dilation/);
  });

  it('keeps the histogram when shuffled (the random control)', () => {
    const big = macroblockGrid(320, 240);
    const map = detRoiOffsets([det(30, 40, 150, 200), det(200, 10, 260, 90)], big, { ...roi, dilate: 16 });
    const shuffled = shuffledOffsets(map, 11);
    const histogram = (m: Float32Array) => ({ inside: insideAt(m).length, outside: m.length - insideAt(m).length });
    expect(histogram(shuffled)).to.deep.equal(histogram(map));
    expect(histogram(map).inside).to.be.greaterThan(50);
    expect(Array.from(shuffled)).to.not.deep.equal(Array.from(map));
  });

  describe('heat offsets', () => {
    const heat = { inside: -4, outside: 8, saturation: 0.5 };

    it('maps saliency linearly up to the saturation, monotone, with both ends exact', () => {
      // One cell per macroblock.
      const sal = { width: 4, height: 3, data: Float32Array.from([0, 0.125, 0.25, 0.5, 1, 0, 0, 0, 0, 0, 0, 0.375]) };
      const out = Array.from(detHeatOffsets(sal, grid, heat));
      expect(out.slice(0, 5)).to.deep.equal([8, 5, 2, -4, -4]); // 8 - 12 h, h = min(1, s / 0.5)
      expect(out[11]).to.equal(-1);
      for (let i = 1; i < 5; i++) expect(out[i]).to.be.at.most(out[i - 1]);
    });

    it('takes the maximum over the map cells a macroblock overlaps', () => {
      // A 2x2 map over 64x48: cells of 32 x 24 px. Macroblock row 1 (y 16..32) straddles both map rows.
      const sal = { width: 2, height: 2, data: Float32Array.from([0, 0, 0, 0.5]) };
      const out = Array.from(detHeatOffsets(sal, grid, heat));
      expect(out).to.deep.equal([8, 8, 8, 8, 8, 8, -4, -4, 8, 8, -4, -4]);
    });

    it('rejects a map of the wrong size and a non-positive saturation', () => {
      expect(() => detHeatOffsets({ width: 2, height: 2, data: new Float32Array(3) }, grid, heat)).to.throw(
        RangeError,
        /Expected 4 saliency values for 2x2 but received 3/,
      );
      expect(() => detHeatOffsets({ width: 1, height: 1, data: new Float32Array(1) }, grid, { ...heat, saturation: 0 })).to.throw(
        RangeError,
        /positive finite saliency saturation/,
      );
    });
  });

  describe('box saliency', () => {
    it('gives each cell the highest score of the boxes overlapping it', () => {
      // 16x8 frame, 4 px cells -> 4x2 map.
      const sal = boxSaliency([det(2, 0, 6, 4, 0.6), det(5, 0, 8, 8, 0.9), det(12, 4, 16, 8, 0.1)], 16, 8, { minScore: 0.3 });
      expect([sal.width, sal.height]).to.deep.equal([4, 2]);
      Array.from(sal.data).forEach((v, i) => expect(v).to.be.closeTo([0.6, 0.9, 0, 0, 0, 0.9, 0, 0][i], 1e-6));
      const coarse = boxSaliency([det(0, 0, 1, 1, 0.5)], 10, 4, { minScore: 0, cellSize: 4 }); // 3x1 map over 10 px
      expect(coarse.width).to.equal(3);
      expect(Array.from(coarse.data)).to.deep.equal([0.5, 0, 0]);
    });

    it('reproduces det-roi through det-heat for a box on macroblock edges', () => {
      const dets = [det(16, 16, 48, 32, 1)];
      const viaHeat = detHeatOffsets(boxSaliency(dets, 64, 48, { minScore: 0.3 }), grid, { inside: -2, outside: 12, saturation: 1 });
      expect(Array.from(viaHeat)).to.deep.equal(Array.from(detRoiOffsets(dets, grid, roi)));
    });
  });
});
