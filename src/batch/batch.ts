/**
 * `dmvjnd batch` as a library function: run discovered jobs N at a time in this process
 * (each through the library's encode(...)), with one thread budget across them, isolated
 * failures, skips for finished work, events, and the summary table at the end.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { onInterrupt } from '../util/atomic-output.ts';
import type { JobSpec } from './discover.ts';
import { needsModels, type LocalOptions } from './encode-args.ts';
import { failedEvent, type EventSink, type JobRef } from './events.ts';
import { runJob, type JobOutcome } from './run-job.ts';
import { writeSummary, type SummaryRow } from './summary.ts';
import { planThreads, type ThreadPlan } from './threads.ts';

export interface BatchOptions {
  jobs: JobSpec[];
  out: string;
  /** Concurrent jobs (default: one per core). */
  concurrency?: number;
  /** Per-job local options; threads given here are per job and must fit the budget. */
  local: LocalOptions;
  force?: boolean;
  sink: EventSink;
  onNote?: (line: string) => void;
}

export interface BatchResult {
  counts: { total: number; done: number; skipped: number; failed: number };
  rows: SummaryRow[];
  summary: { markdown: string; csv: string };
  plan: ThreadPlan;
}

export async function runBatch(o: BatchOptions): Promise<BatchResult> {
  const t0 = performance.now();
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const plan = planThreads({
    jobs: o.concurrency,
    x264Threads: o.local.threads,
    modelThreads: o.local.modelThreads,
    usesModels: o.jobs.some((j) => needsModels(j.settings)),
  });
  if (plan.note) o.onNote?.(plan.note);
  const local: LocalOptions = { ...o.local, threads: plan.x264, modelThreads: plan.model };
  o.sink.emit({ event: 'batch-start', jobs: o.jobs.length, concurrency: plan.jobs, threads: { cores: plan.cores, x264: plan.x264, model: plan.model ?? null }, out });
  const rows: (SummaryRow | undefined)[] = new Array(o.jobs.length);
  const counts = { total: o.jobs.length, done: 0, skipped: 0, failed: 0 };
  // Ctrl-C: the running jobs' temp files are removed by atomic-output; finished outputs stay.
  const removeHook = onInterrupt(async () => {
    o.sink.emit({ event: 'batch-done', counts, summary: null, time_s: (performance.now() - t0) / 1000, interrupted: true });
    o.sink.close();
  });
  let next = 0;
  const runOne = async (job: JobSpec) => {
    const ref: JobRef = { job: job.index, input: job.input, output: job.output };
    const outcome: JobOutcome = await runJob(job, {
      local,
      force: o.force,
      onStart: () => o.sink.emit({ event: 'job-start', ...ref }),
      onProgress: (stage, frames, total) => o.sink.emit({ event: 'job-progress', ...ref, stage, frames, total_frames: total ?? null }),
      onNote: o.onNote,
    });
    rows[job.index - 1] = rowOf(job, outcome);
    if (outcome.status === 'failed') {
      counts.failed++;
      o.sink.emit(failedEvent(ref, outcome.error));
    } else if (outcome.status === 'skipped') {
      counts.skipped++;
      o.sink.emit({ event: 'job-skipped', ...ref, report: job.report, reason: outcome.reason });
    } else {
      counts.done++;
      const r = outcome.report;
      o.sink.emit({
        event: 'job-done', ...ref, report: job.report, frames: r.frames, video_kbps: r.video_bitrate_kbps, saving: r.batch.saving,
        agreement: agreementOf(r), time_s: outcome.ms / 1000,
      });
    }
  };
  const lane = async () => {
    while (next < o.jobs.length) await runOne(o.jobs[next++]);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(plan.jobs, o.jobs.length) }, lane));
  } finally {
    removeHook();
  }
  const done = rows.filter((r): r is SummaryRow => r !== undefined);
  const summary = writeSummary(done, out);
  o.sink.emit({ event: 'batch-done', counts, summary, time_s: (performance.now() - t0) / 1000 });
  o.sink.close();
  return { counts, rows: done, summary, plan };
}

function rowOf(job: JobSpec, o: JobOutcome): SummaryRow {
  if (o.status === 'failed') {
    return { input: job.input, output: job.output, frames: null, video_kbps: null, saving: null, agreement: null, time_s: o.ms / 1000, status: 'failed', reason: o.error.message };
  }
  const r = o.report;
  return {
    input: job.input, output: job.output, frames: r.frames, video_kbps: r.video_bitrate_kbps, saving: r.batch.saving,
    agreement: agreementOf(r), time_s: o.ms / 1000, status: o.status,
  };
}

/** The encode's headline agreement: its machine's detection F1, or the CIFAR confident regional RCA. */
function agreementOf(r: { rca: { regional: { confident: number | null } } | null; machines: Record<string, Record<string, unknown>> | null; settings: { machine: string } }): number | null {
  const f1 = r.machines?.[r.settings.machine]?.f1;
  if (typeof f1 === 'number') return f1;
  return r.rca ? r.rca.regional.confident : null;
}
