/**
 * The detector worker started before the encode asks for it. A CLI encode spends ~0.3 s
 * importing its modules before the pipeline starts the guide detector, and the first frame
 * then waits for the worker to load CenterNet; started at once, the worker loads while the
 * main thread imports. This module is light on purpose (no node-av, no onnxruntime): the
 * CLI imports it first. A prestarted worker that no encode adopts is closed once loaded,
 * and the process's exit waits for its loading (util/spawn-worker.ts).
 */
import type { Worker } from 'node:worker_threads';
import { DEFAULT_MODELS_DIR } from '../inference/models.ts';
import type { Provider } from '../inference/onnx.ts';
import { detectorMethodOf, usesDetectorJnd } from '../offsets/detector-method-names.ts';
import { loadInWorker, spawnWorker } from '../util/spawn-worker.ts';
import type { DetectorSpec } from './detector-runner.ts';
import type { DetectorWorkerInit, DetectorWorkerReply } from './detector-worker.ts';

export type DetectorWorkerReady = Extract<DetectorWorkerReply, { ready: unknown }>['ready'];

/**
 * The detector-guided offsets run the guide detector at this input size on the analysis
 * worker (the verifying machine always runs at its native size).
 */
export const DEFAULT_GUIDE_SIZE = { width: 512, height: 512 };

export function spawnDetectorWorker(init: DetectorWorkerInit): Worker {
  return spawnWorker(import.meta.url, 'detector-worker', init);
}

/** The one shape of a worker's init, so that a prestarted worker and an encode's compare equal. */
export function detectorWorkerInit(spec: DetectorSpec, opts: { provider: Provider; threads?: number; withJnd?: boolean }): DetectorWorkerInit {
  return { spec, provider: opts.provider, threads: opts.threads, withJnd: opts.withJnd };
}

interface Prestarted {
  key: string;
  worker: Worker;
  ready: Promise<DetectorWorkerReady>;
  notes: string[];
}

let prestarted: Prestarted | undefined;

export function prestartDetectorWorker(init: DetectorWorkerInit): void {
  if (prestarted) return;
  const worker = spawnDetectorWorker(init);
  // Until adopted it must not keep the process alive (a failing command exits at once).
  worker.unref();
  const notes: string[] = [];
  const file = init.spec.kind === 'yolo' ? init.spec.path : undefined;
  const ready = loadInWorker<DetectorWorkerReady>(worker, { what: 'detector worker', file, onNote: (n) => notes.push(n) });
  ready.catch(() => undefined); // the adopter sees the failure
  prestarted = { key: JSON.stringify(init), worker, ready, notes };
}

/**
 * The prestarted worker when it was started with this init (its notes so far are passed to
 * onNote); otherwise undefined, and a prestarted worker of another init is closed.
 */
export function adoptPrestartedDetector(init: DetectorWorkerInit, onNote?: (line: string) => void): { worker: Worker; ready: Promise<DetectorWorkerReady> } | undefined {
  const p = prestarted;
  if (!p) return undefined;
  prestarted = undefined;
  if (p.key !== JSON.stringify(init)) {
    void p.ready.then(() => p.worker.postMessage({ close: true }), () => undefined);
    return undefined;
  }
  p.worker.ref();
  return { worker: p.worker, ready: p.ready.then((r) => (p.notes.forEach((n) => onNote?.(n)), r)) };
}

/**
 * `dmvjnd encode ...` arguments -> the guide worker's init the encode will ask for, when
 * that is certain from the arguments alone (a detector method of the centernet machine, the
 * default guide size); otherwise undefined (nothing is prestarted).
 */
export function prestartInitFromArgs(argv: readonly string[]): DetectorWorkerInit | undefined {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h' || a === '--version') return undefined;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m || !['machine', 'offsets', 'provider', 'model-threads', 'models'].includes(m[1])) continue;
    const v = m[2] ?? argv[i + 1];
    if (v === undefined || values.has(m[1])) return undefined;
    values.set(m[1], v);
  }
  const machine = values.get('machine') ?? 'centernet';
  const offsets = values.get('offsets');
  // Detector methods that need no detector-trained JND; anything else decides for itself.
  const named = offsets === undefined ? undefined : detectorMethodOf(offsets);
  if (machine !== 'centernet' || (offsets !== undefined && (!named || usesDetectorJnd(named)))) return undefined;
  const provider = (values.get('provider') ?? 'auto') as Provider;
  if (!['auto', 'cpu', 'cuda'].includes(provider)) return undefined;
  const threadsText = values.get('model-threads');
  const threads = threadsText === undefined ? undefined : Number(threadsText);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) return undefined;
  const spec: DetectorSpec = { kind: 'centernet', path: values.get('models') ?? DEFAULT_MODELS_DIR, size: DEFAULT_GUIDE_SIZE };
  return detectorWorkerInit(spec, { provider, threads, withJnd: false });
}
