/**
 * Bitrate versus detection agreement (issue 12): the benchmark with a detector as the
 * machine. For each clip x method x CRF: encode with pipeline.encode (same encoder, same
 * settings; only the offsets differ), verify with the scoring detector(s) against the
 * source, then per clip and method the BD-rate against plain x264 at equal F1 (headline)
 * and at equal mAP@0.5, and the F1 knee relative to the noise floor.
 *
 *   methods   x264 (anchor), x264-noaq, det-roi[@in,out], det-heat[@in,out],
 *             det-roi-shuffled[@in,out] (control), dmv-jnd-cifar[@g] (the CIFAR-trained
 *             DMV-JND, guided by the CIFAR classifiers), hvs-jnd[@g], random[@g]
 *             (the CIFAR JND's offsets shuffled)
 *   noise     plain x264 at CRF 12 against the source (near-lossless re-encode), and
 *             consecutive source frames against each other: the ceiling F1 can reach
 *
 * The scoring detector runs at its native size on every frame; the guide of the det-*
 * methods runs like `encode`'s (every analysis-stride frames). The report says which
 * machine guided each method and which scored. Points are cached like the CIFAR bench's.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnalysisMemo } from '../analysis/analyser.ts';
import { ReferenceDecisionCache } from '../analysis/verify.ts';
import { DmvjndError } from '../errors.ts';
import { DEFAULT_MODELS_DIR, type ModelSet } from '../inference/models.ts';
import { withObjectJndModel } from '../machines/detector-runner.ts';
import type { DetectorMachine } from '../machines/detector.ts';
import type { Machine, MachineScores } from '../machines/machine.ts';
import { DEFAULT_X264, type X264Settings } from '../media/x264-settings.ts';
import { bdRate, kneeRate, type RateQualityPoint } from '../metrics/bd-rate.ts';
import { DetectionTally } from '../metrics/detection.ts';
import { decodeVideo, openInput, type InputSpec } from '../media/source.ts';
import { parseDetectorOffsets, usesDetectorJnd } from '../offsets/detector-methods.ts';
import { DEFAULT_JND, DetectionMemo, encode, jndSettingsFor, type EncodeOptions, type EncodeReport, type JndSettings } from '../pipeline.ts';
import { parseMethod } from './methods.ts';
import { bootstrapMeanCi } from '../metrics/bootstrap.ts';
import { checkCrfs, clipList, jndKey, mean as meanOf, median as medianOf, pointKey, PointCache, stripRate as strip, type BenchEvents, type ClipEntry } from './run-bench.ts';

export const DETECTOR_BENCH_CRFS = [18, 23, 28, 33, 38, 43, 48, 51];
export const DETECTOR_DEFAULT_METHODS = ['x264', 'det-scale-interp', 'det-roi', 'det-heat', 'det-roi-shuffled', 'dmv-jnd-cifar', 'hvs-jnd'];
/** F1 knee: the lowest rate from which F1 stays >= the noise floor (x264 at CRF 12) minus this. */
export const F1_KNEE_MARGIN = 0.05;
export const NOISE_CRF = 12;
export const DETECTOR_KINDS = ['f1', 'map50'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];
export const DETECTOR_ANCHOR = 'x264';

export interface DetectorBenchMethod {
  name: string;
  describe: string;
  offsets: NonNullable<EncodeOptions['offsets']>;
  jnd: Partial<JndSettings>;
  /** Which machine places the offsets. */
  guide: 'detector' | 'cifar' | 'none';
  needsGenerator: boolean;
}

/**
 * A comma-separated method list where a method's own parameters may contain commas
 * (`x264,det-roi@-2,+12,det-heat`): a piece that starts with a number belongs to the method before it.
 */
export function splitMethodList(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    if (/^[+-]?\d/.test(piece) && out.length > 0) out[out.length - 1] += `,${piece}`;
    else out.push(piece);
  }
  return out;
}

/** Parse one method name of the detector bench. */
export function parseDetectorBenchMethod(text: string): DetectorBenchMethod {
  const name = text.trim();
  const det = parseDetectorOffsets(name);
  if (det) {
    if (det.method === 'dmv-jnd-rel' || det.method === 'dmv-jnd-outside') {
      const where = det.method === 'dmv-jnd-outside' ? 'boxes at the CRF; outside them ' : '';
      return { name, describe: `${where}the DMV-JND trained against the detector, its 2 x JND target QPs relative to the frame's 5th percentile, 0 to +${det.outside}`, offsets: det, jnd: {}, guide: 'detector', needsGenerator: false };
    }
    if (usesDetectorJnd(det)) return { name, describe: `the DMV-JND trained against the detector (2 x JND rule${det.gain === undefined ? '' : `, gain ${det.gain}`}${det.method === 'dmv-jnd-roi' ? `; inside boxes only, in [${det.inside}, ${det.outside}], the rest ${det.outside}` : ''})`, offsets: det, jnd: {}, guide: 'detector', needsGenerator: false };
    const what = det.method === 'det-roi' ? 'boxes' : det.method === 'det-heat' ? 'heatmap' : det.method === 'det-scale' ? `boxes graded by size (+${det.slope} QP per doubling of the side)` : det.method === 'obj-jnd' ? 'boxes graded by the object-level JND (tolerated CRF, learned from x264 encodes)' : 'boxes, shuffled positions (control)';
    const motion = det.interpolate ? '; between detections each box moves linearly' : '';
    const score = det.minScore === undefined ? '' : `; boxes scoring >= ${det.minScore}`;
    return { name, describe: `detector ROI from ${what}: in ${det.inside}, out ${det.outside} QP${motion}${score}`, offsets: det, jnd: {}, guide: 'detector', needsGenerator: false };
  }
  // The CIFAR-trained DMV-JND keeps its old name under the cifar machine only.
  const cifarName = name.replace(/^dmv-jnd-cifar/, 'dmv-jnd');
  const m = parseMethod(cifarName);
  const guide = m.needs === 'nothing' ? 'none' : 'cifar';
  // Under a detector machine, plain `jnd` would mean the detector-trained generator.
  const offsets = m.offsets === 'jnd' ? 'jnd-cifar' : m.offsets;
  return { name, describe: m.family === 'dmv-jnd' ? `CIFAR-trained ${m.describe}` : m.describe, offsets, jnd: m.jnd, guide, needsGenerator: m.needs === 'generator' || m.needs === 'classifiers' };
}

export interface DetectorBenchPoint {
  clip: string;
  method: string;
  crf: number;
  reference: boolean;
  frames: number;
  width: number;
  height: number;
  bytes: number;
  video_bytes: number;
  bitrate_kbps: number;
  bpp: number;
  psnr_y_db: number | null;
  /** Every scoring machine's summary (f1, precision, recall, map50, ...). */
  machines: Record<string, MachineScores>;
  guided_by: string;
  encode_fps: number;
  timings_ms: EncodeReport['timings_ms'];
}

export interface DetectorClipResult {
  clip: string;
  method: string;
  /** Scored by the headline machine: percent, negative = fewer bits than x264 at equal agreement. */
  bd_rate: Record<DetectorKind, number | null>;
  bd_rate_notes: Record<DetectorKind, string>;
  /** The same per scoring machine (the headline one included). */
  by_machine: Record<string, { bd_rate: Record<DetectorKind, number | null>; bd_rate_notes: Record<DetectorKind, string> }>;
  knee: { f1: { threshold: number; kbps: number; crf: number } | null };
  knee_saving: { f1: number | null };
}

export interface DetectorClipInfo {
  name: string;
  source: string;
  width: number;
  height: number;
  frames: number;
  /** Reference objects per frame (headline machine, above the band's top). */
  reference_objects_per_frame: number | null;
  /** With objects: the clip enters the means. */
  has_objects: boolean;
  noise_floor: Record<string, { crf: number; f1: number | null; map50: number | null; consecutive_f1: number | null }>;
}

export interface DetectorMethodSummary {
  method: string;
  describe: string;
  guided_by: string;
  /** Means over the clips with objects that have a number, per scoring machine. */
  by_machine: Record<string, { bd_rate_mean: Record<DetectorKind, number | null>; bd_rate_ci95: Record<DetectorKind, [number, number] | null>; bd_rate_median: Record<DetectorKind, number | null>; bd_rate_clips: Record<DetectorKind, number> }>;
  bd_rate_mean: Record<DetectorKind, number | null>;
  /** 95% percentile-bootstrap interval of the mean, the clips resampled (null under two clips). */
  bd_rate_ci95: Record<DetectorKind, [number, number] | null>;
  bd_rate_median: Record<DetectorKind, number | null>;
  bd_rate_clips: Record<DetectorKind, number>;
  knee_saving_mean: { f1: number | null };
}

export interface DetectorBenchResult {
  schema: 'dmvjnd-detector-bench/1';
  created: string;
  settings: {
    crfs: number[];
    methods: Array<{ name: string; describe: string; guided_by: string }>;
    anchor: string;
    /** The headline scoring machine, then the others. */
    scored_by: string[];
    frames: number | null;
    start: 'first' | 'middle' | 'last';
    noise_crf: number;
    f1_knee_margin: number;
    x264: Omit<X264Settings, 'rateControl'>;
    jnd: JndSettings;
    match: unknown;
  };
  clips: DetectorClipInfo[];
  points: DetectorBenchPoint[];
  per_clip: DetectorClipResult[];
  summary: DetectorMethodSummary[];
  files: string[];
}

export type DetectorBenchEvent = BenchEvents<DetectorBenchPoint, DetectorBenchResult>;

export interface DetectorBenchOptions {
  clips: ReadonlyArray<string | InputSpec>;
  methods: ReadonlyArray<string>;
  crfs?: readonly number[];
  /** Frames per clip (from the start, around the middle with start 'middle', or the clip's last ones with 'last'). */
  frames?: number;
  start?: 'first' | 'middle' | 'last';
  /** The scoring machines, loaded by the caller: the first is the headline. */
  scorers: Machine[];
  /** The guide of the det-* methods (loaded by the caller; may be the first scorer). */
  guide: DetectorMachine;
  /** CIFAR models with the generator, for dmv-jnd-cifar / random / hvs-jnd ... (float32). */
  models?: ModelSet;
  x264?: Partial<Omit<X264Settings, 'rateControl'>>;
  jnd?: Partial<JndSettings>;
  cacheFile?: string;
  outDir?: string;
  workDir?: string;
  /** Where obj-jnd's model is read (models/ of this package by default). */
  modelsDir?: string;
}

export async function runDetectorBench(opts: DetectorBenchOptions, onEvent: (e: DetectorBenchEvent) => void = () => {}): Promise<DetectorBenchResult> {
  // obj-jnd carries its fitted model in its offsets, so a refit changes the cache key too.
  const methods = opts.methods.map(parseDetectorBenchMethod).map((m) =>
    typeof m.offsets === 'object' && m.offsets.kind === 'detector' ? { ...m, offsets: withObjectJndModel(m.offsets, opts.modelsDir ?? DEFAULT_MODELS_DIR) } : m,
  );
  if (!methods.some((m) => m.name === DETECTOR_ANCHOR)) methods.unshift(parseDetectorBenchMethod(DETECTOR_ANCHOR));
  const names = new Set<string>();
  for (const m of methods) {
    if (names.has(m.name)) throw new DmvjndError('arguments', undefined, `method "${m.name}" is listed twice`);
    names.add(m.name);
    if (m.needsGenerator && !opts.models) throw new DmvjndError('arguments', undefined, `method ${m.name} needs the CIFAR models (the bench was started without them)`);
  }
  const crfs = [...(opts.crfs ?? DETECTOR_BENCH_CRFS)];
  checkCrfs(crfs);
  if (opts.clips.length === 0) throw new DmvjndError('arguments', undefined, 'expected at least one clip');
  if (opts.scorers.length === 0) throw new Error('runDetectorBench needs a scoring machine');
  const x264Base: Omit<X264Settings, 'rateControl'> = { ...strip(DEFAULT_X264), ...strip(opts.x264 ?? {}) };
  // float32 unless the caller says otherwise; detector-guided methods at the detector's stride, like encode.
  const jndBase: Partial<JndSettings> = { precision: 'float32', ...opts.jnd };
  const clips = clipList(opts.clips);
  const cache = new PointCache(opts.cacheFile);
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  const referenceCache = new ReferenceDecisionCache();
  const analysisMemo = new AnalysisMemo();
  const detectionMemo = new DetectionMemo();
  const scorerNames = opts.scorers.map((s) => s.name);
  const scorersId = opts.scorers.map((s) => s.fingerprint).join('+');

  // Each clip's window: first N frames, N frames around the middle, or the last N.
  const windows = new Map<string, { start: number; frames: number | undefined }>();
  for (const c of clips) windows.set(c.name, await windowOf(c, opts.frames, opts.start ?? 'first'));

  interface Job { clip: ClipEntry; method: DetectorBenchMethod; crf: number; reference: boolean }
  const jobs: Job[] = [];
  const anchor = methods.find((m) => m.name === DETECTOR_ANCHOR)!;
  for (const clip of clips) {
    if (!crfs.includes(NOISE_CRF)) jobs.push({ clip, method: anchor, crf: NOISE_CRF, reference: true });
    for (const method of methods) for (const crf of crfs) jobs.push({ clip, method, crf, reference: false });
  }
  onEvent({ type: 'start', clips: clips.map((c) => c.name), methods: methods.map((m) => m.name), crfs, points: jobs.length });
  const ownWork = opts.workDir === undefined;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'dmvjnd-detbench-'));
  mkdirSync(workDir, { recursive: true });
  const points: DetectorBenchPoint[] = [];
  try {
    let done = 0;
    for (const job of jobs) {
      const jnd = jndSettingsFor(job.method.guide === 'detector', jndBase, job.method.jnd);
      const x264: X264Settings = { ...x264Base, rateControl: { mode: 'crf', crf: job.crf } };
      const w = windows.get(job.clip.name)!;
      // The CIFAR JND's points were first cached as 'jnd' (before 'jnd-cifar' existed): same key.
      const keyOffsets = job.method.offsets === 'jnd-cifar' ? 'jnd' : job.method.offsets;
      // Plain x264 reads no JND setting: its points are shared by runs that differ only there (e.g. --analysis-stride).
      const plain = typeof job.method.offsets === 'object' && job.method.offsets.kind === 'none';
      const keyJnd = jndKey(plain ? { ...DEFAULT_JND, precision: 'float32' } : jnd, keyOffsets);
      const key = pointKey({
        bench: 'detector', clip: job.clip.identity, method: job.method.name, offsets: keyOffsets, crf: job.crf, frames: w.frames ?? null, start: w.start,
        x264, jnd: keyJnd, scorers: scorersId, guide: job.method.guide === 'detector' ? `${opts.guide.fingerprint}${isDmvJnd(job.method) ? `|${opts.guide.jndFingerprint}` : ''}` : job.method.guide,
        models: job.method.guide === 'cifar' ? opts.models?.dir : null,
      });
      let point = cache.get(key) as unknown as DetectorBenchPoint | undefined;
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
            machine: scorerNames[0],
            verifyMachines: scorerNames.slice(1),
            loadedMachines: opts.scorers,
            guideMachine: opts.guide,
            detectionMemo,
            x264,
            jnd,
            models: job.method.guide === 'cifar' ? opts.models : undefined,
            analysisMemo,
            verify: true,
            maxFrames: w.frames,
            startFrame: w.start,
            referenceCache,
            onProgress: (stage, frames, total) => onEvent({ type: 'progress', clip: job.clip.name, method: job.method.name, crf: job.crf, stage, frames, total, done, points: jobs.length }),
          });
          point = pointOf(report, job);
        } finally {
          rmSync(output, { force: true });
        }
        cache.set(key, point as never);
      }
      points.push(point);
      done++;
      onEvent({ type: 'point', done, points: jobs.length, cached, point });
    }
  } finally {
    if (ownWork) rmSync(workDir, { recursive: true, force: true });
  }
  // Consecutive source frames: the scorer's reference decisions, frame i against frame i+1.
  const consecutive = new Map<string, Record<string, number | null>>();
  for (const clip of clips) {
    const w = windows.get(clip.name)!;
    const row: Record<string, number | null> = {};
    for (const s of opts.scorers) {
      const decisions = referenceCache.frames(clip.label, s, w.start) as Array<{ detections?: unknown } | undefined>;
      row[s.name] = consecutiveF1(decisions as never, s as DetectorMachine);
    }
    consecutive.set(clip.name, row);
  }
  const result = analyseDetectorBench({ points, clips, methods, crfs, scorers: scorerNames, consecutive, settings: { frames: opts.frames ?? null, start: opts.start ?? 'first', x264: x264Base, jnd: jndSettingsFor(true, jndBase), match: (opts.scorers[0] as DetectorMachine).match } });
  if (opts.outDir) {
    const { writeDetectorBenchOutputs } = await import('./detector-outputs.ts');
    result.files = await writeDetectorBenchOutputs(result, opts.outDir);
  }
  onEvent({ type: 'summary', result });
  return result;
}

function isDmvJnd(m: DetectorBenchMethod): boolean {
  return typeof m.offsets === 'object' && m.offsets.kind === 'detector' && usesDetectorJnd(m.offsets);
}

function consecutiveF1(decisions: Array<{ detections: import('../machines/types.ts').Detection[] } | undefined>, machine: DetectorMachine): number | null {
  if (!machine.match || decisions.length < 2) return null;
  const t = new DetectionTally(machine.match);
  for (let i = 0; i + 1 < decisions.length; i++) {
    const a = decisions[i];
    const b = decisions[i + 1];
    if (a && b) t.add(a.detections, b.detections);
  }
  return t.summary().f1;
}

async function windowOf(clip: ClipEntry, frames: number | undefined, start: 'first' | 'middle' | 'last'): Promise<{ start: number; frames: number | undefined }> {
  if (start === 'first' || frames === undefined) return { start: 0, frames };
  const input = await openInput(clip.input);
  let n = 0;
  try {
    for await (const { frame } of decodeVideo(input)) {
      frame.free();
      n++;
    }
  } finally {
    await input.close();
  }
  return benchWindow(n, frames, start);
}

/** Which frames of an n-frame clip a bench window takes: the first `frames`, those around the middle, or the last. */
export function benchWindow(n: number, frames: number, start: 'first' | 'middle' | 'last'): { start: number; frames: number } {
  const skip = start === 'first' ? 0 : Math.max(0, start === 'last' ? n - frames : Math.floor((n - frames) / 2));
  return { start: skip, frames: Math.min(frames, n) };
}

function pointOf(r: EncodeReport, job: { clip: ClipEntry; method: DetectorBenchMethod; crf: number; reference: boolean }): DetectorBenchPoint {
  const encodeMs = Math.max(1e-6, r.timings_ms.total - r.timings_ms.verify);
  return {
    clip: job.clip.name,
    method: job.method.name,
    crf: job.crf,
    reference: job.reference,
    frames: r.frames,
    width: r.width,
    height: r.height,
    bytes: r.bytes,
    video_bytes: r.video_bytes,
    bitrate_kbps: r.video_bitrate_kbps,
    bpp: r.frames > 0 ? (r.video_bytes * 8) / (r.frames * r.width * r.height) : 0,
    psnr_y_db: r.psnr_y_db !== null && Number.isFinite(r.psnr_y_db) ? r.psnr_y_db : null,
    machines: r.machines ?? {},
    guided_by: r.settings.guided_by,
    encode_fps: r.frames / (encodeMs / 1000),
    timings_ms: r.timings_ms,
  };
}

const num = (s: MachineScores | undefined, k: string): number | null => (typeof s?.[k] === 'number' && Number.isFinite(s[k] as number) ? (s[k] as number) : null);

/** The bootstrap's seed: the same points give the same intervals. */
const BOOTSTRAP_SEED = 20211201;

/** Points -> noise floors, BD-rates, knees, means (with a bootstrap interval) over the clips with objects. Pure. */
export function analyseDetectorBench(input: {
  points: DetectorBenchPoint[];
  clips: Array<Pick<ClipEntry, 'name' | 'label'>>;
  methods: DetectorBenchMethod[];
  crfs: number[];
  scorers: string[];
  consecutive?: Map<string, Record<string, number | null>>;
  settings: Pick<DetectorBenchResult['settings'], 'frames' | 'start' | 'x264' | 'jnd' | 'match'>;
}): DetectorBenchResult {
  const { points, methods, scorers } = input;
  const headline = scorers[0];
  const clipInfos: DetectorClipInfo[] = [];
  const perClip: DetectorClipResult[] = [];
  for (const clip of input.clips) {
    const ofClip = points.filter((p) => p.clip === clip.name);
    const noise = ofClip.find((p) => p.method === DETECTOR_ANCHOR && p.crf === NOISE_CRF);
    const any = ofClip[0];
    const objects = num(noise?.machines[headline] ?? any?.machines[headline], 'reference_objects_per_frame');
    const floor: DetectorClipInfo['noise_floor'] = {};
    for (const s of scorers) {
      floor[s] = { crf: NOISE_CRF, f1: num(noise?.machines[s], 'f1'), map50: num(noise?.machines[s], 'map50'), consecutive_f1: input.consecutive?.get(clip.name)?.[s] ?? null };
    }
    clipInfos.push({
      name: clip.name, source: clip.label, width: any?.width ?? 0, height: any?.height ?? 0, frames: any?.frames ?? 0,
      reference_objects_per_frame: objects, has_objects: (objects ?? 0) > 0, noise_floor: floor,
    });
    const curveOf = (method: string) => ofClip.filter((p) => p.method === method && !p.reference);
    const anchorCurve = curveOf(DETECTOR_ANCHOR);
    const f1Threshold = floor[headline].f1 === null ? null : floor[headline].f1! - F1_KNEE_MARGIN;
    const anchorKnee = f1Threshold === null ? null : kneeOf(anchorCurve, headline, f1Threshold);
    for (const m of methods) {
      const curve = curveOf(m.name);
      const byMachine: DetectorClipResult['by_machine'] = {};
      for (const s of scorers) {
        const bd = {} as Record<DetectorKind, number | null>;
        const notes = {} as Record<DetectorKind, string>;
        for (const kind of DETECTOR_KINDS) {
          const r = bdRate(rateQuality(anchorCurve, s, kind), rateQuality(curve, s, kind));
          bd[kind] = r.bdRatePercent;
          notes[kind] = r.bdRatePercent === null ? `${r.reason}` : `over ${kind} ${r.overlap[0].toFixed(4)}-${r.overlap[1].toFixed(4)}`;
        }
        byMachine[s] = { bd_rate: bd, bd_rate_notes: notes };
      }
      const knee = f1Threshold === null ? null : kneeOf(curve, headline, f1Threshold);
      perClip.push({
        clip: clip.name,
        method: m.name,
        bd_rate: byMachine[headline].bd_rate,
        bd_rate_notes: byMachine[headline].bd_rate_notes,
        by_machine: byMachine,
        knee: { f1: knee },
        knee_saving: { f1: knee && anchorKnee && anchorKnee.kbps > 0 ? 1 - knee.kbps / anchorKnee.kbps : null },
      });
    }
  }
  const withObjects = new Set(clipInfos.filter((c) => c.has_objects).map((c) => c.name));
  const summary: DetectorMethodSummary[] = methods.map((m) => {
    const rows = perClip.filter((r) => r.method === m.name && withObjects.has(r.clip));
    const byMachine: DetectorMethodSummary['by_machine'] = {};
    for (const s of scorers) {
      const mean = {} as Record<DetectorKind, number | null>;
      const ci = {} as Record<DetectorKind, [number, number] | null>;
      const med = {} as Record<DetectorKind, number | null>;
      const n = {} as Record<DetectorKind, number>;
      for (const kind of DETECTOR_KINDS) {
        const v = rows.map((r) => r.by_machine[s].bd_rate[kind]).filter((x): x is number => x !== null);
        mean[kind] = meanOf(v);
        ci[kind] = bootstrapMeanCi(v, { seed: BOOTSTRAP_SEED });
        med[kind] = medianOf(v);
        n[kind] = v.length;
      }
      byMachine[s] = { bd_rate_mean: mean, bd_rate_ci95: ci, bd_rate_median: med, bd_rate_clips: n };
    }
    const guided = points.find((p) => p.method === m.name)?.guided_by ?? m.guide;
    return {
      method: m.name,
      describe: m.describe,
      guided_by: guided,
      by_machine: byMachine,
      ...byMachine[headline],
      knee_saving_mean: { f1: meanOf(rows.map((r) => r.knee_saving.f1).filter((x): x is number => x !== null)) },
    };
  });
  return {
    schema: 'dmvjnd-detector-bench/1',
    created: new Date().toISOString(),
    settings: {
      crfs: input.crfs,
      methods: methods.map((m) => ({ name: m.name, describe: m.describe, guided_by: summary.find((s) => s.method === m.name)?.guided_by ?? m.guide })),
      anchor: DETECTOR_ANCHOR,
      scored_by: scorers,
      frames: input.settings.frames,
      start: input.settings.start,
      noise_crf: NOISE_CRF,
      f1_knee_margin: F1_KNEE_MARGIN,
      x264: input.settings.x264,
      jnd: input.settings.jnd,
      match: input.settings.match,
    },
    clips: clipInfos,
    points,
    per_clip: perClip,
    summary,
    files: [],
  };
}

/** A curve's points as rate and quality (F1 or mAP@0.5) of one scoring machine; points it did not score are left out. */
export function rateQuality(curve: readonly DetectorBenchPoint[], scorer: string, kind: DetectorKind): RateQualityPoint[] {
  const out: RateQualityPoint[] = [];
  for (const p of curve) {
    const q = num(p.machines[scorer], kind);
    if (q !== null && p.bitrate_kbps > 0) out.push({ rate: p.bitrate_kbps, quality: q });
  }
  return out;
}

function kneeOf(curve: DetectorBenchPoint[], scorer: string, threshold: number): { threshold: number; kbps: number; crf: number } | null {
  const rq = rateQuality(curve, scorer, 'f1');
  if (rq.length === 0) return null;
  const kbps = kneeRate(rq, threshold, { stays: true });
  if (kbps === null) return null;
  return { threshold, kbps, crf: curve.find((p) => p.bitrate_kbps === kbps)!.crf };
}
