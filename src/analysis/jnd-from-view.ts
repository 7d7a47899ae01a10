/**
 * The DMV-JND of one machine view, from already scaled RGB: the four JND classifiers'
 * CAMs merged (paper Eq. 2), then the generator. No node-av here: the analysis worker
 * (jnd-worker.ts) imports only this and the models, which keeps its start-up short.
 */
import type { ModelSet } from '../inference/models.ts';
import { runSession } from '../inference/onnx.ts';
import { normaliseRgb, type ViewSize } from './machine-view.ts';

export interface FrameJnd {
  view: ViewSize;
  /** The view's packed RGB (for scene-cut checks). */
  rgb: Uint8Array;
  /** Merged CAM in [0,1], view.width * view.height, row-major. */
  mergedCam: Float32Array;
  /** Per-pixel DMV-JND amplitude in 0-255 units at view resolution. */
  jnd: Float32Array;
}

/** The generator's inputs for one view: the normalised view and the merged CAM. */
export interface CamInputs {
  view: ViewSize;
  rgb: Uint8Array;
  x: Float32Array;
  mergedCam: Float32Array;
}

/** Merged CAM of a view: the mean of the JND classifiers' CAMs, in [0, 1], at view resolution. */
export async function mergedCamOfView(models: ModelSet, rgb: Uint8Array, view: ViewSize): Promise<CamInputs> {
  const n = view.width * view.height;
  const x = normaliseRgb(rgb, view, models.jnd[0].normalisation);
  const dims = [1, 3, view.height, view.width];
  const mergedCam = new Float32Array(n);
  for (const m of models.jnd) {
    const r = await runSession(m.loaded, { x: { data: x, dims } }, ['cam']);
    const cam = r.cam.data;
    for (let i = 0; i < n; i++) mergedCam[i] += cam[i] / models.jnd.length;
  }
  return { view, rgb, x, mergedCam };
}

/** The generator's e on (x, merged CAM) -> per-pixel JND = mean over RGB of |e|, in 0-255 units. */
export async function jndOfView(models: ModelSet, { view, rgb, x, mergedCam }: CamInputs): Promise<FrameJnd> {
  const generator = models.generator;
  if (!generator) throw new Error('the JND needs a model set loaded with the generator');
  const n = view.width * view.height;
  const dims = [1, 3, view.height, view.width];
  const g = await runSession(generator, { x: { data: x, dims }, cam: { data: mergedCam, dims: [1, 1, view.height, view.width] } }, ['e']);
  const e = g.e.data;
  const jnd = new Float32Array(n);
  // e is in normalised units (x = pixel/127.5 - 1): |e| * 127.5 is in 0-255 pixel units.
  const k = 127.5 / 3;
  for (let i = 0; i < n; i++) jnd[i] = (Math.abs(e[i]) + Math.abs(e[n + i]) + Math.abs(e[2 * n + i])) * k;
  return { view, rgb, mergedCam, jnd };
}
