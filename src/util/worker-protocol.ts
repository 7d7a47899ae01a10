/**
 * What the analysis workers (JND, detector) and their clients exchange besides results: an
 * error as plain data (a DmvjndError does not survive structured cloning), and the loading
 * replies every worker sends with id -1 (notes, then ready or error).
 */
import { workerData } from 'node:worker_threads';
import { DmvjndError, reasonOf } from '../errors.ts';

export interface WorkerError {
  stage: DmvjndError['stage'];
  file: string | undefined;
  reason: string;
}

/** The loading replies (id -1); `R` is what the worker reports once its models are loaded. */
export type WorkerLoadReply<R> = { id: -1; ready: R } | { id: -1; note: string } | { id: -1; error: WorkerError };

/** Worker side: any thrown value as plain data (stage 'analyse' unless it says otherwise). */
export function toWorkerError(err: unknown): WorkerError {
  return err instanceof DmvjndError ? { stage: err.stage, file: err.file, reason: err.reason } : { stage: 'analyse', file: undefined, reason: reasonOf(err) };
}

/** Client side: the worker's error as a DmvjndError again. */
export function fromWorkerError(e: WorkerError): DmvjndError {
  return new DmvjndError(e.stage, e.file, e.reason);
}

/**
 * Worker side: the models are loaded (or failed to). Until then the process's exit waits
 * for this worker (spawn-worker.ts), since onnxruntime-node aborts the whole process when
 * it is torn down inside a session creation.
 */
export function loadingSettled(): void {
  const flag = (workerData as { loadingFlag?: SharedArrayBuffer } | null)?.loadingFlag;
  if (!flag) return;
  const a = new Int32Array(flag);
  Atomics.store(a, 0, 0);
  Atomics.notify(a, 0);
}
