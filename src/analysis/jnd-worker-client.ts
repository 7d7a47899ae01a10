/**
 * The JND analysis on a worker thread: the main thread scales each frame to the machine
 * view (cheap, native) and posts the view; the worker runs the four classifiers' CAMs and
 * the generator (jnd-worker.ts). Together with the encoder's decode-ahead queue
 * (media/encode.ts, OffsetProvider.prepare) this lets analysis run while x264 encodes the
 * frames before it, instead of stalling the encoder (onnxruntime-node's run blocks the
 * calling thread).
 */
import type { Worker } from 'node:worker_threads';
import { loadInWorker, spawnWorker } from '../util/spawn-worker.ts';
import { fromWorkerError } from '../util/worker-protocol.ts';
import { DmvjndError } from '../errors.ts';
import { onInterrupt } from '../util/atomic-output.ts';
import type { AnalysisPrecision } from '../inference/models.ts';
import type { Provider } from '../inference/onnx.ts';
import type { FrameJnd } from './analyser.ts';
import type { ViewSize } from './machine-view.ts';
import type { JndWorkerInit, JndWorkerReply } from './jnd-worker.ts';

function spawn(init: JndWorkerInit): Worker {
  return spawnWorker(import.meta.url, 'jnd-worker', init);
}

export class WorkerJndAnalyser {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: { jnd: Float32Array; mergedCam: Float32Array }) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closed = false;
  /** Set by Ctrl-C (and other signals): the process is about to exit. */
  private interrupted = false;
  private readonly unhook: () => void;
  /** Milliseconds the worker spent analysing so far (its busy time, not the encoder's wait). */
  busyMs = 0;

  private constructor(
    private readonly worker: Worker,
    /** Where the models actually run, and from which folder. */
    readonly provider: 'cpu' | 'cuda',
    readonly modelsDir: string,
  ) {
    worker.on('message', (m: JndWorkerReply) => {
      if (m.id < 0) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(fromWorkerError(m.error));
      else if ('jnd' in m) {
        this.busyMs += m.ms;
        p.resolve(m);
      }
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new DmvjndError('analyse', undefined, `the analysis worker failed (${err.message})`, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.closed) fail(new DmvjndError('analyse', undefined, `the analysis worker exited unexpectedly (code ${code})`));
    });
    this.unhook = onInterrupt(() => this.stopForExit());
  }

  /** On a signal: let the worker finish its current model run and exit; leave requests unanswered. */
  private async stopForExit(): Promise<void> {
    this.interrupted = true;
    await this.close();
  }

  /** Start a worker and load the generator and the four JND classifiers in it. */
  static async start(opts: { modelsDir?: string; provider: Provider; threads?: number; precision: AnalysisPrecision; onNote?: (line: string) => void }): Promise<WorkerJndAnalyser> {
    const worker = spawn({ modelsDir: opts.modelsDir, provider: opts.provider, threads: opts.threads, precision: opts.precision });
    const ready = await loadInWorker<{ provider: 'cpu' | 'cuda'; dir: string }>(worker, { what: 'analysis worker', file: opts.modelsDir, onNote: opts.onNote });
    return new WorkerJndAnalyser(worker, ready.provider, ready.dir);
  }

  /** The JND of one machine view (the RGB is copied to the worker; the caller keeps it). */
  jnd(rgb: Uint8Array, view: ViewSize): Promise<FrameJnd> {
    // Interrupted: the process exits in a moment; an error here would only print noise.
    if (this.interrupted) return new Promise<never>(() => undefined);
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<{ jnd: Float32Array; mergedCam: Float32Array }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rgb, view });
    }).then((r) => ({ view, rgb, mergedCam: r.mergedCam, jnd: r.jnd }));
  }

  /** Release the models and stop the worker (pending requests are rejected). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unhook();
    this.worker.postMessage({ close: true });
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // The worker exits once its port closes; do not wait on a stuck model.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
    if (!this.interrupted) {
      for (const p of this.pending.values()) p.reject(new DmvjndError('analyse', undefined, 'the analysis worker was closed'));
    }
    this.pending.clear();
  }
}
