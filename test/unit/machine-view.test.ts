import { expect } from 'chai';
import { cropWindows, normaliseRgb, viewSizeFor, windowGrid } from '../../src/analysis/machine-view.ts';
import { CIFAR_NORMALISATION } from '../../src/inference/models.ts';

describe('analysis/machine-view', () => {
  it('sizes the view by its short side, keeps the aspect, snaps to multiples of 8', () => {
    expect(viewSizeFor(1280, 720, 128)).to.deep.equal({ width: 224, height: 128 });
    expect(viewSizeFor(720, 1280, 128)).to.deep.equal({ width: 128, height: 224 });
    expect(viewSizeFor(640, 480, 96)).to.deep.equal({ width: 128, height: 96 });
    expect(viewSizeFor(100, 2000, 32)).to.deep.equal({ width: 32, height: 640 });
    expect(() => viewSizeFor(640, 480, 16)).to.throw(/--view >= 32/);
  });

  it('centres a grid of 32x32 windows', () => {
    expect(windowGrid({ width: 224, height: 128 })).to.deep.equal({ cols: 7, rows: 4, x0: 0, y0: 0, count: 28 });
    expect(windowGrid({ width: 232, height: 136 })).to.deep.equal({ cols: 7, rows: 4, x0: 4, y0: 4, count: 28 });
  });

  it('normalises packed RGB to NCHW with the CIFAR rule x = pixel/127.5 - 1', () => {
    const rgb = Uint8Array.from([0, 128, 255, 255, 0, 51]);
    const x = normaliseRgb(rgb, { width: 2, height: 1 }, CIFAR_NORMALISATION);
    expect([...x].map((v) => +v.toFixed(4))).to.deep.equal([-1, 1, 0.0039, -1, 1, -0.6]);
  });

  it('crops windows channel by channel in row-major window order', () => {
    const view = { width: 64, height: 32 };
    const n = view.width * view.height;
    const x = new Float32Array(3 * n);
    for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) x[c * n + i] = c * 10000 + i;
    const batch = cropWindows(x, view, windowGrid(view));
    expect(batch.length).to.equal(2 * 3 * 32 * 32);
    // window 1, channel 2, row 3, col 5 = view pixel (x 32+5, y 3)
    expect(batch[(1 * 3 + 2) * 1024 + 3 * 32 + 5]).to.equal(2 * 10000 + 3 * 64 + 37);
  });
});
