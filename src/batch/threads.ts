/**
 * One thread budget across concurrent jobs: N jobs share the machine's cores, each job's
 * x264 threads plus its model threads (the JND analysis / verification) fit in its share,
 * so the jobs together never oversubscribe the machine.
 *
 * Default concurrency: measured by bench/batch-throughput.ts on the 2-core development
 * machine (bench/results/batch-throughput.md): see DEFAULT_JOBS_RULE.
 */
import { availableParallelism } from 'node:os';
import { DmvjndError } from '../errors.ts';

export interface ThreadPlan {
  cores: number;
  jobs: number;
  /** x264 threads per job (never 0 here: x264's auto would take every core per job). */
  x264: number;
  /** ONNX Runtime threads per job (undefined when the jobs load no models). */
  model: number | undefined;
  /** A note to print (jobs clamped to the cores), or undefined. */
  note?: string;
}

export function cores(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The default number of concurrent jobs on `n` cores: one per two cores. A JND job keeps
 * two threads busy (x264 and the analysis models), and on the 2-core development machine
 * two jobs at once gave 0.82x the jobs per minute of one (bench/results/batch-throughput.md:
 * six dev clips, 48 frames each, --offsets jnd), so two cores run one job.
 */
export function defaultJobs(n = cores()): number {
  return Math.max(1, Math.floor(n / 2));
}

export const DEFAULT_JOBS_RULE = 'one job per two cores';

/**
 * Split the cores between `jobs` jobs. Explicit per-job threads (x264 `--threads`, `--model-threads`)
 * are kept but must fit: jobs x (x264 + model threads) <= cores, otherwise a usage error.
 */
export function planThreads(o: { jobs?: number; x264Threads?: number; modelThreads?: number; usesModels: boolean; cores?: number; what?: string }): ThreadPlan {
  const n = o.cores ?? cores();
  const what = o.what ?? '--jobs';
  let jobs = o.jobs ?? defaultJobs(n);
  if (!Number.isInteger(jobs) || jobs < 1) throw new DmvjndError('arguments', undefined, `expected ${what} to be an integer >= 1 but received ${o.jobs}`);
  let note: string | undefined;
  if (jobs > n) {
    note = `${what} ${jobs} reduced to ${n}: this machine has ${n} cores and each job needs at least one thread`;
    jobs = n;
  }
  const share = Math.max(1, Math.floor(n / jobs));
  const explicitX264 = o.x264Threads !== undefined && o.x264Threads > 0 ? o.x264Threads : undefined;
  let model = o.usesModels ? (o.modelThreads ?? (share >= 2 ? Math.max(1, Math.floor(share / 2)) : 1)) : undefined;
  // With one core per job the models and x264 share it: 1 + 1 threads on one core each
  // would oversubscribe, so the analysis runs on x264's share (x264 gets 1 thread, the
  // models 1, and the budget counts them as one core's worth only when share is 1).
  let x264 = explicitX264 ?? Math.max(1, share - (model !== undefined && share >= 2 ? model : 0));
  if (explicitX264 !== undefined || o.modelThreads !== undefined) {
    const per = x264 + (model ?? 0);
    if (jobs * per > Math.max(n, jobs)) {
      throw new DmvjndError('arguments', undefined, `expected ${what} x (--threads + --model-threads) <= ${n} cores but ${jobs} x (${x264} + ${model ?? 0}) is ${jobs * per}: lower them or leave them out for an even split`);
    }
  }
  if (model !== undefined && model < 1) model = 1;
  if (x264 < 1) x264 = 1;
  return { cores: n, jobs, x264, model, note };
}
