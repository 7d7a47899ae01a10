import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { DmvjndError } from '../errors.ts';

/**
 * Output files are written to a hidden temp file beside the target and renamed into
 * place only when complete, so an error or Ctrl-C never leaves a half-written file at
 * the path the user asked for. Pending temp files are removed on exit and on signals.
 */
const pending = new Set<string>();
const interruptHooks = new Set<() => Promise<void>>();
let handlersInstalled = false;
/** How long a signal waits for the interrupt hooks before exiting anyway. */
const INTERRUPT_GRACE_MS = 3000;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', removeAllPending);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeAllPending();
      // Conventional exit status for death by signal.
      const code = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1);
      if (interruptHooks.size === 0) process.exit(code);
      const grace = new Promise<void>((resolve) => setTimeout(resolve, INTERRUPT_GRACE_MS).unref());
      void Promise.race([Promise.allSettled([...interruptHooks].map((hook) => hook())), grace]).finally(() => process.exit(code));
    });
  }
}

/**
 * Work to finish before the process exits on SIGINT, SIGTERM or SIGHUP, after the temp
 * files are gone (at most INTERRUPT_GRACE_MS): the JND worker must stop between two model
 * runs, since onnxruntime-node aborts the process when a thread dies inside one. Returns
 * the function that removes the hook.
 */
export function onInterrupt(hook: () => Promise<void>): () => void {
  installHandlers();
  interruptHooks.add(hook);
  return () => interruptHooks.delete(hook);
}

function removeAllPending(): void {
  for (const path of pending) rmSync(path, { force: true });
  pending.clear();
}

/** A finished scratch file to remove on exit and on signals too; returns its remover. */
export function removeOnExit(path: string): () => void {
  installHandlers();
  pending.add(path);
  return () => {
    rmSync(path, { force: true });
    pending.delete(path);
  };
}

export interface AtomicOutput {
  /** Where to write while working. */
  readonly tempPath: string;
  /** The final path. */
  readonly path: string;
  /** Rename the temp file into place. */
  commit(): void;
  /** Remove the temp file (safe to call after commit). */
  discard(): void;
}

/** Throws the error beginAtomicOutput would, without creating anything. */
export function checkOutputPath(path: string): void {
  const target = resolve(path);
  const dir = dirname(target);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DmvjndError('write output', path, `the folder ${dir} does not exist`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new DmvjndError('write output', path, `the folder ${dir} is not writable`, { cause: err });
  }
  if (existsSync(target) && statSync(target).isDirectory()) {
    throw new DmvjndError('write output', path, 'the output path is a folder');
  }
}

export function beginAtomicOutput(path: string): AtomicOutput {
  checkOutputPath(path);
  const target = resolve(path);
  const dir = dirname(target);
  installHandlers();
  const ext = extname(target);
  const tempPath = join(dir, `.${basename(target, ext)}.dmvjnd-${randomBytes(4).toString('hex')}.tmp${ext}`);
  pending.add(tempPath);
  let done = false;
  return {
    tempPath,
    path: target,
    commit() {
      if (done) return;
      renameSync(tempPath, target);
      pending.delete(tempPath);
      done = true;
    },
    discard() {
      if (done) return;
      rmSync(tempPath, { force: true });
      pending.delete(tempPath);
      done = true;
    },
  };
}
