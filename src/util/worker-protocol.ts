/**
 * What the analysis workers (JND, detector) and their clients exchange besides results: an
 * error as plain data (a DmvjndError does not survive structured cloning), and the loading
 * replies every worker sends with id -1 (notes, then ready or error).
 */
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
