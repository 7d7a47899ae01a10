/**
 * Per-frame machine analysis: the classifiers' decisions on a frame's machine view
 * (for RCA) and the DMV-JND map of the frame (for bit allocation).
 *
 *   frame -> view RGB (area downscale) -> x = normalised NCHW
 *     -> each classifier, fully convolutional on the whole view: global logits + CAM
 *     -> each classifier on the 32x32 window batch: regional logits
 *     -> merged CAM c = mean of the four JND classifiers' CAMs (paper Eq. 2)
 *     -> generator (x, c) -> e; JND = mean over RGB of |e| in 0-255 units, per view pixel
 */
import type { Frame } from 'node-av/lib';
import { type ClassifierModel, type ModelSet } from '../inference/models.ts';
import { runSession } from '../inference/onnx.ts';
import { softmaxTop1 } from '../metrics/rca.ts';

export type { FrameJnd } from './jnd-from-view.ts';
import { FrameRgbScaler } from './frame-scaler.ts';
import { jndOfView, mergedCamOfView, type CamInputs, type FrameJnd } from './jnd-from-view.ts';
import {
  WINDOW,
  cropWindows,
  normaliseRgb,
  viewSizeFor,
  windowGrid,
  type ViewSize,
  type WindowGrid,
} from './machine-view.ts';

export interface Top1 {
  labels: Int32Array;
  confidences: Float32Array;
}

export interface ClassifierDecisions {
  name: string;
  role: ClassifierModel['role'];
  global: Top1;
  /** Undefined for user classifiers with a fixed input size (global decisions only). */
  regional: Top1 | undefined;
}

/**
 * Memo of per-frame CAM and JND results shared by runs over the same input, view and
 * models (benchmarks: every method x CRF point of a clip analyses the same source frames,
 * so they are analysed once). Frames are keyed by their decoder timestamp. Only the
 * `inputs` most recently used inputs are kept (default 1; a search over N sampled
 * segments keeps N), which bounds memory to that many clips' analysed frames.
 */
export class AnalysisMemo {
  private readonly scopes = new Map<string, Map<string, { cam: CamInputs; jnd?: FrameJnd }>>();

  constructor(private readonly inputs = 1) {}

  /** The memo for one input (created on first use; least recently used inputs are dropped). */
  scope(input: string, view: number, models: ModelSet): Map<string, { cam: CamInputs; jnd?: FrameJnd }> {
    const key = `${input}\u0000${view}\u0000${models.dir}\u0000${models.precision}`;
    let entries = this.scopes.get(key);
    if (entries) this.scopes.delete(key);
    else entries = new Map();
    this.scopes.set(key, entries);
    while (this.scopes.size > this.inputs) this.scopes.delete(this.scopes.keys().next().value!);
    return entries;
  }
}

export class FrameAnalyser {
  private readonly scaler = new FrameRgbScaler();
  private cachedView: { frameW: number; frameH: number; view: ViewSize; windows: WindowGrid } | undefined;

  /** memo: results per frame timestamp, for runs that analyse the same frames again. */
  constructor(
    private readonly models: ModelSet,
    private readonly viewShortSide: number,
    private readonly memo?: Map<string, { cam: CamInputs; jnd?: FrameJnd }>,
  ) {}

  viewFor(frameW: number, frameH: number): { view: ViewSize; windows: WindowGrid } {
    const c = this.cachedView;
    if (c && c.frameW === frameW && c.frameH === frameH) return c;
    const view = viewSizeFor(frameW, frameH, this.viewShortSide);
    this.cachedView = { frameW, frameH, view, windows: windowGrid(view) };
    return this.cachedView;
  }

  /** The classifiers' decisions on a frame (all roles unless narrowed). */
  async decisions(frame: Frame, roles: ReadonlyArray<ClassifierModel['role']> = ['jnd', 'heldout', 'user']): Promise<ClassifierDecisions[]> {
    const { view, windows } = this.viewFor(frame.width, frame.height);
    const rgb = await this.scaler.rgb(frame, view);
    const out: ClassifierDecisions[] = [];
    const models = [...this.models.jnd, ...(this.models.heldout ? [this.models.heldout] : []), ...this.models.user];
    const byNorm = new Map<string, Float32Array>();
    for (const m of models) {
      if (!roles.includes(m.role)) continue;
      if (m.inputSize !== undefined) {
        // A fixed-size user model sees the whole frame resized to its input.
        const size = { width: m.inputSize, height: m.inputSize };
        const x = normaliseRgb(await this.scaler.rgb(frame, size), size, m.normalisation);
        const r = await runSession(m.loaded, { [m.inputName]: { data: x, dims: [1, 3, size.height, size.width] } }, [m.logitsName]);
        out.push({ name: m.name, role: m.role, global: top1(r[m.logitsName].data, 1), regional: undefined });
        continue;
      }
      const key = m.normalisation.mean.join() + m.normalisation.std.join();
      let x = byNorm.get(key);
      if (!x) byNorm.set(key, (x = normaliseRgb(rgb, view, m.normalisation)));
      const g = await runSession(m.loaded, { [m.inputName]: { data: x, dims: [1, 3, view.height, view.width] } }, [m.logitsName]);
      let regional: Top1 | undefined;
      if (windows.count > 0) {
        const batch = cropWindows(x, view, windows);
        const r = await runSession(m.loaded, { [m.inputName]: { data: batch, dims: [windows.count, 3, WINDOW, WINDOW] } }, [m.logitsName]);
        regional = top1(r[m.logitsName].data, windows.count);
      }
      out.push({ name: m.name, role: m.role, global: top1(g[m.logitsName].data, 1), regional });
    }
    return out;
  }

  /** The DMV-JND map of a frame at view resolution (`viewRgb`: the view, if already scaled). */
  async jnd(frame: Frame, viewRgb?: Uint8Array): Promise<FrameJnd> {
    const memoised = this.memo?.get(String(frame.pts))?.jnd;
    if (memoised) return memoised;
    const cam = await this.camInputs(frame, viewRgb);
    const result = await jndOfView(this.models, cam);
    const entry = this.memo?.get(String(frame.pts));
    if (entry) entry.jnd = result;
    return result;
  }

  /**
   * The merged CAM of a frame alone (mean of the four JND classifiers' CAMs, in [0, 1], at
   * view resolution), without the generator: for the CAM-saliency (ROI) baseline.
   */
  async mergedCam(frame: Frame): Promise<{ view: ViewSize; rgb: Uint8Array; mergedCam: Float32Array }> {
    const { view, rgb, mergedCam } = await this.camInputs(frame);
    return { view, rgb, mergedCam };
  }

  private async camInputs(frame: Frame, viewRgb?: Uint8Array): Promise<CamInputs> {
    const memoised = this.memo?.get(String(frame.pts));
    if (memoised) return memoised.cam;
    const { view } = this.viewFor(frame.width, frame.height);
    const result = await mergedCamOfView(this.models, viewRgb ?? (await this.scaler.rgb(frame, view)), view);
    this.memo?.set(String(frame.pts), { cam: result });
    return result;
  }

  /** Packed RGB of the frame's machine view. */
  async viewRgb(frame: Frame): Promise<Uint8Array> {
    return this.scaler.rgb(frame, this.viewFor(frame.width, frame.height).view);
  }

  close(): void {
    this.scaler.close();
  }
}

function top1(logits: Float32Array, count: number): Top1 {
  // CIFAR models have 10 classes; user models (e.g. ImageNet) have their own count.
  return softmaxTop1(logits, logits.length / count, count);
}
