import { expect } from 'chai';
import {
  BACKGROUND_WEIGHTS,
  GRADIENT_OPERATORS,
  hvsJnd,
  luminanceAdaptation,
  nammCombine,
} from '../../src/offsets/hvs-jnd.ts';

const flat = (width: number, height: number, value: number): Uint8Array => new Uint8Array(width * height).fill(value);

describe('offsets/hvs-jnd', () => {
  it('follows the Chou-Li luminance adaptation curve', () => {
    expect(luminanceAdaptation(127)).to.equal(3);
    expect(luminanceAdaptation(0)).to.equal(20);
    expect(luminanceAdaptation(255)).to.equal(6);
    expect(luminanceAdaptation(127 / 4)).to.be.closeTo(17 * 0.5 + 3, 1e-12);
  });

  it('combines the masking effects with the NAMM overlap', () => {
    expect(nammCombine(3, 10)).to.be.closeTo(3 + 10 - 0.9, 1e-12);
    expect(nammCombine(10, 3, 0)).to.equal(13);
  });

  it('gives a flat mid-grey region the luminance term only: 3 at bg 127', () => {
    const jnd = hvsJnd(flat(12, 9, 127), 12, 9);
    expect(jnd.length).to.equal(108);
    for (const v of jnd) expect(v).to.be.closeTo(3, 1e-6);
  });

  it('gives a dark flat region a bigger JND than a mid-grey one (20 at black)', () => {
    const dark = hvsJnd(flat(8, 8, 0), 8, 8);
    const grey = hvsJnd(flat(8, 8, 127), 8, 8);
    expect(dark[27]).to.be.closeTo(20, 1e-6);
    expect(dark[27]).to.be.greaterThan(grey[27]);
  });

  it('matches a hand-computed value beside a vertical edge (100 | 150)', () => {
    // Pixel in the last dark column x = 4 of a 10x10 image, dark for x < 5.
    // Background: kernel columns (weights 5, 8, 6 dark; 8, 5 bright) -> (100*19 + 150*13) / 32.
    // Gradient: G4 gives |16*100 - 16*150| / 16 = 50 (the largest of the four) -> T = 0.117 * 50.
    const width = 10;
    const plane = new Uint8Array(100);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) plane[y * width + x] = x < 5 ? 100 : 150;
    const jnd = hvsJnd(plane, 10, 10);
    const bg = (100 * 19 + 150 * 13) / 32;
    const luminance = 17 * (1 - Math.sqrt(bg / 127)) + 3;
    const texture = 0.117 * 50;
    expect(jnd[5 * width + 4]).to.be.closeTo(luminance + texture - 0.3 * Math.min(luminance, texture), 1e-5);
  });

  it('gives a textured region a bigger JND than a flat one of the same mean', () => {
    const width = 16;
    const textured = new Uint8Array(width * width);
    for (let y = 0; y < width; y++) for (let x = 0; x < width; x++) textured[y * width + x] = (x >> 1) % 2 ? 167 : 87;
    const a = hvsJnd(textured, width, width);
    const b = hvsJnd(flat(width, width, 127), width, width);
    const mean = (v: Float32Array): number => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(a)).to.be.greaterThan(mean(b) + 3);
  });

  it('reads rows through the stride and ignores the padding bytes', () => {
    const width = 6;
    const height = 5;
    const stride = 9;
    const padded = new Uint8Array(stride * height).fill(255); // padding would raise the JND if read
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) padded[y * stride + x] = 127;
    const jnd = hvsJnd(padded, width, height, stride);
    for (const v of jnd) expect(v).to.be.closeTo(3, 1e-6);
  });

  it('agrees with a plain convolution by the published Chou-Li tables on a random image', () => {
    const width = 13;
    const height = 11;
    let state = 12345;
    const plane = new Uint8Array(width * height).map(() => (state = (state * 1103515245 + 12345) >>> 0) >>> 24);
    const at = (x: number, y: number): number =>
      plane[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))];
    const convolve = (kernel: readonly (readonly number[])[], x: number, y: number): number => {
      let sum = 0;
      for (let j = 0; j < 5; j++) for (let i = 0; i < 5; i++) sum += kernel[j][i] * at(x - 2 + i, y - 2 + j);
      return sum;
    };
    const jnd = hvsJnd(plane, width, height);
    let worst = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bg = convolve(BACKGROUND_WEIGHTS, x, y) / 32;
        const mg = Math.max(...GRADIENT_OPERATORS.map((g) => Math.abs(convolve(g, x, y) / 16)));
        const expected = nammCombine(luminanceAdaptation(bg), 0.117 * mg);
        worst = Math.max(worst, Math.abs(jnd[y * width + x] - expected));
      }
    }
    expect(worst).to.be.below(1e-4);
  });

  it('rejects a plane that is too small and bad sizes', () => {
    expect(() => hvsJnd(new Uint8Array(10), 4, 4)).to.throw(RangeError, /Expected at least 16 bytes for a 4x4 plane/);
    expect(() => hvsJnd(new Uint8Array(16), 4, 4, 3)).to.throw(RangeError, /stride >= width/);
    expect(() => hvsJnd(new Uint8Array(16), 0, 4)).to.throw(RangeError, /positive integer plane size/);
  });
});
