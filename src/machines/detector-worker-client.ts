/**
 * The detector on a worker thread (detector-worker.ts), for encodes: onnxruntime-node's
 * run blocks its thread, so on the encoder's thread every analysed frame would stall
 * decoding and x264. Same lifecycle as the JND worker (analysis/jnd-worker-client.ts):
 * started while the input opens, closed between two model runs on Ctrl-C.
 */
import type { Worker } from 'node:worker_threads';
import { loadInWorker } from '../util/spawn-worker.ts';
import { fromWorkerError } from '../util/worker-protocol.ts';
import type { Frame } from 'node-av/lib';
import { DmvjndError } from '../errors.ts';
import type { Provider } from '../inference/onnx.ts';
import { onInterrupt } from '../util/atomic-output.ts';
import { DetectorInputScaler } from './detector.ts';
import type { DetectorOutput, DetectorSpec, Resize } from './detector-runner.ts';
import type { DetectorWorkerReply } from './detector-worker.ts';
import { adoptPrestartedDetector, detectorWorkerInit, spawnDetectorWorker, type DetectorWorkerReady } from './detector-prestart.ts';

export class WorkerDetector {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: DetectorOutput) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closed = false;
  private interrupted = false;
  private readonly unhook: () => void;
  private readonly scaler: DetectorInputScaler;
  /** Milliseconds the worker spent detecting. */
  busyMs = 0;

  private constructor(
    private readonly worker: Worker,
    readonly provider: 'cpu' | 'cuda',
    readonly resize: Resize,
    readonly files: string[],
  ) {
    this.scaler = new DetectorInputScaler(resize);
    worker.on('message', (m: DetectorWorkerReply) => {
      if (m.id < 0) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(fromWorkerError(m.error));
      else if ('output' in m) {
        this.busyMs += m.ms;
        p.resolve(m.output);
      }
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new DmvjndError('analyse', undefined, `the detector worker failed (${err.message})`, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.closed) fail(new DmvjndError('analyse', undefined, `the detector worker exited unexpectedly (code ${code})`));
    });
    this.unhook = onInterrupt(async () => {
      this.interrupted = true;
      await this.close();
    });
  }

  static async start(opts: { spec: DetectorSpec; provider: Provider; threads?: number; withJnd?: boolean; onNote?: (line: string) => void }): Promise<WorkerDetector> {
    const init = detectorWorkerInit(opts.spec, opts);
    // The CLI may have started this very worker already (detector-prestart.ts).
    const adopted = adoptPrestartedDetector(init, opts.onNote);
    const worker = adopted?.worker ?? spawnDetectorWorker(init);
    const ready = await (adopted?.ready ?? loadInWorker<DetectorWorkerReady>(worker, { what: 'detector worker', file: opts.spec.path, onNote: opts.onNote }));
    return new WorkerDetector(worker, ready.provider, ready.resize, ready.files);
  }

  /** Detections on a frame: scaled here (native, a few ms), detected on the worker. */
  async detect(frame: Frame): Promise<DetectorOutput> {
    if (this.interrupted) return new Promise<never>(() => undefined);
    if (this.failure) throw this.failure;
    const rgb = await this.scaler.rgb(frame);
    if (this.closed) return new Promise<never>(() => undefined);
    const id = this.nextId++;
    return new Promise<DetectorOutput>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rgb, frameWidth: frame.width, frameHeight: frame.height });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unhook();
    await this.scaler.idle();
    this.scaler.close();
    this.worker.postMessage({ close: true });
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
    if (!this.interrupted) for (const p of this.pending.values()) p.reject(new DmvjndError('analyse', undefined, 'the detector worker was closed'));
    this.pending.clear();
  }
}
