import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DmvjndError } from '../errors.ts';
import { onInterrupt } from './atomic-output.ts';
import { fromWorkerError, type WorkerLoadReply } from './worker-protocol.ts';

/**
 * Start a worker-thread module given relative to the caller (`base` = its import.meta.url):
 * the compiled JavaScript under dist/, or the TypeScript source through tsx, whose loader
 * is registered per thread (so it is registered in the worker before the import).
 */
export function spawnWorker(base: string, name: string, init: object): Worker {
  const fromSource = base.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, base).href;
  const loadingFlag = new SharedArrayBuffer(4);
  new Int32Array(loadingFlag)[0] = 1;
  const workerData = { ...init, loadingFlag };
  const worker = fromSource ? spawnFromSource(entry, workerData) : new Worker(new URL(entry), { workerData });
  loadingWorkers.add(loadingFlag);
  worker.once('exit', () => loadingWorkers.delete(loadingFlag));
  if (!exitWaits) {
    exitWaits = true;
    // Synchronous, in the exit handler: the workers' threads go on loading meanwhile.
    process.on('exit', () => {
      for (const f of loadingWorkers) Atomics.wait(new Int32Array(f), 0, 1, EXIT_WAIT_MS);
    });
  }
  return worker;
}

/** Workers still loading their models (their flag is 1 until loadingSettled in the worker). */
const loadingWorkers = new Set<SharedArrayBuffer>();
let exitWaits = false;
/** The longest the process's exit waits for a loading worker. */
const EXIT_WAIT_MS = 10_000;

function spawnFromSource(entry: string, workerData: object): Worker {
  // import.meta.resolve is missing where a loader rewrote import.meta (tests under tsx's require hook).
  const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * Ctrl-C while a worker is still loading its models: wait for the load to finish (at most
 * the interrupt grace), then let the worker close its sessions before the process exits;
 * onnxruntime-node aborts the process ("terminate called ...") when a thread dies inside
 * session creation. Returns the function that removes the guard (call it once loaded).
 */
export function guardLoading(worker: Worker, loaded: Promise<unknown>): () => void {
  let exited = false;
  worker.once('exit', () => (exited = true));
  return onInterrupt(async () => {
    await loaded.catch(() => undefined);
    if (exited) return;
    const gone = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ close: true });
    await gone;
  });
}

/**
 * Wait for a spawned worker to load its models: its notes go to `onNote`, its ready payload
 * is returned; a load error, a failed start or an early exit rejects with one sentence naming
 * `file` and the worker (`what`), after terminating it. Ctrl-C meanwhile is guarded (guardLoading).
 */
export async function loadInWorker<R>(worker: Worker, opts: { what: string; file: string | undefined; onNote?: (line: string) => void }): Promise<R> {
  const loading = new Promise<R>((resolve, reject) => {
    const onMessage = (m: WorkerLoadReply<R> | { id: number }) => {
      if (m.id !== -1) return;
      const r = m as WorkerLoadReply<R>;
      if ('note' in r) opts.onNote?.(r.note);
      else if ('error' in r) done(() => reject(fromWorkerError(r.error)));
      else if ('ready' in r) done(() => resolve(r.ready));
    };
    const onError = (err: Error) => done(() => reject(new DmvjndError('load model', opts.file, `the ${opts.what} failed to start (${err.message})`, { cause: err })));
    const onExit = (code: number) => done(() => reject(new DmvjndError('load model', opts.file, `the ${opts.what} exited while loading its models (code ${code})`)));
    const done = (settle: () => void) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      settle();
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
  const unguard = guardLoading(worker, loading);
  return loading
    .catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    })
    .finally(unguard);
}
