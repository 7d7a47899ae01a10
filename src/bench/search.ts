/**
 * Target-RCA search (issue 5, ab-av1 style): the cheapest encode whose classifier agreement
 * meets a target on sampled segments of the clip.
 *
 * 1. Sample N segments of F frames, centred in N equal parts of the clip. A segment is a
 *    lavfi graph over the file (`movie=<file>,trim=start_frame=..:end_frame=..,setpts=..`),
 *    so nothing is cut to disk and the media core needs no seek option; decoding starts at
 *    the file's beginning, which costs little next to encoding and verifying.
 * 2. For plain x264 and for the DMV-JND at each gain, binary-search the highest integer CRF
 *    in [lo, hi] whose RCA (default: confident regional) is >= the target on every sample.
 *    This assumes RCA does not rise with CRF; measured curves are noisy near saturation, so
 *    the CRF found is the last passing one on the search path, not a proof for every CRF.
 * 3. The cheapest (fewest bytes over the samples) setting that meets the target wins; its
 *    size is reported against plain x264 at the CRF that meets the same target. When no
 *    setting meets it, the result says so and names the best RCA reached.
 * 4. Optionally encode the whole clip with the winner.
 *
 * Every sample result is cached on disk (one JSON per segment x method x CRF x settings)
 * under os.tmpdir()/dmvjnd-search-cache, keyed by the clip's path, size and content hash.
 */
import { AnalysisMemo } from '../analysis/analyser.ts';
import { ReferenceDecisionCache } from '../analysis/verify.ts';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DmvjndError } from '../errors.ts';
import type { ModelSet } from '../inference/models.ts';
import { probeMedia } from '../media/probe.ts';
import type { InputSpec } from '../media/source.ts';
import { DEFAULT_X264, EXTENDED_MAX_CRF, type X264Settings } from '../media/x264-settings.ts';
import { checkOutputPath } from '../util/atomic-output.ts';
import { DetectionMemo, encode, jndSettingsFor, type EncodeReport, type JndSettings } from '../pipeline.ts';
import { parseMethod, type BenchMethod } from './methods.ts';
import { parseDetectorBenchMethod } from './detector-bench.ts';
import { scoreOf, type Machine, type MachineScores } from '../machines/machine.ts';
import type { DetectorMachine } from '../machines/detector.ts';
import { clipIdentity, jndKey, modelsFingerprint, pointFromReport, pointKey, rcaOf, type BenchPoint, type RcaKind } from './run-bench.ts';

export const SEARCH_KINDS = ['regional-confident', 'regional-all', 'global-confident'] as const;
/** With a detector machine: detection F1 or mAP@0.5 against the source. */
export const DETECTOR_SEARCH_KINDS = ['f1', 'map50'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number] | (typeof DETECTOR_SEARCH_KINDS)[number];
/** The detector search's candidate methods by default (plain x264 is always searched). */
export const DEFAULT_DETECTOR_SEARCH_METHODS = ['det-scale-interp'];
export const DEFAULT_SEARCH_CACHE = join(tmpdir(), 'dmvjnd-search-cache');

export interface Segment {
  /** First frame (0-based) of the segment in the clip. */
  start: number;
  frames: number;
}

export interface Evaluation {
  crf: number;
  /** Lowest RCA of the chosen kind over the samples (null: no such decisions anywhere). */
  rca_min: number | null;
  /** Per sample, in segment order. */
  rca: Array<number | null>;
  bytes: number;
  /** Total bits over total duration of the samples. */
  kbps: number;
  meets: boolean;
}

export interface Candidate {
  method: string;
  /** The JND gain; null for plain x264. */
  gain: number | null;
  /** The highest CRF found that meets the target; null when even the lowest CRF fails. */
  crf: number | null;
  /** Its evaluation (null when none meets). */
  result: Evaluation | null;
  /** The evaluation with the highest RCA seen (what came closest when none meets). */
  best: Evaluation;
  /** Every CRF evaluated, in search order. */
  evaluated: Evaluation[];
}

export interface SearchResult {
  input: string;
  kind: SearchKind;
  min_rca: number;
  crf_range: [number, number];
  samples: Segment[];
  clip_frames: number;
  candidates: Candidate[];
  /** The plain-x264 candidate (the comparison). */
  x264: Candidate;
  /** The cheapest DMV-JND setting that meets the target, if any. */
  best_jnd: Candidate | null;
  /** The cheapest setting that meets the target, plain x264 included; null when none does. */
  winner: Candidate | null;
  met: boolean;
  /** 1 - bytes(best DMV-JND) / bytes(plain x264 at its passing CRF), over the samples. */
  saving_vs_x264: number | null;
  /** One paragraph saying what was found. */
  message: string;
  encode: EncodeReport | null;
  cache: { dir: string | null; hits: number; misses: number };
}

export type SearchEvent =
  | { type: 'segments'; samples: Segment[]; clip_frames: number }
  | { type: 'evaluate'; method: string; crf: number; sample: number; samples: number; cached: boolean }
  | { type: 'evaluated'; method: string; evaluation: Evaluation }
  | { type: 'progress'; stage: 'encode' | 'verify'; frames: number; total: number | undefined }
  | { type: 'final-encode'; method: string; crf: number };

export interface SearchOptions {
  input: string | InputSpec;
  minRca: number;
  kind?: SearchKind;
  samples?: number;
  sampleFrames?: number;
  gains?: number[];
  crfRange?: [number, number];
  /** The CIFAR models (the cifar search, and JND methods); not needed with a detector machine. */
  models?: ModelSet;
  /**
   * A detector machine: the target is its F1 (or mAP@0.5) against the source, and the
   * candidates are plain x264 and `methods` (det-roi, ...) guided by `guide`.
   */
  machine?: Machine;
  guide?: DetectorMachine;
  methods?: string[];
  x264?: Partial<Omit<X264Settings, 'rateControl'>>;
  jnd?: Partial<JndSettings>;
  tau?: number;
  /** Folder for cached sample results; null turns the cache off. */
  cacheDir?: string | null;
  /** Encode the whole clip with the winner. */
  encode?: { output: string; verify?: boolean };
}

export async function searchTarget(opts: SearchOptions, onEvent: (e: SearchEvent) => void = () => {}): Promise<SearchResult> {
  // Each clip's reference decisions are computed once and shared by all its points.
  const referenceCache = new ReferenceDecisionCache();
  const detector = opts.machine;
  const kinds: readonly string[] = detector ? DETECTOR_SEARCH_KINDS : SEARCH_KINDS;
  const kind = opts.kind ?? (detector ? 'f1' : 'regional-confident');
  if (!kinds.includes(kind)) throw new DmvjndError('arguments', undefined, `expected --kind among ${kinds.join(', ')} but received "${kind}"`);
  const flag = detector ? `--min-${kind === 'f1' ? 'f1' : 'map50'}` : '--min-rca';
  if (!(opts.minRca > 0 && opts.minRca <= 1)) throw new DmvjndError('arguments', undefined, `expected ${flag} in (0, 1] but received ${opts.minRca}`);
  if (!detector && !opts.models) throw new Error('searchTarget needs the CIFAR models or a detector machine');
  const samples = opts.samples ?? 4;
  const sampleFrames = opts.sampleFrames ?? 24;
  if (!(Number.isInteger(samples) && samples >= 1)) throw new DmvjndError('arguments', undefined, `expected --samples to be a positive integer but received ${samples}`);
  if (!(Number.isInteger(sampleFrames) && sampleFrames >= 1)) throw new DmvjndError('arguments', undefined, `expected --sample-frames to be a positive integer but received ${sampleFrames}`);
  const [lo, hi] = opts.crfRange ?? [12, 51];
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi <= EXTENDED_MAX_CRF && lo <= hi)) {
    throw new DmvjndError('arguments', undefined, `expected --crf-range as two integers 1 <= lo <= hi <= ${EXTENDED_MAX_CRF} but received ${lo},${hi}`);
  }
  const gains = opts.gains ?? [0.15, 0.25, 0.5];
  if (gains.length === 0 || gains.some((g) => !(Number.isFinite(g) && g >= 0))) {
    throw new DmvjndError('arguments', undefined, `expected --gains as non-negative numbers but received ${gains.join(',')}`);
  }
  const tau = opts.tau ?? 0.5;
  const x264Base = { ...DEFAULT_X264, ...opts.x264 };
  // The methods share one float32 model set (and the baselines need its classifiers): the
  // analysis precision is float32 unless the caller says otherwise.
  const jndBase: Partial<JndSettings> = { precision: 'float32', ...opts.jnd };
  // Detector methods at the detector's stride unless one is set, as encode does.
  const jndOf = (method: Pick<BenchMethod, 'offsets' | 'jnd'>): JndSettings =>
    jndSettingsFor(typeof method.offsets === 'object' && (method.offsets as { kind?: string }).kind === 'detector', jndBase, method.jnd);
  // A bad output path fails now, not after the search.
  if (opts.encode) checkOutputPath(opts.encode.output);
  const spec: InputSpec = typeof opts.input === 'string' ? { source: opts.input } : opts.input;
  const label = spec.label ?? spec.source;
  const identity = clipIdentity(spec);
  const info = await probeMedia(opts.input);
  const segments = sampleSegments(info.frames, samples, sampleFrames);
  onEvent({ type: 'segments', samples: segments, clip_frames: info.frames });
  const segmentInputs = segments.map((s) => segmentInput(spec, s));
  // Each segment's CAM/JND analysis is shared by every CRF and gain tried on it.
  const analysisMemo = new AnalysisMemo(segments.length);
  const modelsId = detector ? `${detector.fingerprint}|${opts.guide?.fingerprint}` : modelsFingerprint(opts.models!);
  const detectionMemo = new DetectionMemo();
  const cacheDir = opts.cacheDir === undefined ? DEFAULT_SEARCH_CACHE : opts.cacheDir;
  const stats = { hits: 0, misses: 0 };
  const work = mkdtempSync(join(tmpdir(), 'dmvjnd-search-'));
  // Ctrl-C exits from the encoder's signal handler: remove the scratch folder then too.
  const removeWork = () => rmSync(work, { recursive: true, force: true });
  process.once('exit', removeWork);

  const evaluate = async (method: Pick<BenchMethod, 'name' | 'offsets' | 'jnd'>, crf: number): Promise<Evaluation> => {
    const jnd = jndOf(method);
    const x264: X264Settings = { ...x264Base, rateControl: { mode: 'crf', crf } };
    const rca: Array<number | null> = [];
    let bytes = 0;
    let seconds = 0;
    for (const [i, seg] of segments.entries()) {
      const key = pointKey({ search: 1, clip: identity, segment: seg, method: method.name, crf, x264, jnd: jndKey(jnd, method.offsets), tau, models: modelsId });
      const file = cacheDir ? join(cacheDir, `${key}.json`) : undefined;
      let entry = file ? readCache(file) : undefined;
      onEvent({ type: 'evaluate', method: method.name, crf, sample: i, samples: segments.length, cached: entry !== undefined });
      if (entry) {
        stats.hits++;
      } else {
        stats.misses++;
        const output = join(work, `sample-${i}.mp4`);
        try {
          const report = await encode({
            input: segmentInputs[i],
            output,
            offsets: method.offsets,
            x264,
            jnd,
            models: detector ? undefined : opts.models,
            ...(detector ? { machine: detector.name, loadedMachines: [detector], guideMachine: opts.guide, detectionMemo } : { machine: 'cifar' }),
            verify: true,
            tau,
            referenceCache,
            analysisMemo,
            onProgress: (stage, frames, total) => onEvent({ type: 'progress', stage, frames, total }),
          });
          entry = detector
            ? { point: { video_bytes: report.video_bytes, bytes: report.bytes, machines: report.machines ?? {} } as unknown as BenchPoint, duration: report.duration }
            : { point: pointFromReport(report, { clip: label, method: method as BenchMethod, crf, reference: false }), duration: report.duration };
        } finally {
          rmSync(output, { force: true });
        }
        if (file) writeCache(file, entry);
      }
      rca.push(detector ? scoreOf((entry.point as unknown as { machines: Record<string, MachineScores> }).machines[detector.name], kind) : rcaOfKind(entry.point, kind as (typeof SEARCH_KINDS)[number]));
      // Video bytes (segments carry no audio; entries cached before video_bytes existed hold
      // the file's bytes, i.e. video plus the small MP4 container).
      bytes += entry.point.video_bytes ?? entry.point.bytes;
      seconds += entry.duration;
    }
    const present = rca.filter((v): v is number => v !== null);
    const rcaMin = present.length ? Math.min(...present) : null;
    const evaluation: Evaluation = {
      crf,
      rca_min: rcaMin,
      rca,
      bytes,
      kbps: seconds > 0 ? (bytes * 8) / seconds / 1000 : 0,
      meets: rcaMin !== null && rcaMin >= opts.minRca,
    };
    onEvent({ type: 'evaluated', method: method.name, evaluation });
    return evaluation;
  };

  try {
    const methods: Array<{ method: Pick<BenchMethod, 'name' | 'offsets' | 'jnd'>; gain: number | null }> = detector
      ? [
          { method: parseMethod('x264'), gain: null },
          ...(opts.methods ?? DEFAULT_DETECTOR_SEARCH_METHODS).map((m) => ({ method: parseDetectorBenchMethod(m), gain: null })),
        ]
      : [
          { method: parseMethod('x264'), gain: null },
          ...gains.map((g) => ({ method: parseMethod(`dmv-jnd@${g}`), gain: g })),
        ];
    const candidates: Candidate[] = [];
    for (const { method, gain } of methods) {
      const found = await highestPassingCrf(lo, hi, (crf) => evaluate(method, crf));
      candidates.push({ method: method.name, gain, ...found });
    }
    const x264 = candidates[0];
    const passingJnd = candidates.slice(1).filter((c) => c.result !== null);
    const bestJnd = passingJnd.length ? passingJnd.reduce((a, b) => (b.result!.bytes < a.result!.bytes ? b : a)) : null;
    const passing = candidates.filter((c) => c.result !== null);
    const winner = passing.length ? passing.reduce((a, b) => (b.result!.bytes < a.result!.bytes ? b : a)) : null;
    const saving = bestJnd && x264.result ? 1 - bestJnd.result!.bytes / x264.result.bytes : null;
    const result: SearchResult = {
      input: label,
      kind,
      min_rca: opts.minRca,
      crf_range: [lo, hi],
      samples: segments,
      clip_frames: info.frames,
      candidates,
      x264,
      best_jnd: bestJnd,
      winner,
      met: winner !== null,
      saving_vs_x264: saving,
      message: '',
      encode: null,
      cache: { dir: cacheDir, ...stats },
    };
    result.message = searchMessage(result);
    if (opts.encode) {
      if (!winner) {
        throw new DmvjndError('encode', opts.encode.output, `no setting meets ${kind}${detector ? '' : ' RCA'} >= ${opts.minRca} on the samples, so nothing was encoded (${result.message})`);
      }
      onEvent({ type: 'final-encode', method: winner.method, crf: winner.crf! });
      const method = detector ? parseDetectorBenchMethod(winner.method) : parseMethod(winner.method);
      result.encode = await encode({
        input: opts.input,
        output: opts.encode.output,
        offsets: method.offsets,
        x264: { ...x264Base, rateControl: { mode: 'crf', crf: winner.crf! } },
        jnd: jndOf(method),
        models: detector ? undefined : opts.models,
        ...(detector ? { machine: detector.name, loadedMachines: [detector] } : { machine: 'cifar' }),
        verify: opts.encode.verify ?? false,
        tau,
        onProgress: (stage, frames, total) => onEvent({ type: 'progress', stage, frames, total }),
      });
    }
    return result;
  } finally {
    removeWork();
    process.removeListener('exit', removeWork);
  }
}

/**
 * Binary search for the highest integer CRF in [lo, hi] whose evaluation meets the
 * target, assuming that passing is monotone (passes up to some CRF, fails above).
 * Evaluates lo first: when it fails, nothing passes and `best` is the evaluation with the
 * highest RCA seen.
 */
export async function highestPassingCrf(
  lo: number,
  hi: number,
  evaluate: (crf: number) => Promise<Evaluation>,
): Promise<{ crf: number | null; result: Evaluation | null; best: Evaluation; evaluated: Evaluation[] }> {
  const evaluated: Evaluation[] = [];
  const run = async (crf: number) => {
    const e = await evaluate(crf);
    evaluated.push(e);
    return e;
  };
  const first = await run(lo);
  const bestOf = () => evaluated.reduce((a, b) => ((b.rca_min ?? -1) > (a.rca_min ?? -1) ? b : a));
  if (!first.meets) return { crf: null, result: null, best: bestOf(), evaluated };
  let pass = first;
  let failCrf = hi + 1;
  while (failCrf - pass.crf > 1) {
    const mid = Math.floor((pass.crf + failCrf) / 2);
    const e = await run(mid);
    if (e.meets) pass = e;
    else failCrf = mid;
  }
  return { crf: pass.crf, result: pass, best: bestOf(), evaluated };
}

/**
 * N segments of F frames, centred in N equal parts of a clip of `total` frames. A clip
 * shorter than N x F gives fewer segments (at least one: the whole clip when shorter than F).
 */
export function sampleSegments(total: number, samples: number, frames: number): Segment[] {
  if (!(Number.isInteger(total) && total > 0)) throw new DmvjndError('probe', undefined, `expected a clip with frames but it has ${total}`);
  if (total <= frames) return [{ start: 0, frames: total }];
  const n = Math.max(1, Math.min(samples, Math.floor(total / frames)));
  const out: Segment[] = [];
  for (let i = 0; i < n; i++) {
    const centre = ((i + 0.5) * total) / n;
    const start = Math.min(total - frames, Math.max(0, Math.round(centre - frames / 2)));
    out.push({ start, frames });
  }
  return out;
}

/** A lavfi input that yields frames [start, start + frames) of the clip, timestamps from 0. */
export function segmentInput(spec: InputSpec, seg: Segment): InputSpec {
  const cut = `trim=start_frame=${seg.start}:end_frame=${seg.start + seg.frames},setpts=PTS-STARTPTS`;
  const label = `${spec.label ?? spec.source} [frames ${seg.start}-${seg.start + seg.frames - 1}]`;
  if (spec.lavfi) return { source: `${spec.source},${cut}`, lavfi: true, label };
  return { source: `movie=${escapeGraph(`filename=${escapeOption(spec.source)}`)},${cut}`, lavfi: true, label };
}

/** Escaping for a filter option value (first level of FFmpeg's filtergraph escaping). */
export function escapeOption(value: string): string {
  return value.replace(/[\\':]/g, '\\$&');
}

/** Escaping for a filter's argument string inside a graph (second level). */
export function escapeGraph(args: string): string {
  return args.replace(/[\\'[\],;]/g, '\\$&');
}

function rcaOfKind(p: BenchPoint, kind: SearchKind): number | null {
  return rcaOf(p, kind.replace('-', '_') as RcaKind);
}

interface CacheEntry {
  point: BenchPoint;
  duration: number;
}

function readCache(file: string): CacheEntry | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const e = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
    return e && e.point && typeof e.duration === 'number' ? e : undefined;
  } catch {
    return undefined; // a damaged entry is recomputed
  }
}

function writeCache(file: string, entry: CacheEntry): void {
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, file);
  } catch {
    // the cache is an optimisation: a read-only temp dir must not fail the search
  }
}

const pct = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(d)}%`);

export function searchMessage(r: SearchResult): string {
  const detector = r.kind === 'f1' || r.kind === 'map50';
  const what = detector ? (r.kind === 'f1' ? 'detection F1' : 'mAP@0.5') : `${r.kind} RCA`;
  const target = `${what} >= ${pct(r.min_rca)} on all ${r.samples.length} sample${r.samples.length === 1 ? '' : 's'}`;
  const name = (c: Candidate) => (c.method === 'x264' ? 'plain x264' : c.gain === null ? c.method : `dmv-jnd gain ${c.gain}`);
  const describe = (c: Candidate) => `${name(c)} at CRF ${c.crf}`;
  if (!r.winner) {
    const best = r.candidates.reduce((a, b) => ((b.best.rca_min ?? -1) > (a.best.rca_min ?? -1) ? b : a));
    return `No setting meets ${target} within CRF ${r.crf_range[0]}-${r.crf_range[1]}; the best was ${name(best)} at CRF ${best.best.crf} with a lowest sample ${detector ? what : 'RCA'} of ${pct(best.best.rca_min)}.`;
  }
  const parts = [`Cheapest setting meeting ${target}: ${describe(r.winner)}, ${r.winner.result!.kbps.toFixed(1)} kbit/s on the samples.`];
  if (r.best_jnd && r.x264.result) {
    const s = r.saving_vs_x264!;
    parts.push(
      `Best ${detector ? 'detector-guided' : 'dmv-jnd'} setting (${describe(r.best_jnd)}, ${r.best_jnd.result!.kbps.toFixed(1)} kbit/s) is ${pct(Math.abs(s), 1)} ${s >= 0 ? 'smaller' : 'larger'} than plain x264 at CRF ${r.x264.crf} (${r.x264.result.kbps.toFixed(1)} kbit/s), the highest plain CRF meeting the same target.`,
    );
  } else if (!r.best_jnd) {
    parts.push(`No ${detector ? 'detector-guided setting' : 'dmv-jnd gain'} meets the target; plain x264 does.`);
  } else {
    parts.push(`Plain x264 does not meet the target at any CRF in ${r.crf_range[0]}-${r.crf_range[1]} (best lowest sample ${detector ? what : 'RCA'} ${pct(r.x264.best.rca_min)} at CRF ${r.x264.best.crf}).`);
  }
  return parts.join(' ');
}
