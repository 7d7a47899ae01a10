import type { Frame } from 'node-av/lib';

/** Sum of squared differences of the luma planes of two same-size yuv420p frames. */
export function lumaSquaredError(a: Frame, b: Frame): { sse: number; count: number } {
  const w = a.width;
  const h = a.height;
  const [pa] = a.data ?? [];
  const [pb] = b.data ?? [];
  if (!pa || !pb) throw new Error('frames have no pixel data');
  const la = a.linesize[0];
  const lb = b.linesize[0];
  let sse = 0;
  for (let y = 0; y < h; y++) {
    const ra = y * la;
    const rb = y * lb;
    for (let x = 0; x < w; x++) {
      const d = pa[ra + x] - pb[rb + x];
      sse += d * d;
    }
  }
  return { sse, count: w * h };
}

/** PSNR in dB over accumulated squared error (8-bit peak 255); Infinity when identical. */
export function psnrFromSse(sse: number, count: number): number {
  if (count === 0) return Number.NaN;
  const mse = sse / count;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}
