/**
 * Bitrate versus machine accuracy (issue 5): for each clip x method x CRF, encode with
 * pipeline.encode (same encoder, same settings, only the offsets differ) and verify
 * against the original; then, per clip and method, the BD-rate against plain x264 at
 * equal RCA (PCHIP on monotone curves, metrics/bd-rate.ts) and the knee.
 *
 *   points       one per clip x method x CRF, plus plain x264 at the reference CRF (12)
 *                per clip: the near-lossless noise floor of the all-decision RCA
 *   per_clip     one per clip x method: bd_rate {regional_confident, global_confident,
 *                regional_all} in percent (null + a note when the RCA ranges do not
 *                overlap), knees and the knee saving against x264
 *   summary      one per method: means over the clips that have a number
 *
 * Results can be cached in a JSON file (one entry per point, keyed by clip identity,
 * method, CRF and every setting), so an interrupted run resumes where it stopped.
 */
import { AnalysisMemo } from '../analysis/analyser.ts';
import { ReferenceDecisionCache } from '../analysis/verify.ts';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DmvjndError } from '../errors.ts';
import type { ModelSet } from '../inference/models.ts';
import type { InputSpec } from '../media/source.ts';
import { DEFAULT_X264, EXTENDED_MAX_CRF, type X264Settings } from '../media/x264-settings.ts';
import { bdRate, kneeRate, type RateQualityPoint } from '../metrics/bd-rate.ts';
import { DEFAULT_JND, encode, type EncodeReport, type JndSettings } from '../pipeline.ts';
import { ANCHOR_METHOD, parseMethod, type BenchMethod } from './methods.ts';

/** Bump when a method's definition or a point's schema changes: old cache entries then miss. */
export const BENCH_CACHE_VERSION = 1;
/**
 * Default CRF grid: denser where the curves bend (CRF 33-51 at the 128 px view), from below
 * the noise floor (1, 6, 12: the absolute-rule methods cap each macroblock at CRF + 12, so
 * their all-decision knees on noisy clips lie at low CRFs) to beyond x264's 51 (57, 63, 69:
 * CRF 51 plus 6 / 12 / 18 QP on every macroblock), because some curves keep 99% confident
 * regional RCA at CRF 51 (bench/results/rate-rca).
 */
export const DEFAULT_CRFS = [1, 6, 12, 18, 23, 28, 33, 37, 41, 45, 51, 57, 63, 69];
/** Plain x264 at this CRF is the near-lossless reference (noise floor of all-decision RCA). */
export const REFERENCE_CRF = 12;
/** Knee threshold for confident regional RCA. */
export const KNEE_CONFIDENT = 0.99;
/** Knee margin below the noise floor for all-decision regional RCA. */
export const KNEE_ALL_MARGIN = 0.01;

export const RCA_KINDS = ['regional_confident', 'global_confident', 'regional_all'] as const;
export type RcaKind = (typeof RCA_KINDS)[number];

export interface Fractions {
  all: number | null;
  confident: number | null;
}

export interface BenchPoint {
  clip: string;
  method: string;
  crf: number;
  /** True for the plain-x264 reference-CRF point that is not part of the CRF grid. */
  reference: boolean;
  frames: number;
  width: number;
  height: number;
  /** The whole output file (video, any audio, MP4 container). */
  bytes: number;
  /** The H.264 stream alone. 9 of the 14 dev clips carry audio, which would otherwise dilute every rate comparison. */
  video_bytes: number;
  /** Video bitrate: video_bytes * 8 / duration. */
  bitrate_kbps: number;
  /** Video bits per pixel: video_bytes * 8 / (frames * width * height). */
  bpp: number;
  psnr_y_db: number | null;
  rca: {
    tau: number;
    global: Fractions;
    regional: Fractions;
    per_classifier: { global: { all: Record<string, number | null>; confident: Record<string, number | null> }; regional: { all: Record<string, number | null>; confident: Record<string, number | null> } };
    heldout: { name: string | null; global: Fractions; regional: Fractions };
    user: Record<string, { global: Fractions }>;
    decisions: { global: { all: number; confident: number }; regional: { all: number; confident: number } };
  };
  /** Frames per second of the encode path (decode + offsets + x264 + mux), verification excluded. */
  encode_fps: number;
  /** Frames per second of the offset computation alone; null for methods without analysis. */
  analysis_fps: number | null;
  timings_ms: EncodeReport['timings_ms'];
}

export interface KneePoint {
  threshold: number;
  kbps: number;
  crf: number;
}

/**
 * Where a curve's knee lies relative to its measured points: 'inside' (some points meet
 * the threshold and some do not: the CRF grid brackets the knee), 'above' (every point
 * meets it: the knee is at or below the lowest rate measured), 'below' (no point does: it
 * lies above the highest rate measured), 'no data'.
 */
export type KneeSpan = 'inside' | 'above' | 'below' | 'no data';

export interface ClipMethodResult {
  clip: string;
  method: string;
  /** Percent; negative = fewer bits than x264 for the same RCA. Null: see bd_rate_notes. */
  bd_rate: Record<RcaKind, number | null>;
  /** Why a BD-rate is null, or the RCA range it was computed over. */
  bd_rate_notes: Record<RcaKind, string>;
  knee: { regional_confident: KneePoint | null; regional_all: KneePoint | null };
  knee_span: { regional_confident: KneeSpan; regional_all: KneeSpan };
  /** 1 - knee(method) / knee(x264): the saving at the knee; null when either knee is missing. */
  knee_saving: { regional_confident: number | null; regional_all: number | null };
}

export interface MethodSummary {
  method: string;
  describe: string;
  /** Mean BD-rate over the clips that have one (percent). */
  bd_rate_mean: Record<RcaKind, number | null>;
  /** Median over the same clips: one clip's outlier (a curve with few points) moves the mean, not this. */
  bd_rate_median: Record<RcaKind, number | null>;
  /** How many clips entered each mean. */
  bd_rate_clips: Record<RcaKind, number>;
  knee_saving_mean: { regional_confident: number | null; regional_all: number | null };
}

export interface ClipInfo {
  name: string;
  source: string;
  width: number;
  height: number;
  frames: number;
  /** Plain x264 at the reference CRF: RCA against the original (the noise floor). */
  noise_floor: { crf: number; regional_all: number | null; regional_confident: number | null; global_all: number | null };
}

export interface BenchResult {
  schema: 'dmvjnd-bench/1';
  created: string;
  settings: {
    crfs: number[];
    methods: Array<{ name: string; describe: string }>;
    anchor: string;
    frames: number | null;
    reference_crf: number;
    knee: { regional_confident: number; regional_all_margin: number };
    tau: number;
    x264: Omit<X264Settings, 'rateControl'>;
    jnd: JndSettings;
    models: string;
    provider: string;
  };
  clips: ClipInfo[];
  points: BenchPoint[];
  per_clip: ClipMethodResult[];
  summary: MethodSummary[];
  /** Output files written (relative to the output folder), when one was given. */
  files: string[];
}

/** A benchmark's events, for any kind of point and result (the CIFAR bench's and the detector bench's). */
export type BenchEvents<P, R> =
  | { type: 'start'; clips: string[]; methods: string[]; crfs: number[]; points: number }
  | { type: 'progress'; clip: string; method: string; crf: number; stage: 'encode' | 'verify'; frames: number; total: number | undefined; done: number; points: number }
  | { type: 'point'; done: number; points: number; cached: boolean; point: P }
  | { type: 'summary'; result: R };

export type BenchEvent = BenchEvents<BenchPoint, BenchResult>;

export interface BenchOptions {
  /** Paths or lavfi inputs (InputSpec with a label). */
  clips: ReadonlyArray<string | InputSpec>;
  crfs?: readonly number[];
  methods: ReadonlyArray<string | BenchMethod>;
  /** Encode and verify only the first N frames of each clip. */
  frames?: number;
  /** Loaded once by the caller (with the generator), reused for every point. */
  models: ModelSet;
  /** x264 settings except the rate control, which the CRF grid sets. */
  x264?: Partial<Omit<X264Settings, 'rateControl'>>;
  jnd?: Partial<JndSettings>;
  tau?: number;
  referenceCrf?: number;
  /** JSON file of finished points: read at the start, updated after every point. */
  cacheFile?: string;
  /** Write JSON, CSV, Markdown and plots here. */
  outDir?: string;
  /** Where the temporary encodes go (default: a fresh folder under the OS temp dir). */
  workDir?: string;
}

export async function runBench(opts: BenchOptions, onEvent: (e: BenchEvent) => void = () => {}): Promise<BenchResult> {
  // Each clip's reference decisions are computed once and shared by all its points.
  const referenceCache = new ReferenceDecisionCache();
  // ... and its CAM/JND analysis once, shared by all methods and CRFs that need it.
  const analysisMemo = new AnalysisMemo();
  const methods = opts.methods.map((m) => (typeof m === 'string' ? parseMethod(m) : m));
  const crfs = [...(opts.crfs ?? DEFAULT_CRFS)];
  checkCrfs(crfs);
  const referenceCrf = opts.referenceCrf ?? REFERENCE_CRF;
  checkCrfs([referenceCrf]);
  if (opts.clips.length === 0) throw new DmvjndError('arguments', undefined, 'expected at least one clip');
  if (opts.frames !== undefined && !(Number.isInteger(opts.frames) && opts.frames > 0)) {
    throw new DmvjndError('arguments', undefined, `expected --frames to be a positive integer but received ${opts.frames}`);
  }
  const tau = opts.tau ?? 0.5;
  const x264Base: Omit<X264Settings, 'rateControl'> = { ...stripRate(DEFAULT_X264), ...stripRate(opts.x264 ?? {}) };
  // The methods share one float32 model set (and the baselines need its classifiers): the
  // analysis precision is float32 unless the caller says otherwise.
  const jndBase: JndSettings = { ...DEFAULT_JND, precision: 'float32', ...opts.jnd };
  const clips = clipList(opts.clips);
  const modelsId = modelsFingerprint(opts.models);
  const cache = new PointCache(opts.cacheFile);
  if (opts.outDir) {
    // An unusable output folder fails now, not after hours of encoding.
    try {
      mkdirSync(opts.outDir, { recursive: true });
    } catch (err) {
      throw new DmvjndError('write output', opts.outDir, (err as Error).message, { cause: err });
    }
  }

  interface Job { clip: (typeof clips)[number]; method: BenchMethod; crf: number; reference: boolean }
  const jobs: Job[] = [];
  const plain = parseMethod(ANCHOR_METHOD);
  for (const clip of clips) {
    const anchorInGrid = methods.some((m) => m.name === ANCHOR_METHOD) && crfs.includes(referenceCrf);
    if (!anchorInGrid) jobs.push({ clip, method: plain, crf: referenceCrf, reference: true });
    for (const method of methods) for (const crf of crfs) jobs.push({ clip, method, crf, reference: false });
  }
  onEvent({ type: 'start', clips: clips.map((c) => c.name), methods: methods.map((m) => m.name), crfs, points: jobs.length });

  const ownWork = opts.workDir === undefined;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'dmvjnd-bench-'));
  mkdirSync(workDir, { recursive: true });
  // Ctrl-C exits from the encoder's signal handler: remove our scratch folder then too.
  const removeWork = () => rmSync(workDir, { recursive: true, force: true });
  if (ownWork) process.once('exit', removeWork);
  const points: BenchPoint[] = [];
  try {
    let done = 0;
    for (const job of jobs) {
      const jnd: JndSettings = { ...jndBase, ...job.method.jnd };
      const x264: X264Settings = { ...x264Base, rateControl: { mode: 'crf', crf: job.crf } };
      const key = pointKey({
        clip: job.clip.identity, method: job.method.name, crf: job.crf, frames: opts.frames ?? null, x264, jnd: jndKey(jnd, job.method.offsets), tau, models: modelsId,
      });
      let point = cache.get(key);
      if (point && point.video_bytes === undefined) {
        // Measured before the bench separated video from audio: encode it again without
        // verification and take its video bytes only if the whole file comes out the same
        // size to the byte (x264 is not bit-exact between identical runs here, so some
        // re-encodes differ); otherwise measure the point afresh.
        point = await videoBytesOf(point, job, x264, jnd, join(workDir, `upgrade-${process.pid}-${done}.mp4`));
        if (point) cache.set(key, point);
      }
      const cached = point !== undefined;
      if (point) {
        point = { ...point, clip: job.clip.name, reference: job.reference };
      } else {
        const output = join(workDir, `point-${process.pid}-${done}.mp4`);
        try {
          const report = await encode({
            input: job.clip.input,
            output,
            offsets: job.method.offsets,
            x264,
            jnd,
            models: opts.models,
            verify: true,
            machine: 'cifar',
            tau,
            maxFrames: opts.frames,
            referenceCache,
            analysisMemo,
            onProgress: (stage, frames, total) =>
              onEvent({ type: 'progress', clip: job.clip.name, method: job.method.name, crf: job.crf, stage, frames, total, done, points: jobs.length }),
          });
          point = pointFromReport(report, { clip: job.clip.name, method: job.method, crf: job.crf, reference: job.reference });
        } finally {
          rmSync(output, { force: true });
        }
        cache.set(key, point);
      }
      points.push(point);
      done++;
      onEvent({ type: 'point', done, points: jobs.length, cached, point });
    }
  } finally {
    if (ownWork) {
      removeWork();
      process.removeListener('exit', removeWork);
    }
  }

  /** A cached point completed with the video bytes of an identical re-encode, or undefined. */
  async function videoBytesOf(p: BenchPoint, job: Job, x264: X264Settings, jnd: JndSettings, output: string): Promise<BenchPoint | undefined> {
    onEvent({ type: 'progress', clip: job.clip.name, method: job.method.name, crf: job.crf, stage: 'encode', frames: 0, total: undefined, done: points.length, points: jobs.length });
    try {
      const r = await encode({ input: job.clip.input, output, offsets: job.method.offsets, x264, jnd, models: opts.models, maxFrames: opts.frames, analysisMemo });
      if (r.bytes !== p.bytes || r.frames !== p.frames) return undefined;
      return { ...p, ...videoRate(r) };
    } finally {
      rmSync(output, { force: true });
    }
  }

  const result = analyseBench({
    points,
    clips: clips.map((c) => c.name),
    sources: new Map(clips.map((c) => [c.name, c.label])),
    methods,
    crfs,
    referenceCrf,
    settings: {
      frames: opts.frames ?? null,
      tau,
      x264: x264Base,
      jnd: jndBase,
      models: opts.models.dir,
      provider: opts.models.provider,
    },
  });
  if (opts.outDir) {
    const { writeBenchOutputs } = await import('./outputs.ts');
    result.files = await writeBenchOutputs(result, opts.outDir);
  }
  onEvent({ type: 'summary', result });
  return result;
}

/** Turn raw points into the full result: noise floors, BD-rates, knees, means. Pure. */
export function analyseBench(input: {
  points: BenchPoint[];
  clips: string[];
  sources?: Map<string, string>;
  methods: BenchMethod[];
  crfs: number[];
  referenceCrf: number;
  settings: Pick<BenchResult['settings'], 'frames' | 'tau' | 'x264' | 'jnd' | 'models' | 'provider'>;
}): BenchResult {
  const { points, methods, referenceCrf } = input;
  const clipInfos: ClipInfo[] = [];
  const perClip: ClipMethodResult[] = [];
  for (const clip of input.clips) {
    const ofClip = points.filter((p) => p.clip === clip);
    const ref = ofClip.find((p) => p.method === ANCHOR_METHOD && p.crf === referenceCrf);
    const any = ofClip[0];
    clipInfos.push({
      name: clip,
      source: input.sources?.get(clip) ?? clip,
      width: any?.width ?? 0,
      height: any?.height ?? 0,
      frames: any?.frames ?? 0,
      noise_floor: {
        crf: referenceCrf,
        regional_all: ref?.rca.regional.all ?? null,
        regional_confident: ref?.rca.regional.confident ?? null,
        global_all: ref?.rca.global.all ?? null,
      },
    });
    const floor = ref?.rca.regional.all ?? null;
    const curveOf = (method: string) => ofClip.filter((p) => p.method === method && !p.reference);
    const anchor = curveOf(ANCHOR_METHOD);
    const anchorKnee = anchor.length > 0 ? knees(anchor, floor) : undefined;
    for (const m of methods) {
      const curve = curveOf(m.name);
      const bd = {} as Record<RcaKind, number | null>;
      const notes = {} as Record<RcaKind, string>;
      for (const kind of RCA_KINDS) {
        if (anchor.length === 0) {
          bd[kind] = null;
          notes[kind] = `the anchor ${ANCHOR_METHOD} is not among the methods`;
          continue;
        }
        const r = bdRate(rateQuality(anchor, kind), rateQuality(curve, kind));
        bd[kind] = r.bdRatePercent;
        notes[kind] =
          r.bdRatePercent === null
            ? r.reason === 'no overlapping quality range'
              ? `RCA ranges do not overlap (${ANCHOR_METHOD} ${rangeText(anchor, kind)}, ${m.name} ${rangeText(curve, kind)})`
              : `${r.reason} on the monotone curves`
            : `over RCA ${r.overlap[0].toFixed(4)}-${r.overlap[1].toFixed(4)}`;
      }
      const k = knees(curve, floor);
      perClip.push({
        clip,
        method: m.name,
        bd_rate: bd,
        bd_rate_notes: notes,
        knee: k,
        knee_span: kneeSpans(curve, floor),
        knee_saving: {
          regional_confident: saving(k.regional_confident, anchorKnee?.regional_confident ?? null),
          regional_all: saving(k.regional_all, anchorKnee?.regional_all ?? null),
        },
      });
    }
  }
  const summary: MethodSummary[] = methods.map((m) => {
    const rows = perClip.filter((r) => r.method === m.name);
    const bdMean = {} as Record<RcaKind, number | null>;
    const bdMedian = {} as Record<RcaKind, number | null>;
    const bdClips = {} as Record<RcaKind, number>;
    for (const kind of RCA_KINDS) {
      const values = rows.map((r) => r.bd_rate[kind]).filter((v): v is number => v !== null);
      bdMean[kind] = mean(values);
      bdMedian[kind] = median(values);
      bdClips[kind] = values.length;
    }
    return {
      method: m.name,
      describe: m.describe,
      bd_rate_mean: bdMean,
      bd_rate_median: bdMedian,
      bd_rate_clips: bdClips,
      knee_saving_mean: {
        regional_confident: mean(rows.map((r) => r.knee_saving.regional_confident).filter((v): v is number => v !== null)),
        regional_all: mean(rows.map((r) => r.knee_saving.regional_all).filter((v): v is number => v !== null)),
      },
    };
  });
  return {
    schema: 'dmvjnd-bench/1',
    created: new Date().toISOString(),
    settings: {
      crfs: input.crfs,
      methods: methods.map((m) => ({ name: m.name, describe: m.describe })),
      anchor: ANCHOR_METHOD,
      frames: input.settings.frames,
      reference_crf: referenceCrf,
      knee: { regional_confident: KNEE_CONFIDENT, regional_all_margin: KNEE_ALL_MARGIN },
      tau: input.settings.tau,
      x264: input.settings.x264,
      jnd: input.settings.jnd,
      models: input.settings.models,
      provider: input.settings.provider,
    },
    clips: clipInfos,
    points,
    per_clip: perClip,
    summary,
    files: [],
  };
}

/** The RCA value of a point for one kind (null when nothing was counted). */
export function rcaOf(p: Pick<BenchPoint, 'rca'>, kind: RcaKind): number | null {
  switch (kind) {
    case 'regional_confident':
      return p.rca.regional.confident;
    case 'global_confident':
      return p.rca.global.confident;
    case 'regional_all':
      return p.rca.regional.all;
  }
}

function rateQuality(points: BenchPoint[], kind: RcaKind): RateQualityPoint[] {
  const out: RateQualityPoint[] = [];
  for (const p of points) {
    const q = rcaOf(p, kind);
    if (q !== null && p.bitrate_kbps > 0) out.push({ rate: p.bitrate_kbps, quality: q });
  }
  return out;
}

function rangeText(points: BenchPoint[], kind: RcaKind): string {
  const qs = points.map((p) => rcaOf(p, kind)).filter((v): v is number => v !== null);
  if (qs.length === 0) return 'no values';
  return `${Math.min(...qs).toFixed(4)}-${Math.max(...qs).toFixed(4)}`;
}

/**
 * Knees of one curve: the lowest bitrate from which confident regional RCA stays >= 0.99
 * at every higher-rate point, and likewise for all-decision regional RCA against the
 * noise floor minus 0.01 (null without a floor).
 */
export function knees(curve: BenchPoint[], floor: number | null): ClipMethodResult['knee'] {
  const at = (kind: RcaKind, threshold: number): KneePoint | null => {
    const rq = rateQuality(curve, kind);
    if (rq.length === 0) return null;
    const kbps = kneeRate(rq, threshold, { stays: true });
    if (kbps === null) return null;
    const p = curve.find((c) => c.bitrate_kbps === kbps)!;
    return { threshold, kbps, crf: p.crf };
  };
  return {
    regional_confident: at('regional_confident', KNEE_CONFIDENT),
    regional_all: floor === null ? null : at('regional_all', floor - KNEE_ALL_MARGIN),
  };
}

/** Does the CRF grid bracket each knee of this curve? See KneeSpan. */
export function kneeSpans(curve: BenchPoint[], floor: number | null): ClipMethodResult['knee_span'] {
  const span = (kind: RcaKind, threshold: number | null): KneeSpan => {
    const qs = curve.map((p) => rcaOf(p, kind)).filter((v): v is number => v !== null);
    if (qs.length === 0 || threshold === null) return 'no data';
    const meets = qs.filter((q) => q >= threshold).length;
    return meets === qs.length ? 'above' : meets === 0 ? 'below' : 'inside';
  };
  return {
    regional_confident: span('regional_confident', KNEE_CONFIDENT),
    regional_all: span('regional_all', floor === null ? null : floor - KNEE_ALL_MARGIN),
  };
}

function saving(k: KneePoint | null, anchor: KneePoint | null): number | null {
  return k && anchor && anchor.kbps > 0 ? 1 - k.kbps / anchor.kbps : null;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function mean(values: number[]): number | null {
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : null;
}

/** A point's rate fields, from the H.264 stream alone. */
function videoRate(r: EncodeReport): Pick<BenchPoint, 'video_bytes' | 'bitrate_kbps' | 'bpp'> {
  return {
    video_bytes: r.video_bytes,
    bitrate_kbps: r.video_bitrate_kbps,
    bpp: r.frames > 0 ? (r.video_bytes * 8) / (r.frames * r.width * r.height) : 0,
  };
}

/** A point from an encode report (shared with `search`). */
export function pointFromReport(r: EncodeReport, id: { clip: string; method: BenchMethod; crf: number; reference: boolean }): BenchPoint {
  if (!r.rca) throw new Error('pointFromReport needs a verified encode report');
  const noAnalysis = id.method.family === 'x264' || id.method.family === 'x264-noaq';
  const encodeMs = Math.max(1e-6, r.timings_ms.total - r.timings_ms.verify);
  const g = r.rca.global;
  const rg = r.rca.regional;
  return {
    clip: id.clip,
    method: id.method.name,
    crf: id.crf,
    reference: id.reference,
    frames: r.frames,
    width: r.width,
    height: r.height,
    bytes: r.bytes,
    ...videoRate(r),
    psnr_y_db: r.psnr_y_db !== null && Number.isFinite(r.psnr_y_db) ? r.psnr_y_db : null,
    rca: {
      tau: r.rca.tau,
      global: { all: g.all, confident: g.confident },
      regional: { all: rg.all, confident: rg.confident },
      per_classifier: { global: g.per_classifier, regional: rg.per_classifier },
      heldout: r.rca.heldout,
      user: r.rca.user,
      decisions: { global: g.decisions, regional: rg.decisions },
    },
    encode_fps: r.frames / (encodeMs / 1000),
    analysis_fps: noAnalysis || r.timings_ms.analysis <= 0 ? null : r.frames / (r.timings_ms.analysis / 1000),
    timings_ms: r.timings_ms,
  };
}

// ---------------------------------------------------------------------------------------
// Clips, keys, cache

export interface ClipEntry {
  name: string;
  label: string;
  input: string | InputSpec;
  /** What makes a cached point valid for this clip: path + size + content hash, or the lavfi graph. */
  identity: string;
}

/** Clip names for reports (file base names, made unique), and their cache identities. */
export function clipList(clips: ReadonlyArray<string | InputSpec>): ClipEntry[] {
  const used = new Map<string, number>();
  return clips.map((c) => {
    const spec: InputSpec = typeof c === 'string' ? { source: c } : c;
    const label = spec.label ?? spec.source;
    let name = spec.lavfi ? label : basename(spec.source);
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    if (n > 0) name = `${name}#${n + 1}`;
    return { name, label, input: c, identity: clipIdentity(spec) };
  });
}

export function clipIdentity(spec: InputSpec): string {
  if (spec.lavfi) return `lavfi:${spec.source}`;
  const path = resolve(spec.source);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new DmvjndError('open input', spec.source, 'no such file');
  }
  // Size and a hash of the first and last MiB, not the mtime: a re-provisioned or copied
  // clip keeps its identity (the shared data's mtimes changed under a full cache once).
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(Math.min(st.size, 1 << 20));
    hash.update(chunk.subarray(0, readSync(fd, chunk, 0, chunk.length, 0)));
    hash.update(chunk.subarray(0, readSync(fd, chunk, 0, chunk.length, Math.max(0, st.size - chunk.length))));
    return `${path}|${st.size}|${hash.digest('hex').slice(0, 16)}`;
  } finally {
    closeSync(fd);
  }
}

/** Which models produced a result: the folder and each ONNX file's size and content hash (not its mtime, which a fresh clone resets). */
export function modelsFingerprint(models: ModelSet): string {
  const parts = [models.dir, ...models.user.map((u) => u.name)];
  try {
    for (const f of readdirSync(models.dir).filter((n) => n.endsWith('.onnx')).sort()) {
      const st = statSync(join(models.dir, f));
      parts.push(`${f}:${st.size}:${createHash('sha256').update(readFileSync(join(models.dir, f))).digest('hex').slice(0, 16)}`);
    }
  } catch {
    // a model set not loaded from a folder: its name is all we have
  }
  return parts.join('|');
}

export function pointKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify({ v: BENCH_CACHE_VERSION, ...parts })).digest('hex').slice(0, 32);
}

/**
 * The JND settings as they enter a point's cache key. Settings added after points were
 * cached are left out at the value those points were measured with (float32 analysis,
 * x264's own AQ strength 1), so old caches still match; the AQ strength counts only for
 * the methods whose encodes it changes (the JND offsets, absolute or centred).
 */
export function jndKey(jnd: JndSettings, offsets: unknown): Partial<JndSettings> {
  const { precision, aqStrength, ...rest } = jnd;
  const usesAq = offsets === 'jnd' || offsets === 'jnd-centred';
  return {
    ...rest,
    ...(precision === 'float32' ? {} : { precision }),
    ...(usesAq && aqStrength !== 1 ? { aqStrength } : {}),
  };
}

/** Finished points on disk, written atomically after every new point. */
export class PointCache {
  private readonly entries: Record<string, BenchPoint> = {};

  constructor(private readonly file: string | undefined) {
    if (!file || !existsSync(file)) return;
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; points?: Record<string, BenchPoint> };
      if (data.version === BENCH_CACHE_VERSION && data.points) this.entries = data.points;
    } catch (err) {
      throw new DmvjndError('open input', file, `the bench cache is not valid JSON (${(err as Error).message}); delete it to start over`);
    }
  }

  get size(): number {
    return Object.keys(this.entries).length;
  }

  get(key: string): BenchPoint | undefined {
    return this.entries[key];
  }

  set(key: string, point: BenchPoint): void {
    this.entries[key] = point;
    if (!this.file) return;
    mkdirSync(dirname(resolve(this.file)), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: BENCH_CACHE_VERSION, points: this.entries }));
    renameSync(tmp, this.file);
  }
}

export function stripRate<T extends Partial<X264Settings>>(x: T): Omit<T, 'rateControl'> {
  const { rateControl: _ignored, ...rest } = x;
  return rest;
}

export function checkCrfs(crfs: readonly number[]): void {
  if (crfs.length === 0) throw new DmvjndError('arguments', undefined, 'expected at least one CRF');
  for (const c of crfs) {
    // CRF 0 is lossless constant QP, where x264 ignores offsets; the guard would refuse it.
    if (!(Number.isFinite(c) && c > 0 && c <= EXTENDED_MAX_CRF)) {
      throw new DmvjndError('arguments', undefined, `expected CRFs in (0, ${EXTENDED_MAX_CRF}] but received ${c}`);
    }
  }
  if (new Set(crfs).size !== crfs.length) throw new DmvjndError('arguments', undefined, `a CRF is listed twice in ${crfs.join(',')}`);
}
