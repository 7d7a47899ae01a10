import { expect } from 'chai';
import { camRoiOffsets, mulberry32, shuffledOffsets } from '../../src/offsets/controls.ts';

const sorted = (values: Float32Array): number[] => Array.from(values).sort((a, b) => a - b);

describe('offsets/controls', () => {
  const offsets = Float32Array.from({ length: 200 }, (_, i) => Math.round(Math.sin(i) * 60) / 10);

  it('shuffles the same values to other positions (same multiset, so same mean and variance)', () => {
    const shuffled = shuffledOffsets(offsets, 7);
    expect(shuffled).to.not.equal(offsets);
    expect(sorted(shuffled)).to.deep.equal(sorted(offsets));
    const moved = shuffled.reduce((n, v, i) => n + (v !== offsets[i] ? 1 : 0), 0);
    expect(moved).to.be.greaterThan(150);
  });

  it('is deterministic per seed and differs between seeds', () => {
    expect(Array.from(shuffledOffsets(offsets, 42))).to.deep.equal(Array.from(shuffledOffsets(offsets, 42)));
    expect(Array.from(shuffledOffsets(offsets, 42))).to.not.deep.equal(Array.from(shuffledOffsets(offsets, 43)));
    expect(Array.from(offsets.slice(0, 3))).to.deep.equal([0, 5, 5.5]); // input untouched
    expect(shuffledOffsets(new Float32Array(0), 1).length).to.equal(0);
    expect(() => shuffledOffsets(offsets, 1.5)).to.throw(RangeError, /integer seed/);
  });

  it('draws uniform-looking numbers in [0, 1) from mulberry32', () => {
    const random = mulberry32(1);
    let sum = 0;
    let inRange = true;
    for (let i = 0; i < 10_000; i++) {
      const v = random();
      inRange &&= v >= 0 && v < 1;
      sum += v;
    }
    expect(inRange).to.equal(true);
    expect(sum / 10_000).to.be.closeTo(0.5, 0.02);
  });

  it('maps high CAM to finer (negative) offsets, monotonically, with zero mean', () => {
    const cam = Float32Array.from([0, 0.25, 0.5, 1, 0.75]);
    const out = camRoiOffsets(cam);
    // Mean CAM 0.5: offset = -6 (cam - 0.5).
    expect(Array.from(out)).to.deep.equal([3, 1.5, 0, -3, -1.5]);
    const mean = out.reduce((s, v) => s + v, 0) / out.length;
    expect(mean).to.be.closeTo(0, 1e-6);
    const byCam = Array.from(cam.keys()).sort((a, b) => cam[a] - cam[b]).map((i) => out[i]);
    for (let k = 1; k < byCam.length; k++) expect(byCam[k]).to.be.below(byCam[k - 1]);
  });

  it('is zero-mean for skewed CAMs too and spans `strength` QP between CAM 0 and 1', () => {
    const cam = Float32Array.from([0, 0, 0, 1]);
    const out = camRoiOffsets(cam, { strength: 8 });
    expect(out.reduce((s, v) => s + v, 0)).to.be.closeTo(0, 1e-6);
    expect(out[0] - out[3]).to.be.closeTo(8, 1e-6);
    expect(Array.from(camRoiOffsets(cam, { meanZero: false }))).to.deep.equal([3, 3, 3, -3]);
  });

  it('rejects CAMs outside [0, 1] and bad strengths', () => {
    expect(() => camRoiOffsets(Float32Array.from([0, 255]))).to.throw(RangeError, /CAM values in \[0, 1\] but received 255 at macroblock 1/);
    expect(() => camRoiOffsets(Float32Array.from([Number.NaN]))).to.throw(RangeError);
    expect(() => camRoiOffsets(Float32Array.from([0.5]), { strength: -1 })).to.throw(/strength/);
    expect(Array.from(camRoiOffsets(Float32Array.from([1 + 1e-7])))).to.deep.equal([0]);
  });
});
