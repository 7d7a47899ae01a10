/**
 * The H.264 macroblock grid of a frame and the ROI side data that carries per-MB QP
 * offsets into FFmpeg's libx264 wrapper. Pure functions: no native calls here.
 */
export const MB_SIZE = 16;

/** Bytes per AVRegionOfInterest: u32 self_size; i32 top, bottom, left, right; AVRational qoffset. */
export const ROI_REGION_BYTES = 28;

/**
 * libx264's wrapper scales qoffset by 51 (the 8-bit QP range) and clips it to [-1, 1],
 * so a QP delta d is carried as d * 1000 / 51000.
 */
const QOFFSET_DEN = 51_000;
export const MAX_ABS_QP_OFFSET = 51;

export interface MacroblockGrid {
  readonly width: number;
  readonly height: number;
  /** Macroblock columns: ceil(width / 16). */
  readonly cols: number;
  /** Macroblock rows: ceil(height / 16). */
  readonly rows: number;
  /** cols * rows. */
  readonly count: number;
}

export function macroblockGrid(width: number, height: number): MacroblockGrid {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`Expected positive integer frame size but received ${width}x${height}`);
  }
  const cols = Math.ceil(width / MB_SIZE);
  const rows = Math.ceil(height / MB_SIZE);
  return { width, height, cols, rows, count: cols * rows };
}

/** Round a QP delta to what the ROI path can carry (1/1000 QP steps, |d| <= 51). */
export function quantiseQpDelta(delta: number): number {
  if (!Number.isFinite(delta)) throw new RangeError(`Expected a finite QP offset but received ${delta}`);
  const clamped = Math.max(-MAX_ABS_QP_OFFSET, Math.min(MAX_ABS_QP_OFFSET, delta));
  return Math.round(clamped * 1000);
}

/**
 * Encode a per-MB offset map (row-major, grid.count entries) as ROI side data.
 * Horizontally adjacent macroblocks with the same offset are merged into one region,
 * which keeps the list short on smooth maps; regions never overlap, so the wrapper's
 * "first region wins" rule never matters. Zero offsets are emitted too: an all-zero
 * map must behave exactly like no map, and tests check that it does.
 */
export function roiSideData(offsets: Float32Array, grid: MacroblockGrid): Buffer {
  if (offsets.length !== grid.count) {
    throw new RangeError(
      `Expected ${grid.count} QP offsets for a ${grid.cols}x${grid.rows} macroblock grid but received ${offsets.length}`,
    );
  }
  const runs: number[] = []; // flat [row, colStart, colEnd, milliQp]
  for (let row = 0; row < grid.rows; row++) {
    let start = 0;
    let current = quantiseQpDelta(offsets[row * grid.cols]);
    for (let col = 1; col <= grid.cols; col++) {
      const value = col < grid.cols ? quantiseQpDelta(offsets[row * grid.cols + col]) : Number.NaN;
      if (value !== current) {
        runs.push(row, start, col, current);
        start = col;
        current = value;
      }
    }
  }
  const regionCount = runs.length / 4;
  const buf = Buffer.alloc(regionCount * ROI_REGION_BYTES);
  for (let i = 0; i < regionCount; i++) {
    const [row, colStart, colEnd, milliQp] = [runs[4 * i], runs[4 * i + 1], runs[4 * i + 2], runs[4 * i + 3]];
    writeRegion(buf, i * ROI_REGION_BYTES, {
      top: row * MB_SIZE,
      bottom: Math.min(grid.height, (row + 1) * MB_SIZE),
      left: colStart * MB_SIZE,
      right: Math.min(grid.width, colEnd * MB_SIZE),
      milliQp,
    });
  }
  return buf;
}

interface Region {
  top: number;
  bottom: number;
  left: number;
  right: number;
  milliQp: number;
}

function writeRegion(buf: Buffer, offset: number, r: Region): void {
  buf.writeUInt32LE(ROI_REGION_BYTES, offset);
  buf.writeInt32LE(r.top, offset + 4);
  buf.writeInt32LE(r.bottom, offset + 8);
  buf.writeInt32LE(r.left, offset + 12);
  buf.writeInt32LE(r.right, offset + 16);
  buf.writeInt32LE(r.milliQp, offset + 20);
  buf.writeInt32LE(QOFFSET_DEN, offset + 24);
}

/** Decode ROI side data back into a per-MB offset map (for tests and debugging). */
export function offsetsFromRoiSideData(buf: Buffer, grid: MacroblockGrid): Float32Array {
  const out = new Float32Array(grid.count);
  const filled = new Uint8Array(grid.count);
  for (let off = 0; off + ROI_REGION_BYTES <= buf.length; off += ROI_REGION_BYTES) {
    const top = buf.readInt32LE(off + 4);
    const bottom = buf.readInt32LE(off + 8);
    const left = buf.readInt32LE(off + 12);
    const right = buf.readInt32LE(off + 16);
    const q = (buf.readInt32LE(off + 20) / buf.readInt32LE(off + 24)) * MAX_ABS_QP_OFFSET;
    const r0 = Math.floor(top / MB_SIZE);
    const r1 = Math.ceil(bottom / MB_SIZE);
    const c0 = Math.floor(left / MB_SIZE);
    const c1 = Math.ceil(right / MB_SIZE);
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const i = r * grid.cols + c;
        if (!filled[i]) {
          out[i] = q; // first region wins, as in libx264's wrapper
          filled[i] = 1;
        }
      }
    }
  }
  return out;
}
