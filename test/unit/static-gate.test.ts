import { expect } from 'chai';
import { THUMB_HEIGHT, THUMB_WIDTH, lumaThumbnail, maxBlockChange } from '../../src/offsets/static-gate.ts';

describe('offsets/static-gate', () => {
  it('samples a luma plane (with row padding) to the thumbnail', () => {
    const width = 128;
    const height = 72;
    const linesize = 160; // padded rows
    const plane = new Uint8Array(linesize * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) plane[y * linesize + x] = x < 64 ? 10 : 200;
    const t = lumaThumbnail(plane, linesize, width, height);
    expect(t).to.have.length(THUMB_WIDTH * THUMB_HEIGHT);
    expect(t[0]).to.equal(10);
    expect(t[THUMB_WIDTH - 1]).to.equal(200);
    expect(t[31]).to.equal(10); // pixel 2 * 31 + 1 = 63
    expect(t[32]).to.equal(200); // pixel 65
    expect(() => lumaThumbnail(plane, 100, width, height)).to.throw(RangeError, /row stride >= 128/);
  });

  it('reports the largest block change, so a small moving object counts and uniform noise does not', () => {
    const a = new Uint8Array(THUMB_WIDTH * THUMB_HEIGHT).fill(100);
    expect(maxBlockChange(a, a)).to.equal(0);
    // One 8x6 block changes by 30: its mean |diff| is 30 although the frame mean moves by 30/48.
    const b = Uint8Array.from(a);
    for (let y = 0; y < 6; y++) for (let x = 8; x < 16; x++) b[y * THUMB_WIDTH + x] = 130;
    expect(maxBlockChange(a, b)).to.equal(30);
    // +-2 everywhere (noise): every block's mean |diff| is 2.
    const c = a.map((v, i) => v + (i % 2 ? 2 : -2));
    expect(maxBlockChange(a, c)).to.equal(2);
    expect(() => maxBlockChange(a, new Uint8Array(3))).to.throw(RangeError, /two 64x36 thumbnails/);
  });
});
