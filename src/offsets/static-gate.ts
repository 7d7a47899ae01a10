/**
 * Has anything moved since the last analysed frame? A coarse luma thumbnail of each due
 * frame, compared block by block with the thumbnail of the last analysed one: the largest
 * block's mean absolute difference. A small moving object (a car on a highway) moves its
 * block even when the frame's mean barely changes; sensor noise and grain average out.
 */
export const THUMB_WIDTH = 64;
export const THUMB_HEIGHT = 36;
const BLOCK_W = 8;
const BLOCK_H = 6;
/** A block whose mean |difference| (0-255) reaches this counts as a change. */
export const STATIC_BLOCK_CHANGE = 3;

/** Nearest-neighbour THUMB_WIDTH x THUMB_HEIGHT sample of a luma plane (row stride `linesize`). */
export function lumaThumbnail(plane: Uint8Array, linesize: number, width: number, height: number): Uint8Array {
  if (!(width > 0 && height > 0 && linesize >= width && plane.length >= linesize * (height - 1) + width)) {
    throw new RangeError(`Expected a luma plane of at least ${width}x${height} with row stride >= ${width} but received ${plane.length} bytes at stride ${linesize}`);
  }
  const out = new Uint8Array(THUMB_WIDTH * THUMB_HEIGHT);
  for (let y = 0; y < THUMB_HEIGHT; y++) {
    const row = Math.min(height - 1, Math.floor(((y + 0.5) * height) / THUMB_HEIGHT)) * linesize;
    for (let x = 0; x < THUMB_WIDTH; x++) out[y * THUMB_WIDTH + x] = plane[row + Math.min(width - 1, Math.floor(((x + 0.5) * width) / THUMB_WIDTH))];
  }
  return out;
}

/** The largest mean absolute difference over the thumbnails' 8x6-pixel blocks. */
export function maxBlockChange(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== THUMB_WIDTH * THUMB_HEIGHT || b.length !== a.length) {
    throw new RangeError(`Expected two ${THUMB_WIDTH}x${THUMB_HEIGHT} thumbnails but received ${a.length} and ${b.length} values`);
  }
  let max = 0;
  for (let by = 0; by < THUMB_HEIGHT; by += BLOCK_H) {
    for (let bx = 0; bx < THUMB_WIDTH; bx += BLOCK_W) {
      let s = 0;
      for (let y = by; y < by + BLOCK_H; y++) for (let x = bx; x < bx + BLOCK_W; x++) s += Math.abs(a[y * THUMB_WIDTH + x] - b[y * THUMB_WIDTH + x]);
      max = Math.max(max, s / (BLOCK_W * BLOCK_H));
    }
  }
  return max;
}
