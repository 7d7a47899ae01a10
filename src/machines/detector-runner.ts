/**
 * The detectors' sessions: packed RGB at the network's input size -> detections in frame
 * pixels (+ a class-max heatmap where the network has one). No node-av here, so the
 * analysis worker can load it (frames are scaled on the main thread).
 *
 *   centernet  models/detectors/centernet.onnx: image [1,3,H,W] RGB 0..255 (the frame
 *              squashed to H x W) -> heatmap [1,80,H/4,W/4], wh [1,4,H/4,W/4]
 *   nanodet    models/detectors/nanodet.onnx: image [1,3,H,W] RGB 0..255 -> scores [1,N,80],
 *              boxes [1,N,4] (x1,y1,x2,y2 input pixels), class-wise NMS here
 *   yolo       an Ultralytics ONNX export: images [1,3,S,S] RGB 0..1, letterboxed (pad 114)
 *              -> [1,4+C,N] (v8/v11) or [1,N,5+C] (v5), NMS here
 * Card: models/detectors/README.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DmvjndError } from '../errors.ts';
import { loadSession, runSession, type LoadedSession, type Provider } from '../inference/onnx.ts';
import { centernetDetections, classMaxHeatmap, detectYoloLayout, letterbox, nms, yoloDetections } from './detection-decode.ts';
import type { FrameDetections, SaliencyMap } from './types.ts';
import { checkObjectJndModel, type ObjectJndModel } from '../offsets/detector-roi.ts';

export const DETECTORS_SUBDIR = 'detectors';
export const BUNDLED_DETECTORS = ['centernet', 'nanodet'] as const;
export type BundledDetector = (typeof BUNDLED_DETECTORS)[number];

/**
 * The lowest score a detection is kept at: mAP@0.5 ranks everything down to here; F1
 * counts only what clears the hysteresis band (metrics/detection.ts).
 */
export const DETECTION_FLOOR = 0.05;
/** At most this many detections per frame (CenterNet's own graph kept the top 100). */
export const MAX_DETECTIONS = 100;

export interface InputSize {
  width: number;
  height: number;
}

/** How a frame becomes the network's input. */
export type Resize = { kind: 'squash'; size: InputSize } | { kind: 'letterbox'; size: InputSize };

export interface DetectorSpec {
  /** bundled name, or `yolo` with the file. */
  kind: BundledDetector | 'yolo';
  /** Folder of the bundled models (models/), or the YOLO file. */
  path: string;
  /** Network input size (bundled: their native size unless overridden). */
  size?: InputSize;
}

export interface DetectorOutput extends FrameDetections {
  /** The class-max heatmap at the network's output resolution (CenterNet), else undefined. */
  heatmap: SaliencyMap | undefined;
  /**
   * The detector-trained DMV-JND at the network's input resolution, in 0-255 units (the
   * half quantisation step each pixel tolerates), when the runner was loaded with it.
   */
  jnd?: SaliencyMap;
}

/** The DMV-JND generator trained against CenterNet (training/detector_jnd, card models/detectors/dmv_jnd.md). */
export const DETECTOR_JND_FILE = 'dmv_jnd.onnx';

/** The object-level detector JND (training/object_jnd, card models/detectors/object_jnd.md). */
export const OBJECT_JND_FILE = 'object_jnd.json';

/** models/detectors/object_jnd.json, checked. */
export function readObjectJndModel(dir: string): ObjectJndModel {
  const p = join(dir, DETECTORS_SUBDIR, OBJECT_JND_FILE);
  if (!existsSync(p)) throw new DmvjndError('load model', p, 'the object-level detector JND is missing (run `npm run train:object-jnd`, or restore models/detectors/)');
  let m: ObjectJndModel;
  try {
    m = JSON.parse(readFileSync(p, 'utf8')) as ObjectJndModel;
    checkObjectJndModel(m, p);
  } catch (err) {
    throw new DmvjndError('load model', p, `not a valid object-JND model (${(err as Error).message})`, { cause: err });
  }
  return m;
}

/** An obj-jnd spec with its model read from `dir` (other specs, or one already loaded, as given). */
export function withObjectJndModel<S extends { method: string; objectJnd?: ObjectJndModel }>(spec: S, dir: string): S {
  return spec.method === 'obj-jnd' && !spec.objectJnd ? { ...spec, objectJnd: readObjectJndModel(dir) } : spec;
}

export interface DetectorRunner {
  readonly name: string;
  readonly resize: Resize;
  readonly files: string[];
  /** Class names (COCO-80 for the bundled ones; indices for YOLO files without names). */
  readonly classes: string[];
  readonly provider: 'cpu' | 'cuda';
  /** rgb: packed RGB of the frame scaled per `resize` (letterboxed already for YOLO). */
  run(rgb: Uint8Array, frameWidth: number, frameHeight: number): Promise<DetectorOutput>;
  release(): Promise<void>;
}

interface DetectorsCard {
  models: Record<string, { file: string; classes?: string[]; native_size?: number[] | { width: number; height: number } }>;
  classes?: string[];
}

function readCard(dir: string): DetectorsCard | undefined {
  const p = join(dir, DETECTORS_SUBDIR, 'detectors.json');
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as DetectorsCard;
  } catch (err) {
    throw new DmvjndError('load model', p, `not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** COCO-80 class names in the order the bundled detectors use (from detectors.json). */
export function cocoClasses(dir: string): string[] {
  const card = readCard(dir);
  const fromCard = card?.classes ?? card?.models?.centernet?.classes;
  return fromCard && fromCard.length === 80 ? fromCard : Array.from({ length: 80 }, (_, i) => String(i));
}

/** The default input size of a bundled detector. */
export const NATIVE_SIZE: Record<BundledDetector, InputSize> = {
  centernet: { width: 512, height: 512 },
  nanodet: { width: 416, height: 416 },
};

export async function loadDetectorRunner(spec: DetectorSpec, opts: { provider: Provider; threads?: number; onNote?: (line: string) => void; withJnd?: boolean }): Promise<DetectorRunner> {
  const common = { provider: opts.provider, threads: opts.threads, onNote: opts.onNote };
  if (spec.kind === 'yolo') return loadYolo(spec.path, spec.size, common);
  const dir = spec.path;
  const file = join(dir, DETECTORS_SUBDIR, `${spec.kind}.onnx`);
  const missingReason = 'detector model file not found (run `npm run import:detectors`, or restore models/detectors/)';
  const size = spec.size ?? NATIVE_SIZE[spec.kind];
  const classes = cocoClasses(dir);
  if (spec.kind === 'centernet') {
    const loaded = await loadSession({ path: file, inputs: ['image'], outputs: ['heatmap', 'wh'], missingReason }, common);
    const jndFile = join(dir, DETECTORS_SUBDIR, DETECTOR_JND_FILE);
    const generator = opts.withJnd
      ? await loadSession({ path: jndFile, inputs: ['x', 'guidance'], outputs: ['jnd'], missingReason: 'the detector-trained DMV-JND model file is missing (run `npm run train:jnd-detector`, or restore models/detectors/)' }, common).catch(async (err) => {
          await loaded.session.release();
          throw err;
        })
      : undefined;
    return {
      name: 'centernet',
      resize: { kind: 'squash', size },
      files: [file],
      classes,
      provider: loaded.provider,
      async run(rgb, frameWidth, frameHeight) {
        const r = await runSession(loaded, { image: { data: planarFromRgb(rgb, size, 1), dims: [1, 3, size.height, size.width] } }, ['heatmap', 'wh']);
        const [, c, h, w] = r.heatmap.dims;
        const dims = { classes: c, height: h, width: w };
        const detections = centernetDetections(r.heatmap.data, r.wh.data, dims, {
          inputWidth: size.width, inputHeight: size.height, frameWidth, frameHeight, floor: DETECTION_FLOOR, maxDetections: MAX_DETECTIONS,
        });
        const heatmap = classMaxHeatmap(r.heatmap.data, dims);
        let jnd: SaliencyMap | undefined;
        if (generator) {
          const guidance = upsampleBilinear(heatmap, size);
          const g = await runSession(generator, { x: { data: planarFromRgb(rgb, size, 1 / 255), dims: [1, 3, size.height, size.width] }, guidance: { data: guidance, dims: [1, 1, size.height, size.width] } }, ['jnd']);
          jnd = { width: size.width, height: size.height, data: g.jnd.data };
        }
        return { width: frameWidth, height: frameHeight, detections, heatmap, jnd };
      },
      release: async () => {
        await loaded.session.release();
        await generator?.session.release();
      },
    };
  }
  const loaded = await loadSession({ path: file, inputs: ['image'], outputs: ['scores', 'boxes'], missingReason }, common);
  return {
    name: 'nanodet',
    resize: { kind: 'squash', size },
    files: [file],
    classes,
    provider: loaded.provider,
    async run(rgb, frameWidth, frameHeight) {
      const r = await runSession(loaded, { image: { data: planarFromRgb(rgb, size, 1), dims: [1, 3, size.height, size.width] } }, ['scores', 'boxes']);
      const n = r.scores.dims[1];
      const c = r.scores.dims[2];
      const sx = frameWidth / size.width;
      const sy = frameHeight / size.height;
      const candidates = [];
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let k = 1; k < c; k++) if (r.scores.data[i * c + k] > r.scores.data[i * c + best]) best = k;
        const score = r.scores.data[i * c + best];
        if (score < DETECTION_FLOOR) continue;
        const b = r.boxes.data.subarray(i * 4, i * 4 + 4);
        candidates.push({
          cls: best,
          score,
          box: {
            x1: clip(b[0] * sx, frameWidth), y1: clip(b[1] * sy, frameHeight),
            x2: clip(b[2] * sx, frameWidth), y2: clip(b[3] * sy, frameHeight),
          },
        });
      }
      const detections = nms(candidates, 0.6, true).sort((a, b) => b.score - a.score).slice(0, MAX_DETECTIONS);
      return { width: frameWidth, height: frameHeight, detections, heatmap: undefined };
    },
    release: () => loaded.session.release(),
  };
}

async function loadYolo(file: string, size: InputSize | undefined, common: { provider: Provider; threads?: number; onNote?: (line: string) => void }): Promise<DetectorRunner> {
  const loaded: LoadedSession = await loadSession({ path: file, inputs: [], outputs: [] }, common);
  const { session } = loaded;
  const fail = async (reason: string): Promise<never> => {
    await session.release();
    throw new DmvjndError('load model', file, reason);
  };
  if (session.inputNames.length !== 1 || session.outputNames.length < 1) {
    await fail(`expected a YOLO detector with one image input and one output but the file has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`);
  }
  const inMeta = session.inputMetadata[0] as { shape?: ReadonlyArray<number | string> };
  const inShape = inMeta.shape ?? [];
  if (inShape.length !== 4 || (typeof inShape[1] === 'number' && inShape[1] !== 3)) {
    await fail(`expected a YOLO image input of shape [1, 3, H, W] but the file's input is [${inShape.join(', ')}]`);
  }
  const fixedH = typeof inShape[2] === 'number' ? inShape[2] : undefined;
  const fixedW = typeof inShape[3] === 'number' ? inShape[3] : undefined;
  const input = size ?? { width: fixedW ?? 640, height: fixedH ?? 640 };
  const outMeta = session.outputMetadata[0] as { shape?: ReadonlyArray<number | string> };
  const outShape = (outMeta.shape ?? []).map((d) => (typeof d === 'number' ? d : -1));
  // A shape known from the file is checked now; a dynamic one at the first frame.
  if (outShape.length > 0 && outShape.every((d) => d > 0)) {
    try {
      detectYoloLayout(outShape, file);
    } catch (err) {
      await session.release();
      throw err;
    }
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const classesFromShape = outShape.length === 3 && outShape.every((d) => d > 0) ? classCount(outShape, file) : 80;
  return {
    name: `yolo:${basename(file)}`,
    resize: { kind: 'letterbox', size: input },
    files: [file],
    classes: Array.from({ length: classesFromShape }, (_, i) => String(i)),
    provider: loaded.provider,
    async run(rgb, frameWidth, frameHeight) {
      const r = await runSession(loaded, { [inputName]: { data: planarFromRgb(rgb, input, 1 / 255), dims: [1, 3, input.height, input.width] } }, [outputName]);
      const out = r[outputName];
      const detections = yoloDetections(out.data, out.dims, {
        letterbox: letterbox(frameWidth, frameHeight, input.width, input.height),
        frameWidth, frameHeight, floor: DETECTION_FLOOR, maxDetections: MAX_DETECTIONS, file,
      });
      return { width: frameWidth, height: frameHeight, detections, heatmap: undefined };
    },
    release: () => session.release(),
  };
}

function classCount(dims: readonly number[], file: string): number {
  const layout = detectYoloLayout(dims, file);
  return layout === 'v8' ? dims[1] - 4 : dims[2] - 5;
}

/**
 * A map resized to `size` by bilinear interpolation with half-pixel centres (what
 * torch's interpolate(align_corners=False) does), the generator's guidance input.
 */
export function upsampleBilinear(map: SaliencyMap, size: InputSize): Float32Array {
  const out = new Float32Array(size.width * size.height);
  const sx = map.width / size.width;
  const sy = map.height / size.height;
  for (let y = 0; y < size.height; y++) {
    const fy = Math.min(map.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(map.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < size.width; x++) {
      const fx = Math.min(map.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(map.width - 1, x0 + 1);
      const wx = fx - x0;
      const top = map.data[y0 * map.width + x0] * (1 - wx) + map.data[y0 * map.width + x1] * wx;
      const bottom = map.data[y1 * map.width + x0] * (1 - wx) + map.data[y1 * map.width + x1] * wx;
      out[y * size.width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/** Packed RGB (HWC, 8-bit) -> planar float CHW times `scale`. */
export function planarFromRgb(rgb: Uint8Array, size: InputSize, scale: number): Float32Array {
  const n = size.width * size.height;
  if (rgb.length !== 3 * n) throw new RangeError(`Expected ${3 * n} RGB bytes for ${size.width}x${size.height} but received ${rgb.length}`);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = rgb[3 * i] * scale;
    out[n + i] = rgb[3 * i + 1] * scale;
    out[2 * n + i] = rgb[3 * i + 2] * scale;
  }
  return out;
}

function clip(v: number, max: number): number {
  return Math.min(max, Math.max(0, v));
}
