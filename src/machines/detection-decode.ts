/**
 * Decoders from raw detector outputs to Detection[] in frame pixels: CenterNet (class
 * heatmaps + box extents, peaks by 3x3 max test, no NMS) and Ultralytics YOLO ONNX exports
 * (v8/v11 [1, 4+C, N], v5 [1, N, 5+C]; letterboxed input, class-aware NMS). Pure functions
 * on typed arrays; the adapters that run the sessions live elsewhere.
 */
import { DmvjndError } from '../errors.ts';
import { iou } from '../metrics/detection.ts';
import type { Detection, SaliencyMap } from './types.ts';

/** Shape of CenterNet's outputs without the batch: heatmap [classes, height, width], wh [4, height, width]. */
export interface HeatmapDims {
  classes: number;
  height: number;
  width: number;
}

export interface CenternetOptions {
  /** Network input size in pixels (the frame is squashed to it, no letterbox). */
  inputWidth: number;
  inputHeight: number;
  frameWidth: number;
  frameHeight: number;
  /** Lowest peak score kept (inclusive). */
  floor: number;
  /** Keep at most this many detections, highest scores first. Default 100 (the graph's TopK). */
  maxDetections?: number;
}

export const CENTERNET_MAX_DETECTIONS = 100;

function checkPositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`Expected a positive integer ${what} but received ${value}`);
}

function checkFloor(floor: number): void {
  if (!Number.isFinite(floor)) throw new RangeError(`Expected a finite score floor but received ${floor}`);
}

function checkMaxDetections(max: number): void {
  if (!Number.isInteger(max) || max < 0) {
    throw new RangeError(`Expected a non-negative integer maxDetections but received ${max}`);
  }
}

function checkHeatmapDims(heatmap: Float32Array, dims: HeatmapDims): number {
  checkPositiveInteger(dims.classes, 'heatmap class count');
  checkPositiveInteger(dims.height, 'heatmap height');
  checkPositiveInteger(dims.width, 'heatmap width');
  const plane = dims.height * dims.width;
  if (heatmap.length !== dims.classes * plane) {
    throw new RangeError(
      `Expected ${dims.classes * plane} heatmap values for ${dims.classes}x${dims.height}x${dims.width} but received ${heatmap.length}`,
    );
  }
  return plane;
}

const clip = (v: number, max: number): number => Math.min(max, Math.max(0, v));

/** Highest scores first, ties in input order; at most `max`. */
function topByScore(dets: Detection[], max: number): Detection[] {
  const order = dets.map((_, i) => i).sort((a, b) => dets[b].score - dets[a].score || a - b);
  return order.slice(0, max).map((i) => dets[i]);
}

/**
 * CenterNet peaks to boxes. A peak is a heatmap value >= floor that equals the maximum of
 * its 3x3 neighbourhood in its class channel (CenterNet's max-pool test; cells outside the
 * grid do not count, and equal neighbours are both peaks, as `hmax == heat` keeps them).
 * At peak (r, c): cx = strideX * c, cy = strideY * r (stride = input / grid, 4 for the
 * bundled model; no +0.5, see NOTES), x1 = cx - wh0, y1 = cy - wh1, x2 = cx + wh2,
 * y2 = cy + wh3 in input pixels; then scaled to the frame and clipped to it. Should the
 * network give negative extents, the corners are reordered so that x1 <= x2, y1 <= y2.
 */
export function centernetDetections(
  heatmap: Float32Array,
  wh: Float32Array,
  dims: HeatmapDims,
  opts: CenternetOptions,
): Detection[] {
  const plane = checkHeatmapDims(heatmap, dims);
  if (wh.length !== 4 * plane) {
    throw new RangeError(`Expected ${4 * plane} wh values for 4x${dims.height}x${dims.width} but received ${wh.length}`);
  }
  checkPositiveInteger(opts.inputWidth, 'input width');
  checkPositiveInteger(opts.inputHeight, 'input height');
  checkPositiveInteger(opts.frameWidth, 'frame width');
  checkPositiveInteger(opts.frameHeight, 'frame height');
  checkFloor(opts.floor);
  const maxDetections = opts.maxDetections ?? CENTERNET_MAX_DETECTIONS;
  checkMaxDetections(maxDetections);

  const { classes, height: H, width: W } = dims;
  const strideX = opts.inputWidth / W;
  const strideY = opts.inputHeight / H;
  const sx = opts.frameWidth / opts.inputWidth;
  const sy = opts.frameHeight / opts.inputHeight;
  const peaks: Detection[] = [];
  for (let k = 0; k < classes; k++) {
    const base = k * plane;
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const v = heatmap[base + r * W + c];
        if (!(v >= opts.floor) || !isLocalMax(heatmap, base, W, H, r, c, v)) continue;
        const cell = r * W + c;
        const cx = strideX * c;
        const cy = strideY * r;
        const left = (cx - wh[cell]) * sx;
        const top = (cy - wh[plane + cell]) * sy;
        const right = (cx + wh[2 * plane + cell]) * sx;
        const bottom = (cy + wh[3 * plane + cell]) * sy;
        peaks.push({
          cls: k,
          score: v,
          box: {
            x1: clip(Math.min(left, right), opts.frameWidth),
            y1: clip(Math.min(top, bottom), opts.frameHeight),
            x2: clip(Math.max(left, right), opts.frameWidth),
            y2: clip(Math.max(top, bottom), opts.frameHeight),
          },
        });
      }
    }
  }
  return topByScore(peaks, maxDetections);
}

function isLocalMax(map: Float32Array, base: number, W: number, H: number, r: number, c: number, v: number): boolean {
  for (let rr = Math.max(0, r - 1); rr <= Math.min(H - 1, r + 1); rr++) {
    for (let cc = Math.max(0, c - 1); cc <= Math.min(W - 1, c + 1); cc++) {
      if (map[base + rr * W + cc] > v) return false;
    }
  }
  return true;
}

/** Per cell, the maximum over the class channels, clamped to [0, 1]: where the detector sees any object. */
export function classMaxHeatmap(heatmap: Float32Array, dims: HeatmapDims): SaliencyMap {
  const plane = checkHeatmapDims(heatmap, dims);
  const data = new Float32Array(plane).fill(Number.NEGATIVE_INFINITY);
  for (let k = 0; k < dims.classes; k++) {
    const base = k * plane;
    for (let i = 0; i < plane; i++) if (heatmap[base + i] > data[i]) data[i] = heatmap[base + i];
  }
  for (let i = 0; i < plane; i++) data[i] = Math.min(1, Math.max(0, data[i]));
  return { width: dims.width, height: dims.height, data };
}

/**
 * Greedy non-maximum suppression: by descending score (ties in input order), keep a
 * detection unless it overlaps an already kept one (of the same class when classAware)
 * with IoU > iouThreshold. Returns the kept detections, highest score first.
 */
export function nms(dets: readonly Detection[], iouThreshold: number, classAware = true): Detection[] {
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) {
    throw new RangeError(`Expected an NMS IoU threshold in [0, 1] but received ${iouThreshold}`);
  }
  const order = dets.map((_, i) => i).sort((a, b) => dets[b].score - dets[a].score || a - b);
  const kept: Detection[] = [];
  for (const i of order) {
    const d = dets[i];
    let suppressed = false;
    for (const k of kept) {
      if ((!classAware || k.cls === d.cls) && iou(k.box, d.box) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(d);
  }
  return kept;
}

/** Where the frame lies in a letterboxed network input. */
export interface Letterbox {
  /** Frame pixels -> input pixels. */
  scale: number;
  /** Left and top padding in input pixels (right/bottom get the rest). */
  padX: number;
  padY: number;
  /** Size of the resized frame inside the input. */
  newW: number;
  newH: number;
}

/** Ultralytics' letterbox fill (grey 114 on 0..255) for the padding. */
export const LETTERBOX_PAD_VALUE = 114;

/** Python's round(): halves to even, so the sizes match Ultralytics' to the pixel. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return (Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0; // + 0: round(-0.1) is -0
}

/**
 * Ultralytics' LetterBox (auto=False, scaleup=True, center=True): scale = min(inW/w, inH/h),
 * resized to round(w * scale) x round(h * scale), padding split evenly with the odd pixel
 * at the right/bottom (left = round(dw / 2 - 0.1)).
 */
export function letterbox(frameW: number, frameH: number, inputW: number, inputH: number): Letterbox {
  checkPositiveInteger(frameW, 'frame width');
  checkPositiveInteger(frameH, 'frame height');
  checkPositiveInteger(inputW, 'input width');
  checkPositiveInteger(inputH, 'input height');
  const scale = Math.min(inputW / frameW, inputH / frameH);
  const newW = roundHalfEven(frameW * scale);
  const newH = roundHalfEven(frameH * scale);
  const padX = roundHalfEven((inputW - newW) / 2 - 0.1);
  const padY = roundHalfEven((inputH - newH) / 2 - 0.1);
  return { scale, padX, padY, newW, newH };
}

export type YoloLayout = 'v8' | 'v5';

function shapeText(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/**
 * Which Ultralytics layout an output has: v8/v11 [1, 4+C, N] (rows first: fewer rows than
 * anchors) or v5 [1, N, 5+C]. With `classes`, the row/column count must also fit it.
 * Throws a DmvjndError ('load model') naming `file` when it is neither, e.g. a classifier's [1, 1000].
 */
export function detectYoloLayout(dims: readonly number[], file?: string, classes?: number): YoloLayout {
  if (classes !== undefined) checkPositiveInteger(classes, 'YOLO class count');
  let layout: YoloLayout | null = null;
  if (dims.length === 3 && dims[0] === 1 && dims.every((d) => Number.isInteger(d) && d > 0)) {
    if (dims[1] < dims[2] && dims[1] >= 5) layout = 'v8';
    else if (dims[2] >= 6 && dims[1] > dims[2]) layout = 'v5';
  }
  if (layout !== null && classes !== undefined) {
    const fits = layout === 'v8' ? dims[1] === 4 + classes : dims[2] === 5 + classes;
    if (!fits) {
      throw new DmvjndError(
        'load model',
        file,
        `expected a YOLO output of shape [1, ${4 + classes}, N] (v8/v11) or [1, N, ${5 + classes}] (v5) for ${classes} classes but received ${shapeText(dims)}`,
      );
    }
  }
  if (layout === null) {
    throw new DmvjndError(
      'load model',
      file,
      `expected a YOLO output of shape [1, 4+C, N] (v8/v11) or [1, N, 5+C] (v5) but received ${shapeText(dims)}`,
    );
  }
  return layout;
}

export interface YoloOptions {
  /** Default 'auto' (detectYoloLayout). */
  layout?: YoloLayout | 'auto';
  /** Class count; checked against the shape when given. */
  classes?: number;
  /** How the frame was placed in the input (letterbox()). */
  letterbox: Letterbox;
  frameWidth: number;
  frameHeight: number;
  /** Lowest score kept (inclusive): the best class score (v8) or objectness x class probability (v5). */
  floor: number;
  /** Class-aware NMS IoU. Default: 0.7 for v8/v11 (Ultralytics predict), 0.45 for v5 (yolov5 detect.py). */
  nmsIou?: number;
  /** Default 300 (Ultralytics max_det). */
  maxDetections?: number;
  /** Model file, for the error message. */
  file?: string;
}

export const YOLO_NMS_IOU: Readonly<Record<YoloLayout, number>> = Object.freeze({ v8: 0.7, v5: 0.45 });
export const YOLO_MAX_DETECTIONS = 300;
/** Ultralytics' max_nms: candidates beyond the best 30000 never reach the NMS. */
const YOLO_MAX_NMS = 30_000;

/**
 * Ultralytics YOLO output to detections in frame pixels: one class per anchor (the best,
 * as multi_label=False), score >= floor, boxes (cx, cy, w, h in input pixels) moved out
 * of the letterbox, class-aware NMS, top maxDetections, then clipped to the frame
 * (Ultralytics also runs the NMS before clipping).
 */
export function yoloDetections(output: Float32Array, dims: readonly number[], opts: YoloOptions): Detection[] {
  // The two layouts' shape rules exclude each other, so an explicit layout only asserts.
  const layout = detectYoloLayout(dims, opts.file, opts.classes);
  if (opts.layout !== undefined && opts.layout !== 'auto' && opts.layout !== layout) {
    throw new DmvjndError(
      'load model',
      opts.file,
      `expected a YOLO ${opts.layout} output of shape ${opts.layout === 'v8' ? '[1, 4+C, N]' : '[1, N, 5+C]'} but received ${shapeText(dims)}`,
    );
  }
  const expected = dims[1] * dims[2];
  if (output.length !== expected) {
    throw new RangeError(`Expected ${expected} YOLO output values for ${shapeText(dims)} but received ${output.length}`);
  }
  checkPositiveInteger(opts.frameWidth, 'frame width');
  checkPositiveInteger(opts.frameHeight, 'frame height');
  checkFloor(opts.floor);
  const { scale, padX, padY } = opts.letterbox;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`Expected a positive letterbox scale but received ${scale}`);
  const nmsIou = opts.nmsIou ?? YOLO_NMS_IOU[layout];
  const maxDetections = opts.maxDetections ?? YOLO_MAX_DETECTIONS;
  checkMaxDetections(maxDetections);

  const candidates: Detection[] = [];
  const push = (cx: number, cy: number, w: number, h: number, cls: number, score: number): void => {
    const halfW = Math.abs(w) / 2;
    const halfH = Math.abs(h) / 2;
    candidates.push({
      cls,
      score,
      box: {
        x1: (cx - halfW - padX) / scale,
        y1: (cy - halfH - padY) / scale,
        x2: (cx + halfW - padX) / scale,
        y2: (cy + halfH - padY) / scale,
      },
    });
  };
  if (layout === 'v8') {
    const N = dims[2];
    const C = dims[1] - 4;
    for (let i = 0; i < N; i++) {
      let best = 0;
      let bestScore = output[4 * N + i];
      for (let k = 1; k < C; k++) {
        const s = output[(4 + k) * N + i];
        if (s > bestScore) {
          bestScore = s;
          best = k;
        }
      }
      if (bestScore >= opts.floor) push(output[i], output[N + i], output[2 * N + i], output[3 * N + i], best, bestScore);
    }
  } else {
    const N = dims[1];
    const row = dims[2];
    const C = row - 5;
    for (let i = 0; i < N; i++) {
      const base = i * row;
      const objectness = output[base + 4];
      if (!(objectness >= opts.floor)) continue; // obj * cls <= obj: cannot reach the floor
      let best = 0;
      let bestProb = output[base + 5];
      for (let k = 1; k < C; k++) {
        if (output[base + 5 + k] > bestProb) {
          bestProb = output[base + 5 + k];
          best = k;
        }
      }
      const score = objectness * bestProb;
      if (score >= opts.floor) push(output[base], output[base + 1], output[base + 2], output[base + 3], best, score);
    }
  }
  const kept = nms(topByScore(candidates, YOLO_MAX_NMS), nmsIou, true).slice(0, maxDetections);
  return kept.map((d) => ({
    cls: d.cls,
    score: d.score,
    box: {
      x1: clip(d.box.x1, opts.frameWidth),
      y1: clip(d.box.y1, opts.frameHeight),
      x2: clip(d.box.x2, opts.frameWidth),
      y2: clip(d.box.y2, opts.frameHeight),
    },
  }));
}
