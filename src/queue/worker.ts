/**
 * `dmvjnd queue worker`: a BullMQ worker running queue jobs through the same runJob as
 * `batch` (library encode, atomic output, report beside it).
 *
 * Semantics (README, "Batch jobs and the queue"):
 *   - at least once: a worker killed mid-job (SIGKILL) stops renewing its lock; after the
 *     lock expires the stalled check (every `stalledInterval` ms, on any worker) puts the
 *     job back to waiting and another worker runs it again. The output is renamed into
 *     place only when complete, and the rerun first removes the dead run's temp files.
 *   - SIGTERM / SIGINT: the worker stops taking jobs, puts its running jobs back to
 *     waiting (no attempt used; their temp files removed) and exits 0.
 *   - a failing job is retried `attempts` times with exponential backoff, then failed
 *     with its one-sentence reason; an input that vanished or changed since it was
 *     submitted, or a bad setting, fails at once (retrying cannot help).
 *   - Redis restarts: the connection retries forever and the worker resumes.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { needsModels, type LocalOptions } from '../batch/encode-args.ts';
import { failedEvent, type EventSink, type JobRef } from '../batch/events.ts';
import { runJob } from '../batch/run-job.ts';
import { planThreads } from '../batch/threads.ts';
import { onInterrupt } from '../util/atomic-output.ts';
import { JOB_NAME, type QueueJobData, type QueueJobResult } from './jobs.ts';

export interface WorkerOptions {
  connection: Redis;
  queue: string;
  concurrency?: number;
  local: LocalOptions;
  sink: EventSink;
  /** ms between stalled-job checks (BullMQ default 30000). */
  stalledInterval?: number;
  /** ms a job's lock lives without renewal (BullMQ default 30000). */
  lockDuration?: number;
  /** Times a job may stall (its worker died) before it is failed (default 3). */
  maxStalledCount?: number;
  /** Exit once no job is waiting, delayed or active anywhere in the queue. */
  exitWhenDrained?: boolean;
  onNote?: (line: string) => void;
}

export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
export const DEFAULT_LOCK_DURATION_MS = 30_000;
export const DEFAULT_MAX_STALLED = 3;

/** Errors retrying cannot fix: bad settings, an input that vanished or changed since submission. */
function isPermanent(stage: string, message: string): boolean {
  return stage === 'arguments' || / after the job was submitted/.test(message);
}

/** Runs until stopped (signal) or, with exitWhenDrained, until the queue is empty; resolves with the exit code. */
export async function runWorker(o: WorkerOptions): Promise<number> {
  const plan = planThreads({ jobs: o.concurrency ?? 1, x264Threads: o.local.threads, modelThreads: o.local.modelThreads, usesModels: true, what: '--concurrency' });
  if (plan.note) o.onNote?.(plan.note);
  const local: LocalOptions = { ...o.local, threads: plan.x264, modelThreads: plan.model };
  const lockDuration = o.lockDuration ?? DEFAULT_LOCK_DURATION_MS;
  const me = `${hostname()}:${process.pid}`;
  const active = new Map<string, { job: Job<QueueJobData>; token: string }>();
  let stopping = false;

  const processor = async (job: Job<QueueJobData>, token?: string): Promise<QueueJobResult> => {
    const d = job.data;
    const ref: JobRef = { id: job.id, input: d.input, output: d.output };
    active.set(job.id!, { job, token: token ?? '' });
    try {
      const attempt = job.attemptsMade + 1;
      const usesModels = needsModels(d.settings);
      const outcome = await runJob(d, {
        local: { ...local, modelThreads: usesModels ? local.modelThreads : undefined },
        jobId: job.id,
        expected: d.identity,
        // A rerun (after a crash or a stall) removes what the dead run left; a live run renews its temp file every frame.
        // The dead run's lock was last renewed at most lockDuration / 2 (BullMQ's renew time) before its last write,
        // so its temp is at least that old when the lock has expired: a quarter leaves a margin (lockDuration itself
        // kept a temp written 1-2 s before the rerun and failed the SIGKILL test under load).
        staleTempMs: (job.attemptsStarted ?? 1) > 1 || job.stalledCounter > 0 ? Math.min(lockDuration / 4, 10_000) : lockDuration * 4,
        onStart: () => o.sink.emit({ event: 'job-start', ...ref, attempt }),
        onProgress: (stage, frames, total) => {
          o.sink.emit({ event: 'job-progress', ...ref, stage, frames, total_frames: total ?? null });
        },
        onNote: o.onNote,
      });
      if (outcome.status === 'failed') {
        const e = outcome.error;
        const permanent = isPermanent(e.stage, e.message);
        const final = permanent || attempt >= (job.opts.attempts ?? 1);
        if (!stopping) o.sink.emit(failedEvent(ref, e, { attempt, final }));
        throw permanent ? new UnrecoverableError(e.message) : new Error(e.message);
      }
      const r = outcome.report;
      const result: QueueJobResult = {
        status: outcome.status, output: d.output, report: d.report, frames: r.frames, video_kbps: r.video_bitrate_kbps, saving: r.batch.saving,
        agreement: r.rca ? r.rca.regional.confident : null, worker: me, time_s: outcome.ms / 1000,
      };
      if (outcome.status === 'skipped') o.sink.emit({ event: 'job-skipped', ...ref, report: d.report, reason: outcome.reason });
      else o.sink.emit({ event: 'job-done', ...ref, report: d.report, frames: r.frames, video_kbps: r.video_bitrate_kbps, saving: r.batch.saving, agreement: result.agreement, time_s: result.time_s });
      return result;
    } finally {
      active.delete(job.id!);
    }
  };

  const worker = new Worker<QueueJobData, QueueJobResult>(o.queue, processor, {
    connection: o.connection,
    concurrency: plan.jobs,
    stalledInterval: o.stalledInterval ?? DEFAULT_STALLED_INTERVAL_MS,
    lockDuration,
    maxStalledCount: o.maxStalledCount ?? DEFAULT_MAX_STALLED,
    autorun: false,
    name: me,
  });
  // Connection errors while Redis restarts are expected: the worker reconnects.
  let lastError = '';
  worker.on('error', (err) => {
    const line = `queue worker: ${err.message.split('\n')[0]} (retrying)`;
    if (line !== lastError) o.onNote?.(line);
    lastError = line;
  });
  o.connection.on('ready', () => {
    if (lastError) o.onNote?.('queue worker: connected to Redis again');
    lastError = '';
  });

  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((r) => (finish = r));
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Put running jobs back to waiting: another worker (or this one, restarted) takes them.
    await Promise.allSettled([...active.values()].map(({ job, token }) => job.moveToWait(token)));
    await worker.close(true).catch(() => undefined);
    o.sink.close();
    finish(code);
  };
  // SIGINT/SIGTERM/SIGHUP: atomic-output removes the running encodes' temp files, then waits
  // (at most a few seconds) for this hook, which releases the jobs; then the process exits 0.
  const removeHook = onInterrupt(async () => {
    await stop(0);
    process.exit(0);
  });

  let drainTimer: NodeJS.Timeout | undefined;
  const counter = o.exitWhenDrained ? new Queue(o.queue, { connection: o.connection }) : undefined;
  if (counter) {
    const check = async () => {
      if (stopping) return;
      try {
        const c = await pendingCount(counter);
        if (active.size === 0 && c === 0) {
          await stop(0);
          return;
        }
      } catch {
        // Redis away: try again
      }
      drainTimer = setTimeout(check, 500);
    };
    drainTimer = setTimeout(check, 500);
  }
  void worker.run().catch((err) => {
    o.onNote?.(`queue worker: ${(err as Error).message}`);
    void stop(1);
  });
  const code = await finished;
  if (drainTimer) clearTimeout(drainTimer);
  await counter?.close().catch(() => undefined);
  removeHook();
  return code;
}

/** Jobs still to do anywhere in the queue: waiting, prioritized, delayed (awaiting a retry) or active. */
async function pendingCount(queue: Queue): Promise<number> {
  const c = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
  return Object.values(c).reduce((a, b) => a + b, 0);
}

export { JOB_NAME };
