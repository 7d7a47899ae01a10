/**
 * One job, as `batch` and the queue worker run it: check the input's identity, skip when
 * the output and its report already hold this work, otherwise encode through the library's
 * `encode(...)` (output written atomically), measure the input's video rate for the
 * saving, and write the report JSON beside the output (atomically too, after the output).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { asDmvjndError, DmvjndError } from '../errors.ts';
import { demuxPackets, openInput } from '../media/source.ts';
import { encode, type EncodeReport } from '../pipeline.ts';
import { beginAtomicOutput } from '../util/atomic-output.ts';
import { checkOutputIsNotInput } from '../util/same-file.ts';
import { encodeOptionsFor, normalisedSettings, type EncodeArgs, type LocalOptions } from './encode-args.ts';
import { canonicalJson, identityChange, identityHash, inputIdentity, settingsHash, type InputIdentity } from './identity.ts';

export interface JobInput {
  input: string;
  output: string;
  report: string;
  settings: EncodeArgs;
}

/** What a batch report adds to the encode report. */
export interface BatchInfo {
  job_id?: string;
  input_identity: InputIdentity;
  input_identity_sha256: string;
  settings_hash: string;
  settings: Record<string, unknown>;
  /** The input's video stream rate over the frames encoded (null for lavfi sources). */
  input_video_kbps: number | null;
  /** 1 - output video rate / input video rate (null when unknown). */
  saving: number | null;
  finished_at: string;
}

export type BatchReport = EncodeReport & { batch: BatchInfo };

export type JobOutcome =
  | { status: 'done'; report: BatchReport; ms: number }
  | { status: 'skipped'; report: BatchReport; reason: string; ms: number }
  | { status: 'failed'; error: DmvjndError; ms: number };

export interface RunJobOptions {
  local: LocalOptions;
  force?: boolean;
  jobId?: string;
  /** The identity the job was submitted with (queue): a vanished or changed input fails. */
  expected?: InputIdentity;
  /** Temp files of this output older than this many ms are left-overs of a killed run (default 0: all). */
  staleTempMs?: number;
  onStart?: () => void;
  onProgress?: (stage: 'encode' | 'verify', frames: number, total: number | undefined) => void;
  onNote?: (line: string) => void;
}

export async function runJob(job: JobInput, o: RunJobOptions): Promise<JobOutcome> {
  const t0 = performance.now();
  const ms = () => performance.now() - t0;
  try {
    let identity: InputIdentity;
    try {
      identity = inputIdentity(job.input);
    } catch (err) {
      if (o.expected) throw new DmvjndError('open input', job.input, 'the input vanished after the job was submitted (no such file)');
      throw err;
    }
    if (o.expected) {
      const change = identityChange(o.expected, identity);
      if (change) throw new DmvjndError('open input', job.input, `the input changed after the job was submitted (${change}): submit it again`);
    }
    const normalised = normalisedSettings(job.settings);
    const sHash = settingsHash(normalised);
    if (!o.force) {
      const existing = finishedReport(job, identity, sHash);
      if (existing) return { status: 'skipped', report: existing, reason: 'the output and its report exist for the same input and settings', ms: ms() };
    }
    checkOutputIsNotInput(job.input.startsWith('lavfi:') ? { source: job.input, lavfi: true } : job.input, job.output);
    mkdirSync(dirname(job.output), { recursive: true });
    removeStaleTemps(job.output, o.staleTempMs ?? 0);
    removeStaleTemps(job.report, o.staleTempMs ?? 0);
    o.onStart?.();
    const input = job.input.startsWith('lavfi:') ? { source: job.input.slice(6), lavfi: true, label: job.input } : job.input;
    const report = await encode({
      ...encodeOptionsFor(job.settings, o.local, { input, output: job.output }),
      onProgress: o.onProgress,
      onNote: o.onNote,
    });
    const inputKbps = typeof input === 'string' ? await videoRateKbps(input, report.frames, report.duration) : null;
    const full: BatchReport = {
      ...report,
      batch: {
        ...(o.jobId ? { job_id: o.jobId } : {}),
        input_identity: identity,
        input_identity_sha256: identityHash(identity),
        settings_hash: sHash,
        settings: normalised,
        input_video_kbps: inputKbps,
        saving: inputKbps ? 1 - report.video_bitrate_kbps / inputKbps : null,
        finished_at: new Date().toISOString(),
      },
    };
    writeReport(job.report, full);
    return { status: 'done', report: full, ms: ms() };
  } catch (err) {
    return { status: 'failed', error: asDmvjndError(err, 'encode', job.input), ms: ms() };
  }
}

/** The report of a finished job with this identity and these settings, when its output is there too. */
export function finishedReport(job: JobInput, identity: InputIdentity, sHash: string): BatchReport | undefined {
  if (!existsSync(job.output) || !existsSync(job.report)) return undefined;
  try {
    const r = JSON.parse(readFileSync(job.report, 'utf8')) as BatchReport;
    if (!r.batch || r.batch.settings_hash !== sHash) return undefined;
    if (canonicalJson(r.batch.input_identity) !== canonicalJson(identity)) return undefined;
    if (statSync(job.output).size !== r.bytes) return undefined;
    return r;
  } catch {
    return undefined;
  }
}

function writeReport(path: string, report: BatchReport): void {
  const out = beginAtomicOutput(path);
  try {
    writeFileSync(out.tempPath, `${JSON.stringify(report, null, 1)}\n`);
    out.commit();
  } catch (err) {
    out.discard();
    throw new DmvjndError('write output', path, (err as Error).message, { cause: err });
  }
}

/**
 * Temp files that a killed run left beside this output (the atomic-output naming:
 * `.<name>.dmvjnd-<hex>.tmp<ext>`), older than `olderThanMs`.
 */
export function removeStaleTemps(target: string, olderThanMs: number): string[] {
  const dir = dirname(target);
  const ext = extname(target);
  const prefix = `.${basename(target, ext)}.dmvjnd-`;
  const suffix = `.tmp${ext}`;
  const removed: string[] = [];
  if (!existsSync(dir)) return removed;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith(suffix)) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs < olderThanMs) continue;
      rmSync(path, { force: true });
      removed.push(path);
    } catch {
      // gone already
    }
  }
  return removed;
}

/** The input's video stream rate over its first `frames` packets (what the encode covered). */
async function videoRateKbps(path: string, frames: number, duration: number): Promise<number | null> {
  if (!(duration > 0)) return null;
  try {
    const input = await openInput(path);
    try {
      let bytes = 0;
      let n = 0;
      for await (const p of demuxPackets(input, 'probe')) {
        if (p.streamIndex !== input.video.index) continue;
        bytes += p.size;
        if (++n >= frames) break;
      }
      return (bytes * 8) / duration / 1000;
    } finally {
      await input.close();
    }
  } catch {
    return null;
  }
}
