/**
 * The machine view: how a CIFAR-trained classifier sees a video frame. Classifiers
 * trained on 32x32 images see the frame through a downscaled copy of it (short side =
 * `view` px, both sides multiples of the generator's stride 8), and make
 *   - one global decision (fully convolutional: global average pooling over the view),
 *   - regional decisions on a centred grid of 32x32 windows of the view (the scale
 *     they were trained at).
 * Pure helpers; the adapter that scales a decoded frame to the view is frame-scaler.ts.
 */
import type { InputNormalisation } from '../inference/models.ts';

export const WINDOW = 32;
export const VIEW_STRIDE = 8;

export interface ViewSize {
  width: number;
  height: number;
}

/** View size for a frame: short side ~ `shortSide`, aspect kept, multiples of 8, >= 32. */
export function viewSizeFor(frameWidth: number, frameHeight: number, shortSide: number): ViewSize {
  if (!(shortSide >= WINDOW)) throw new RangeError(`Expected --view >= ${WINDOW} px but received ${shortSide}`);
  const scale = shortSide / Math.min(frameWidth, frameHeight);
  const snap = (v: number) => Math.max(WINDOW, Math.round((v * scale) / VIEW_STRIDE) * VIEW_STRIDE);
  return { width: snap(frameWidth), height: snap(frameHeight) };
}

export interface WindowGrid {
  cols: number;
  rows: number;
  /** Top-left of the grid in view pixels (the grid is centred). */
  x0: number;
  y0: number;
  count: number;
}

export function windowGrid(view: ViewSize): WindowGrid {
  const cols = Math.floor(view.width / WINDOW);
  const rows = Math.floor(view.height / WINDOW);
  return {
    cols,
    rows,
    x0: Math.floor((view.width - cols * WINDOW) / 2),
    y0: Math.floor((view.height - rows * WINDOW) / 2),
    count: cols * rows,
  };
}

/** Packed RGB (HWC, uint8) -> normalised float NCHW [1,3,h,w]. */
export function normaliseRgb(rgb: Uint8Array, view: ViewSize, norm: InputNormalisation): Float32Array {
  const n = view.width * view.height;
  if (rgb.length < n * 3) throw new RangeError(`Expected ${n * 3} RGB bytes for a ${view.width}x${view.height} view but received ${rgb.length}`);
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * norm.std[c]);
    const shift = norm.mean[c] / norm.std[c];
    const plane = c * n;
    for (let i = 0; i < n; i++) out[plane + i] = rgb[3 * i + c] * scale - shift;
  }
  return out;
}

/** Cut the window grid out of a [1,3,h,w] tensor into a [count,3,32,32] batch. */
export function cropWindows(x: Float32Array, view: ViewSize, grid: WindowGrid): Float32Array {
  const n = view.width * view.height;
  const win = WINDOW * WINDOW;
  const out = new Float32Array(grid.count * 3 * win);
  for (let r = 0; r < grid.rows; r++) {
    for (let col = 0; col < grid.cols; col++) {
      const k = r * grid.cols + col;
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < WINDOW; y++) {
          const src = c * n + (grid.y0 + r * WINDOW + y) * view.width + grid.x0 + col * WINDOW;
          out.set(x.subarray(src, src + WINDOW), (k * 3 + c) * win + y * WINDOW);
        }
      }
    }
  }
  return out;
}
