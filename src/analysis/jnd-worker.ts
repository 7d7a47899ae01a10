/**
 * Worker-thread entry of the JND analysis (see jnd-worker-client.ts). onnxruntime-node's
 * `run` blocks the thread that calls it, so on the main thread every analysed frame
 * stalled decoding and x264's input for its whole duration; here it runs beside them.
 *
 * Protocol: workerData = JndWorkerInit; then requests { id, rgb, view } answered with
 * { id, jnd, mergedCam } (buffers transferred) or { id, error }. A load failure is posted
 * as { id: -1, error } and the worker exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadingSettled, toWorkerError, type WorkerError } from '../util/worker-protocol.ts';
import { loadModels, type AnalysisPrecision, type ModelSet } from '../inference/models.ts';
import type { Provider } from '../inference/onnx.ts';
import { jndOfView, mergedCamOfView } from './jnd-from-view.ts';
import type { ViewSize } from './machine-view.ts';

export interface JndWorkerInit {
  modelsDir: string | undefined;
  provider: Provider;
  threads: number | undefined;
  precision: AnalysisPrecision;
}


export type JndWorkerReply =
  | { id: -1; ready: { provider: 'cpu' | 'cuda'; dir: string } }
  | { id: -1; note: string }
  | { id: number; error: WorkerError }
  | { id: number; jnd: Float32Array; mergedCam: Float32Array; ms: number };

const port = parentPort!;
const init = workerData as JndWorkerInit;


let models: ModelSet;
try {
  models = await loadModels({
    dir: init.modelsDir,
    provider: init.provider,
    threads: init.threads,
    generator: true,
    heldout: false,
    precision: init.precision,
    onNote: (note) => port.postMessage({ id: -1, note } satisfies JndWorkerReply),
  });
} catch (err) {
  loadingSettled();
  port.postMessage({ id: -1, error: toWorkerError(err) } satisfies JndWorkerReply);
  process.exit(0);
}
loadingSettled();
port.postMessage({ id: -1, ready: { provider: models.provider, dir: models.dir } } satisfies JndWorkerReply);

// Requests are answered in order, one at a time (the models are not re-entrant).
let queue = Promise.resolve();
port.on('message', (msg: { id: number; rgb: Uint8Array; view: ViewSize } | { close: true }) => {
  if ('close' in msg) {
    queue = queue.then(async () => {
      await models.release();
      port.close();
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      const t0 = performance.now();
      const r = await jndOfView(models, await mergedCamOfView(models, msg.rgb, msg.view));
      port.postMessage({ id: msg.id, jnd: r.jnd, mergedCam: r.mergedCam, ms: performance.now() - t0 } satisfies JndWorkerReply, [r.jnd.buffer as ArrayBuffer, r.mergedCam.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: msg.id, error: toWorkerError(err) } satisfies JndWorkerReply);
    }
  });
});
