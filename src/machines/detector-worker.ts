/**
 * Worker-thread entry of the detector analysis (see detector-worker-client.ts): the
 * encoder's thread scales each analysed frame to the network input and posts it; this
 * thread runs the detector, so its ~50-90 ms per frame overlap decoding and x264.
 *
 * Protocol: workerData = DetectorWorkerInit; requests { id, rgb, frameWidth, frameHeight }
 * answered with { id, output, ms } or { id, error }; a load failure is { id: -1, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadingSettled, toWorkerError, type WorkerError } from '../util/worker-protocol.ts';
import type { Provider } from '../inference/onnx.ts';
import { loadDetectorRunner, type DetectorOutput, type DetectorRunner, type DetectorSpec, type Resize } from './detector-runner.ts';

export interface DetectorWorkerInit {
  spec: DetectorSpec;
  provider: Provider;
  threads: number | undefined;
  /** Also load the detector-trained DMV-JND generator (dmv-jnd offsets). */
  withJnd?: boolean;
}


export type DetectorWorkerReply =
  | { id: -1; ready: { provider: 'cpu' | 'cuda'; resize: Resize; files: string[]; classes: string[] } }
  | { id: -1; note: string }
  | { id: number; error: WorkerError }
  | { id: number; output: DetectorOutput; ms: number };

const port = parentPort!;
const init = workerData as DetectorWorkerInit;


let runner: DetectorRunner;
try {
  runner = await loadDetectorRunner(init.spec, {
    provider: init.provider,
    threads: init.threads,
    withJnd: init.withJnd,
    onNote: (note) => port.postMessage({ id: -1, note } satisfies DetectorWorkerReply),
  });
  // One run on a blank input before the first frame: onnxruntime's first run of a session
  // costs ~4x a later one (CenterNet on one thread: ~260 against ~60 ms), and the encoder
  // is still opening the input meanwhile. A failure here is the first frame's to report.
  const { width, height } = runner.resize.size;
  await runner.run(new Uint8Array(width * height * 3), width, height).catch(() => undefined);
} catch (err) {
  loadingSettled();
  port.postMessage({ id: -1, error: toWorkerError(err) } satisfies DetectorWorkerReply);
  process.exit(0);
}
loadingSettled();
port.postMessage({ id: -1, ready: { provider: runner.provider, resize: runner.resize, files: runner.files, classes: runner.classes } } satisfies DetectorWorkerReply);

// One request at a time (a session is not re-entrant), in order.
let queue = Promise.resolve();
port.on('message', (msg: { id: number; rgb: Uint8Array; frameWidth: number; frameHeight: number } | { close: true }) => {
  if ('close' in msg) {
    queue = queue.then(async () => {
      await runner.release();
      port.close();
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      const t0 = performance.now();
      const output = await runner.run(msg.rgb, msg.frameWidth, msg.frameHeight);
      port.postMessage({ id: msg.id, output, ms: performance.now() - t0 } satisfies DetectorWorkerReply);
    } catch (err) {
      port.postMessage({ id: msg.id, error: toWorkerError(err) } satisfies DetectorWorkerReply);
    }
  });
});
