/**
 * What a batch (or a queue worker) tells the world: NDJSON events on stdout with --json
 * (schema in the README, "Batch jobs and the queue"), otherwise one line per finished job,
 * and on a terminal one overall progress bar on stderr.
 */
import type { DmvjndError } from '../errors.ts';

export interface JobRef {
  /** 1-based position in the batch (queue workers: omitted). */
  job?: number;
  /** Queue job id (batch: omitted). */
  id?: string;
  input: string;
  output: string;
}

export type BatchEvent =
  | { event: 'batch-start'; jobs: number; concurrency: number; threads: { cores: number; x264: number; model: number | null }; out: string }
  | ({ event: 'job-start'; attempt?: number } & JobRef)
  | ({ event: 'job-progress'; stage: 'encode' | 'verify'; frames: number; total_frames: number | null } & JobRef)
  | ({ event: 'job-done'; report: string; frames: number; video_kbps: number; saving: number | null; agreement: number | null; time_s: number } & JobRef)
  | ({ event: 'job-skipped'; report: string; reason: string } & JobRef)
  | ({ event: 'job-failed'; stage: string; reason: string; attempt?: number; final?: boolean } & JobRef)
  | { event: 'batch-done'; counts: { total: number; done: number; skipped: number; failed: number }; summary: { markdown: string; csv: string } | null; time_s: number; interrupted?: boolean };

export interface EventSink {
  emit(e: BatchEvent): void;
  close(): void;
}

/** How often a running job's progress is emitted at most. */
const PROGRESS_EVERY_MS = 1000;

export function failedEvent(ref: JobRef, err: DmvjndError, extra: { attempt?: number; final?: boolean } = {}): BatchEvent {
  return { event: 'job-failed', ...ref, stage: err.stage, reason: err.message, ...extra };
}

/** NDJSON on stdout, progress throttled per job. */
export function jsonSink(write: (line: string) => void = (l) => process.stdout.write(l)): EventSink {
  const last = new Map<string, number>();
  return {
    emit(e) {
      if (e.event === 'job-progress') {
        const key = `${e.job ?? e.id}`;
        const now = performance.now();
        if (now - (last.get(key) ?? -Infinity) < PROGRESS_EVERY_MS && e.frames !== e.total_frames) return;
        last.set(key, now);
      }
      write(`${JSON.stringify(e)}\n`);
    },
    close() {},
  };
}

const fmt = (n: number | null | undefined, d = 1) => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d));

/** One line per finished job on stdout; on a terminal, an overall progress bar on stderr. */
export function textSink(o: { tty?: boolean; total?: number } = {}): EventSink {
  const tty = o.tty ?? Boolean(process.stderr.isTTY);
  let total = o.total ?? 0;
  let finished = 0;
  const running = new Map<string, { name: string; frames: number; total: number | null }>();
  let barShown = false;
  let lastDraw = 0;
  const t0 = performance.now();
  const clearBar = () => {
    if (barShown) process.stderr.write('\r\x1b[K');
    barShown = false;
  };
  const draw = (force = false) => {
    if (!tty || total === 0) return;
    const now = performance.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    let partial = 0;
    for (const r of running.values()) if (r.total) partial += Math.min(1, r.frames / r.total);
    const frac = Math.min(1, (finished + partial) / total);
    const width = 24;
    const filled = Math.round(frac * width);
    const secs = (now - t0) / 1000;
    const eta = frac > 0.02 ? `  ETA ${Math.max(0, secs / frac - secs).toFixed(0)}s` : '';
    const names = [...running.values()].map((r) => `${r.name}${r.total ? ` ${Math.round((100 * r.frames) / r.total)}%` : ''}`).join(', ');
    const cols = process.stderr.columns || 100;
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${finished}/${total} jobs ${(100 * frac).toFixed(0)}%${eta}${names ? `  ${names}` : ''}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
    barShown = true;
  };
  const line = (text: string) => {
    clearBar();
    process.stdout.write(`${text}\n`);
    draw(true);
  };
  const key = (e: JobRef) => `${e.job ?? e.id}`;
  const name = (p: string) => p.split('/').pop() ?? p;
  return {
    emit(e) {
      switch (e.event) {
        case 'batch-start':
          total = e.jobs;
          draw(true);
          break;
        case 'job-start':
          running.set(key(e), { name: name(e.input), frames: 0, total: null });
          draw(true);
          break;
        case 'job-progress': {
          const r = running.get(key(e));
          if (r) Object.assign(r, { frames: e.frames, total: e.total_frames });
          draw();
          break;
        }
        case 'job-done':
          running.delete(key(e));
          finished++;
          line(`done     ${e.input} -> ${e.output}  ${e.frames} frames, ${fmt(e.video_kbps)} kbit/s${e.saving !== null ? ` (saving ${fmt(100 * e.saving)}%)` : ''}${e.agreement !== null ? `, agreement ${fmt(100 * e.agreement, 2)}%` : ''}, ${fmt(e.time_s, 1)} s`);
          break;
        case 'job-skipped':
          running.delete(key(e));
          finished++;
          line(`skipped  ${e.input} -> ${e.output}  (${e.reason})`);
          break;
        case 'job-failed':
          running.delete(key(e));
          if (e.final !== false) finished++;
          line(`failed   ${e.input}: ${e.reason}${e.final === false ? ' (will be retried)' : ''}`);
          break;
        case 'batch-done':
          clearBar();
          if (e.interrupted) process.stdout.write(`interrupted after ${fmt(e.time_s, 1)} s: ${e.counts.done} done, ${e.counts.skipped} skipped, ${e.counts.failed} failed; run the same command again to finish the rest\n`);
          break;
      }
    },
    close: clearBar,
  };
}
