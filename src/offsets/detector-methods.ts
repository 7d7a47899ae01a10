/**
 * Detector-guided offsets as encode methods (the pure per-frame maps are in detector-roi.ts):
 *
 *   det-roi[@in,out]            macroblocks overlapping a detected box (dilated by 16 px) get
 *                               `in`, the rest `out`
 *   det-heat[@in,out]           continuous: the detector's class-max heatmap (or its boxes'
 *                               scores) per macroblock, from `out` (nothing) to `in` (a peak at
 *                               the detection threshold or above)
 *   det-roi-shuffled[@in,out]   the det-roi map of each frame at shuffled macroblock positions:
 *                               the control (same values, same mean, wrong places)
 *   dmv-jnd-roi[@gain]          det-roi's outside, and inside the boxes the detector-trained
 *                               DMV-JND's offsets (2 x JND rule) bounded to [in, out]: does the
 *                               learned JND place bits better than a flat `in` within a box?
 *   obj-jnd[@in,out]            det-roi graded by the object-level detector JND learned from
 *                               real x264 encodes (models/detectors/object_jnd.json), rate-aware:
 *                               larger and more tolerant boxes coarser (objectJndOffsets)
 *   dmv-jnd-rel[@span]          the detector-trained DMV-JND's target QPs (2 x JND rule) relative
 *                               to the frame's least tolerant macroblocks (5th percentile):
 *                               those at the base QP, the rest coarser by their step ratio, at
 *                               most `span` (default det-roi's out, 16)
 *   dmv-jnd-outside[@span]      det-roi's boxes at the base QP, and outside them dmv-jnd-rel's
 *                               offsets instead of a flat `span`: does the learned JND know
 *                               what the detector needs around an object?
 *   det-scale[@in,out[,slope]]  det-roi graded by object size: a box of side s (sqrt of its
 *                               area) gets in + slope * log2(s / 32 px) (at most out): small
 *                               objects finest, large ones coarser
 *
 * A box method may end in `/score` (det-roi@0,+16/0.25): the lowest detection score whose box
 * places offsets (default DEFAULT_BOX_MIN_SCORE). Any method may end in `/hold<n>`: a frame
 * also keeps the boxes (and maps) of the n analyses before its latest one, so an object the
 * detector finds only now and then keeps its fine macroblocks in between instead of
 * flickering between fine and coarse (which the next frames then predict from). A box method
 * may end in `/fix<n>`: the encode makes two passes; after the first, the guide detector runs
 * on the decoded frames it analysed in the source, and in the second pass the macroblocks of
 * each reference object it lost get `in - n` and those of each object it made up at most `in`
 * (correctedOffsets), around that analysis. Any method may end in `/qmax<q>` (CRF mode): no
 * macroblock is coded coarser than QP q unless the CRF plus `in` already is (ceilingOffsets):
 * at the highest CRFs the background keeps some of the context the detector reads (x264
 * codes QPs above 51 with a dead zone on QP 51's levels; on a static clip, indoor_bottle,
 * QP 68-69 even cost more bits than 66); README, "A QP ceiling".
 *
 * The detector runs every `stride` frames. A frame between two analysed frames gets the
 * union of both frames' boxes (the encoder decodes at least one stride ahead, so the next
 * analysis is known): an object that moves within the stride stays covered. With the
 * `-interp` suffix (det-roi-interp, det-scale-interp, obj-jnd-interp) each object's box moves
 * linearly from one analysis to the next instead (box-motion.ts): one box wide, not two.
 */
import { DmvjndError } from '../errors.ts';
import type { DetectorOutput } from '../machines/detector-runner.ts';
import type { SaliencyMap } from '../machines/types.ts';
import { MAX_LOOKAHEAD, type FrameContext, type OffsetProvider } from '../media/encode.ts';
import { shuffledOffsets } from './controls.ts';
import { placedQpOffsets, relativeQpOffsets, type JndPooling } from '../jnd/qp-mapping.ts';
import { maxBlockChange, STATIC_BLOCK_CHANGE } from './static-gate.ts';
import { interpolateDetections } from './box-motion.ts';
import { detHeatOffsets, detRoiOffsets, detScaleOffsets, objectJndOffsets, type ObjectJndModel } from './detector-roi.ts';
import { DEFAULT_DETECTION_MATCH, type FrameDisagreements } from '../metrics/detection.ts';
import { EXTENDED_MAX_CRF } from '../media/x264-settings.ts';
import { AQ_PREFIX, BOX_SCORE_SEPARATOR, DILATION_UNIT, FIX_PREFIX, HOLD_PREFIX, INTERP_SUFFIX, QP_MAX_PREFIX, detectorMethodOf, usesDetectorJnd, type DetectorMethod } from './detector-method-names.ts';

export { DETECTOR_METHODS, INTERPOLATING_METHODS, usesDetectorJnd, type DetectorMethod } from './detector-method-names.ts';

export interface DetectorOffsetSpec {
  kind: 'detector';
  method: DetectorMethod;
  /** QP offset inside boxes (negative: finer). */
  inside: number;
  /** QP offset elsewhere. */
  outside: number;
  /** Box dilation in frame pixels on each side. */
  dilate: number;
  /** det-scale: QP added per doubling of the box side above DET_SCALE_REFERENCE_SIDE. */
  slope?: number;
  /** obj-jnd: the fitted model (attached when the encode loads it). */
  objectJnd?: ObjectJndModel;
  /** dmv-jnd: the multiplier on the detector-trained JND before the 2 x JND rule (undefined: the run's --jnd-gain). */
  gain?: number;
  /** Between analyses, move each box linearly instead of taking the union of both analyses' boxes. */
  interpolate?: boolean;
  /** The lowest detection score whose box places offsets (`/score`; undefined: DEFAULT_BOX_MIN_SCORE). */
  minScore?: number;
  /** x264's variance-AQ strength in this method's encodes (`/aq0.5`; undefined: the encode's own). */
  aqStrength?: number;
  /** How many analyses before a frame's latest one also place their boxes (`/hold2`; undefined: none). */
  hold?: number;
  /** Two passes: how much finer (QP) the second pass codes the objects the first lost (`/fix6`; undefined: one pass). */
  fix?: number;
  /** The coarsest QP a macroblock gets, CRF mode only (`/qmax60`; undefined: no ceiling). */
  qpMax?: number;
}


/** How a JND map becomes offsets (dmv-jnd): the encode's base QP and JND settings. */
export interface JndMapping {
  baseQp: number | undefined;
  gain: number;
  pooling: JndPooling;
  minOffset: number;
  maxOffset: number;
}

/** The in/out offsets and dilation of det-scale, det-heat, obj-jnd and dmv-jnd-roi (measured: bench/results/detector-bench*); det-roi has its own below. */
export const DEFAULT_DET_OFFSETS = { inside: -2, outside: 12, dilate: 16 };
/**
 * The flat box ROI's own defaults (det-roi, det-roi-interp, the control det-roi-shuffled):
 * boxes at the base QP, the rest 20 coarser; the best of the outside sweep (+12, +16, +20, +24)
 * over three windows, and also when NanoDet scores it (README, Results;
 * bench/results/bd-rate-det-roi-0-20.md, detector-bench-nanodet-det-roi-0-20).
 */
export const DEFAULT_DET_ROI_OFFSETS = { inside: 0, outside: 20, dilate: DEFAULT_DET_OFFSETS.dilate };
/** dmv-jnd-rel's and dmv-jnd-outside's default span: how much coarser the most tolerant MBs get than the least. */
export const DEFAULT_RELATIVE_JND_SPAN = 16;

/** The offsets a det-* method gets when its name has no @in,out. */
export function defaultDetOffsets(method: DetectorMethod): { inside: number; outside: number; dilate: number } {
  return method === 'det-roi' || method === 'det-roi-shuffled' ? DEFAULT_DET_ROI_OFFSETS : DEFAULT_DET_OFFSETS;
}

/**
 * The lowest score a detection's box places offsets at, unless the method says `/score`:
 * the verification's reference threshold (metrics/detection.ts, `high`).
 */
export const DEFAULT_BOX_MIN_SCORE = DEFAULT_DETECTION_MATCH.high;

/** The strongest variance AQ a method's /aq or --jnd-aq-strength takes. */
export const MAX_AQ_STRENGTH = 3;

/** The largest box dilation a method takes (`/64px`): four macroblocks on each side. */
export const MAX_BOX_DILATION = 64;

/** The most earlier analyses a method's `/hold` keeps. */
export const MAX_BOX_HOLD = 16;

/** The largest refinement a method's `/fix` takes. */
export const MAX_BOX_FIX = 24;

/** Methods whose offsets use no boxes, so a `/score` or `/<px>px` would change nothing. */
const BOXLESS_METHODS: readonly DetectorMethod[] = ['dmv-jnd', 'dmv-jnd-rel'];

/** `encode`'s offsets under a detector machine. */
export const DEFAULT_DETECTOR_OFFSETS = 'det-scale-interp';
/** det-scale: boxes up to this side (pixels) get `in` unchanged; its default QP per size doubling. */
export const DET_SCALE_REFERENCE_SIDE = 32;
export const DEFAULT_DET_SCALE_SLOPE = 3;
/** Seed of the shuffled control (segment starting at frame a uses seed + a). */
export const DET_SHUFFLE_SEED = 20211201;

export const DETECTOR_OFFSET_HELP = 'det-scale-interp[@in,out[,slope]] (the default: det-scale with each box moving linearly between two detections) | det-scale[@in,out[,slope]] (det-roi graded by object size, +slope QP, default 3, per doubling of a box side above 32 px; between two detections both detections\' boxes) | det-roi[@in,out] (MBs on detected boxes get in, the rest out; default @0,+20) | det-roi-interp, obj-jnd-interp (boxes moving between detections) | det-heat[@in,out] (continuous, from the detector heatmap) | det-roi-shuffled[@in,out] (control; same defaults as det-roi) | obj-jnd[@in,out] (det-roi graded by the object-level detector JND learned from x264 encodes) | dmv-jnd[@gain] (the DMV-JND trained against the detector, 2 x JND rule) | dmv-jnd-roi[@gain] (det-roi with the learned JND inside the boxes) | dmv-jnd-rel[@span] (the learned JND relative to the frame\'s least tolerant MBs: those at the CRF, the rest up to span coarser, default 16) | dmv-jnd-outside[@span] (det-roi\'s boxes at the CRF, dmv-jnd-rel outside them). Any box method takes /score: the lowest detection score whose box places offsets (default 0.35), e.g. det-roi@0,+20/0.25, and /<pixels>px: how far each box is dilated on every side before it marks macroblocks (default 16), e.g. det-roi@0,+20/8px. Any detector method takes /aq<strength>: x264\'s variance-AQ strength in its encodes (default: x264\'s 1 for box methods, --jnd-aq-strength for dmv-jnd), e.g. det-roi/aq0.5, and /hold<n>: each frame also keeps the boxes of the n analyses before its latest one (default 0), e.g. det-roi/hold2. Any box method takes /fix<qp>: two passes; the detector checks the first pass\'s decoded frames against the source, and the second pass codes the objects the first lost qp finer and the objects it made up at in (two encodes and a decode with the detector: about 4x slower in the bench), e.g. det-roi/fix3. Any detector method takes /qmax<qp> (with --crf): no macroblock coarser than that QP unless CRF + in is, e.g. det-roi/qmax60';

/** `det-roi`, `det-heat@-3,+9`, ... -> spec; undefined for names of other families. */
export function parseDetectorOffsets(text: string): DetectorOffsetSpec | undefined {
  const named = detectorMethodOf(text);
  if (!named) return undefined;
  const spec = parseDetectorMethod(named.base, named.method, named.at);
  if (named.repeated) {
    throw new DmvjndError('arguments', undefined, `expected --offsets <method>[/<score>][/<pixels>px][/aq<strength>] with each modifier at most once but received "${text.trim()}"`);
  }
  const minScore = named.boxScore === undefined ? undefined : parseBoxScore(text.trim(), named.method, named.boxScore);
  const dilate = named.dilate === undefined ? spec.dilate : parseBoxDilation(text.trim(), named.method, named.dilate);
  const aqStrength = named.aqStrength === undefined ? undefined : parseAqStrength(text.trim(), named.aqStrength);
  const hold = named.hold === undefined ? undefined : parseBoxHold(text.trim(), named.hold);
  const fix = named.fix === undefined ? undefined : parseBoxFix(text.trim(), named.method, named.fix);
  const qpMax = named.qpMax === undefined ? undefined : parseQpMax(text.trim(), named.qpMax);
  return {
    ...spec, dilate, ...(named.interpolate ? { interpolate: true } : {}), ...(minScore === undefined ? {} : { minScore }),
    ...(aqStrength === undefined ? {} : { aqStrength }), ...(hold === undefined || hold === 0 ? {} : { hold }),
    ...(fix === undefined ? {} : { fix }), ...(qpMax === undefined ? {} : { qpMax }),
  };
}

/** A modifier's number text as a whole number in [lo, hi], or undefined. */
function wholeNumberIn(raw: string, lo: number, hi: number): number | undefined {
  const n = Number(raw);
  return raw !== '' && Number.isInteger(n) && n >= lo && n <= hi ? n : undefined;
}

function parseQpMax(text: string, raw: string): number {
  const q = wholeNumberIn(raw, 1, EXTENDED_MAX_CRF);
  if (q === undefined) {
    throw new DmvjndError('arguments', undefined, `expected --offsets <method>/qmax<qp> with a QP ceiling of 1 to ${EXTENDED_MAX_CRF} but received "${text}"`);
  }
  return q;
}

function parseAqStrength(text: string, raw: string): number {
  const strength = Number(raw);
  if (!(raw !== '' && Number.isFinite(strength) && strength >= 0 && strength <= MAX_AQ_STRENGTH)) {
    throw new DmvjndError('arguments', undefined, `expected --offsets <method>/aq<strength> with an AQ strength in [0, ${MAX_AQ_STRENGTH}] but received "${text}"`);
  }
  return strength;
}

function parseBoxHold(text: string, raw: string): number {
  const n = wholeNumberIn(raw, 0, MAX_BOX_HOLD);
  if (n === undefined) {
    throw new DmvjndError('arguments', undefined, `expected --offsets <method>/hold<analyses> with a hold of 0 to ${MAX_BOX_HOLD} whole analyses but received "${text}"`);
  }
  return n;
}

function parseBoxFix(text: string, method: DetectorMethod, raw: string): number {
  rejectBoxless(text, method, 'second-pass refinement');
  const n = wholeNumberIn(raw, 0, MAX_BOX_FIX);
  if (n === undefined) {
    throw new DmvjndError('arguments', undefined, `expected --offsets <method>/fix<qp> with a refinement of 0 to ${MAX_BOX_FIX} whole QP but received "${text}"`);
  }
  return n;
}

/** A `/score` or `/<px>px` on a method that places no boxes is a mistake, not a no-op. */
function rejectBoxless(text: string, method: DetectorMethod, modifier: string): void {
  if (BOXLESS_METHODS.includes(method)) {
    throw new DmvjndError('arguments', undefined, `expected --offsets ${method} without a ${modifier} (it places no boxes) but received "${text}"`);
  }
}

function parseBoxDilation(text: string, method: DetectorMethod, raw: string): number {
  rejectBoxless(text, method, 'box dilation');
  const px = wholeNumberIn(raw, 0, MAX_BOX_DILATION);
  if (px === undefined) {
    throw new DmvjndError('arguments', undefined, `expected --offsets <method>/<pixels>px with a box dilation of 0 to ${MAX_BOX_DILATION} whole pixels but received "${text}"`);
  }
  return px;
}

function parseBoxScore(text: string, method: DetectorMethod, raw: string): number {
  rejectBoxless(text, method, 'box score');
  const score = Number(raw);
  if (!(raw !== '' && Number.isFinite(score) && score > 0 && score <= 1)) {
    throw new DmvjndError('arguments', undefined, `expected --offsets <method>/<score> with a box score in (0, 1] but received "${text}"`);
  }
  return score;
}

function parseDetectorMethod(t: string, method: DetectorMethod, at: number): DetectorOffsetSpec {
  if (method === 'dmv-jnd-rel' || method === 'dmv-jnd-outside') {
    const span = at < 0 ? DEFAULT_RELATIVE_JND_SPAN : Number(t.slice(at + 1));
    if (!(Number.isFinite(span) && span >= 0 && span <= 51 && (at < 0 || t.slice(at + 1).trim() !== ''))) {
      throw new DmvjndError('arguments', undefined, `expected --offsets ${method}@<span> with a QP span in [0, 51] but received "${t}"`);
    }
    return { kind: 'detector', method, inside: 0, outside: span, dilate: DEFAULT_DET_OFFSETS.dilate };
  }
  if (method === 'dmv-jnd' || method === 'dmv-jnd-roi') {
    const gain = at < 0 ? undefined : Number(t.slice(at + 1));
    if (gain !== undefined && !(Number.isFinite(gain) && gain >= 0 && t.slice(at + 1).trim() !== '')) {
      throw new DmvjndError('arguments', undefined, `expected --offsets ${method}@<gain> with a gain >= 0 but received "${t}"`);
    }
    return { kind: 'detector', method, ...DEFAULT_DET_OFFSETS, gain };
  }
  const scaled = method === 'det-scale';
  const slopeDefault = scaled ? { slope: DEFAULT_DET_SCALE_SLOPE } : {};
  if (at < 0) return { kind: 'detector', method, ...defaultDetOffsets(method), ...slopeDefault };
  const parts = t.slice(at + 1).split(',').map((s) => Number(s.trim()));
  const offsetsBad = parts.slice(0, 2).some((v) => !Number.isFinite(v) || Math.abs(v) > 51);
  if (scaled) {
    if (!(parts.length === 2 || parts.length === 3) || offsetsBad || (parts.length === 3 && !(Number.isFinite(parts[2]) && parts[2] >= 0 && parts[2] <= 51))) {
      throw new DmvjndError('arguments', undefined, `expected --offsets det-scale@<in>,<out>[,<slope>] with two QP offsets in [-51, 51] and a slope in [0, 51] but received "${t}"`);
    }
    return { kind: 'detector', method, inside: parts[0], outside: parts[1], dilate: DEFAULT_DET_OFFSETS.dilate, slope: parts[2] ?? DEFAULT_DET_SCALE_SLOPE };
  }
  if (parts.length !== 2 || offsetsBad) {
    throw new DmvjndError('arguments', undefined, `expected --offsets ${method}@<in>,<out> with two QP offsets in [-51, 51] but received "${t}"`);
  }
  return { kind: 'detector', method, inside: parts[0], outside: parts[1], dilate: DEFAULT_DET_OFFSETS.dilate };
}

export function detectorOffsetName(s: DetectorOffsetSpec): string {
  const score = s.minScore === undefined || s.minScore === DEFAULT_BOX_MIN_SCORE ? '' : `${BOX_SCORE_SEPARATOR}${s.minScore}`;
  const dilation = s.dilate === defaultDetOffsets(s.method).dilate ? '' : `${BOX_SCORE_SEPARATOR}${s.dilate}${DILATION_UNIT}`;
  const aq = s.aqStrength === undefined ? '' : `${BOX_SCORE_SEPARATOR}${AQ_PREFIX}${s.aqStrength}`;
  const hold = s.hold ? `${BOX_SCORE_SEPARATOR}${HOLD_PREFIX}${s.hold}` : '';
  const fix = s.fix === undefined ? '' : `${BOX_SCORE_SEPARATOR}${FIX_PREFIX}${s.fix}`;
  const qpMax = s.qpMax === undefined ? '' : `${BOX_SCORE_SEPARATOR}${QP_MAX_PREFIX}${s.qpMax}`;
  return `${detectorOffsetBaseName(s)}${score}${dilation}${aq}${hold}${fix}${qpMax}`;
}

function detectorOffsetBaseName(s: DetectorOffsetSpec): string {
  if (s.method === 'dmv-jnd-rel' || s.method === 'dmv-jnd-outside') return s.outside === DEFAULT_RELATIVE_JND_SPAN ? s.method : `${s.method}@${s.outside}`;
  if (usesDetectorJnd(s)) return s.gain === undefined ? s.method : `${s.method}@${s.gain}`;
  const d = defaultDetOffsets(s.method);
  const sign = (v: number) => (v > 0 ? `+${v}` : String(v));
  const slope = s.method === 'det-scale' && s.slope !== DEFAULT_DET_SCALE_SLOPE ? `,${s.slope}` : '';
  const method = s.interpolate ? `${s.method}${INTERP_SUFFIX}` : s.method;
  return s.inside === d.inside && s.outside === d.outside && slope === '' ? method : `${method}@${sign(s.inside)},${sign(s.outside)}${slope}`;
}

/** Where a frame's detections come from: the detector worker, or a machine on this thread (benchmarks, with a memo). */
export interface DetectionSource {
  detect(frame: FrameContext['frame']): Promise<DetectorOutput>;
}

/** The per-MB map of one frame from its (merged) detections. */
export function detectorMap(spec: DetectorOffsetSpec, outputs: DetectorOutput[], grid: FrameContext['grid'], defaultMinScore: number, seed: number, mapping?: JndMapping): Float32Array {
  const minScore = spec.minScore ?? defaultMinScore;
  if (usesDetectorJnd(spec)) {
    const maps = outputs.map((o) => o.jnd).filter((j): j is SaliencyMap => j !== undefined);
    if (maps.length === 0 || !mapping) throw new Error('dmv-jnd offsets need the detector-trained JND (a runner loaded withJnd) and the JND mapping');
    // Between two analyses, the smaller JND of the two: what either position tolerates.
    const jnd = combineMaps(maps, Math.min);
    // 1 on the macroblocks under a box, 0 elsewhere (dmv-jnd-roi, dmv-jnd-outside).
    const boxMask = () => detRoiOffsets(outputs.flatMap((o) => o.detections), grid, { inside: 1, outside: 0, dilate: spec.dilate, minScore });
    if (spec.method === 'dmv-jnd-rel' || spec.method === 'dmv-jnd-outside') {
      const targets = placedQpOffsets(jnd.data, jnd, grid, { baseQp: 0, gain: 1, pooling: mapping.pooling, minOffset: -1000, maxOffset: 1000 });
      const relative = relativeQpOffsets(targets, spec.outside);
      if (spec.method === 'dmv-jnd-rel') return relative;
      const boxes = boxMask();
      return relative.map((v, i) => (boxes[i] === 1 ? 0 : v));
    }
    const learned = placedQpOffsets(jnd.data, jnd, grid, { ...mapping, gain: spec.gain ?? mapping.gain });
    if (spec.method === 'dmv-jnd') return learned;
    const boxes = boxMask();
    return learned.map((v, i) => (boxes[i] === 1 ? Math.min(spec.outside, Math.max(spec.inside, v)) : spec.outside));
  }
  if (spec.method === 'det-heat') {
    const maps = outputs.map((o) => o.heatmap).filter((h): h is SaliencyMap => h !== undefined);
    if (maps.length > 0) {
      return detHeatOffsets(combineMaps(maps, Math.max), grid, { inside: spec.inside, outside: spec.outside, saturation: minScore });
    }
    // No heatmap (NanoDet, YOLO): the boxes' scores stand in, which makes it det-roi.
  }
  const detections = outputs.flatMap((o) => o.detections);
  if (spec.method === 'obj-jnd') {
    if (!spec.objectJnd) throw new Error('obj-jnd offsets need the object-JND model (readObjectJndModel)');
    return objectJndOffsets(detections, grid, { inside: spec.inside, outside: spec.outside, dilate: spec.dilate, minScore, model: spec.objectJnd });
  }
  if (spec.method === 'det-scale') {
    return detScaleOffsets(detections, grid, {
      inside: spec.inside, outside: spec.outside, dilate: spec.dilate, minScore,
      slope: spec.slope ?? DEFAULT_DET_SCALE_SLOPE, referenceSide: DET_SCALE_REFERENCE_SIDE,
    });
  }
  const map = detRoiOffsets(detections, grid, { inside: spec.inside, outside: spec.outside, dilate: spec.dilate, minScore });
  return spec.method === 'det-roi-shuffled' ? shuffledOffsets(map, seed) : map;
}

/**
 * A /fix second pass's map: the macroblocks under a (dilated) box the first pass lost get
 * at most `in` minus `fix`, those under a box it made up at most `in`; the rest unchanged.
 */
export function correctedOffsets(map: Float32Array, corrections: readonly FrameDisagreements[], grid: FrameContext['grid'], spec: Pick<DetectorOffsetSpec, 'inside' | 'dilate'>, fix: number): Float32Array {
  const lost = corrections.flatMap((c) => c.lost);
  const spurious = corrections.flatMap((c) => c.spurious);
  if (lost.length === 0 && spurious.length === 0) return map;
  const mask = (dets: typeof lost) => detRoiOffsets(dets, grid, { inside: 1, outside: 0, dilate: spec.dilate, minScore: 0 });
  const out = Float32Array.from(map);
  const made = mask(spurious);
  const missed = mask(lost);
  for (let i = 0; i < out.length; i++) {
    if (made[i] === 1) out[i] = Math.min(out[i], spec.inside);
    if (missed[i] === 1) out[i] = Math.min(out[i], spec.inside) - fix;
  }
  return out;
}

/**
 * A /qmax map: no offset above `qpMax - baseQp` (the macroblock's QP at most qpMax), except
 * that the ceiling never falls below `inside`: at a CRF above qpMax the frame is coded at
 * CRF + in throughout, which is what the method asks of its objects.
 */
export function ceilingOffsets(map: Float32Array, qpMax: number, baseQp: number, inside: number): Float32Array {
  const ceiling = Math.max(qpMax - baseQp, inside);
  return map.some((v) => v > ceiling) ? map.map((v) => Math.min(v, ceiling)) : map;
}

/** Elementwise min or max of same-size maps (a map of another size is skipped). */
function combineMaps(maps: SaliencyMap[], pick: (a: number, b: number) => number): SaliencyMap {
  if (maps.length === 1) return maps[0];
  const out = Float32Array.from(maps[0].data);
  for (const m of maps.slice(1)) {
    if (m.width !== maps[0].width || m.height !== maps[0].height) continue;
    for (let i = 0; i < out.length; i++) out[i] = pick(out[i], m.data[i]);
  }
  return { width: maps[0].width, height: maps[0].height, data: out };
}

/**
 * Offsets from a detector every `stride` frames (see the file comment). The encoder calls
 * `prepare` in decode order up to `lookahead` frames ahead: that is where detections of a
 * due frame start; the map of frame i is built when it is encoded, from the analysed
 * frames around it.
 */
export function detectorOffsetProvider(
  source: DetectionSource,
  spec: DetectorOffsetSpec,
  opts: {
    stride: number;
    minScore: number;
    onAnalysed?: () => void;
    mapping?: JndMapping;
    /**
     * Static scenes: a due frame whose luma thumbnail shows no block change since the last
     * analysed frame is skipped, until analyses would be `maxStride` frames apart (default
     * = stride: never skip). Needs `thumbnail`.
     */
    maxStride?: number;
    thumbnail?: (frame: FrameContext['frame']) => Uint8Array | undefined;
    onSkipped?: () => void;
    /** Each analysis as it starts: the frame's index and the detections' promise (a /fix first pass records them). */
    onDetections?: (index: number, frame: FrameContext['frame'], detections: Promise<DetectorOutput>) => void;
    /** A /fix second pass: what the first pass got wrong, by analysed frame (correctedOffsets, at spec.fix). */
    corrections?: ReadonlyMap<number, FrameDisagreements>;
  },
): OffsetProvider {
  const stride = Math.max(1, Math.floor(opts.stride));
  const maxStride = Math.max(stride, Math.floor(opts.maxStride ?? stride));
  const hold = Math.max(0, Math.floor(spec.hold ?? 0));
  const baseQp = opts.mapping?.baseQp;
  if (spec.qpMax !== undefined && baseQp === undefined) {
    throw new DmvjndError('arguments', undefined, `expected --offsets ${detectorOffsetName(spec)} with --crf (a QP ceiling needs the CRF it is relative to) but received a bitrate target`);
  }
  // Analysed frame index -> its detections (a promise: the worker may still be running).
  const analysed = new Map<number, Promise<DetectorOutput>>();
  // Due frames already decided (analysed or skipped as static): decided once, in decode order.
  const decided = new Set<number>();
  let lastThumb: Uint8Array | undefined;
  let lastAnalysed = -1;
  let lastKey = '';
  let lastMap: Float32Array | undefined;
  const prepare = ({ frame, index }: FrameContext): void => {
    if (index % stride !== 0 && analysed.size > 0) return;
    if (decided.has(index)) return;
    decided.add(index);
    const thumb = maxStride > stride && opts.thumbnail ? opts.thumbnail(frame) : undefined;
    if (thumb && lastThumb && analysed.size > 0 && index - lastAnalysed < maxStride && maxBlockChange(thumb, lastThumb) < STATIC_BLOCK_CHANGE) {
      opts.onSkipped?.();
      return;
    }
    const p = source.detect(frame);
    p.catch(() => undefined); // awaited when a frame needs it
    analysed.set(index, p);
    opts.onDetections?.(index, frame, p);
    lastThumb = thumb;
    lastAnalysed = index;
    opts.onAnalysed?.();
  };
  // The modifiers applied to a frame's map: the /qmax ceiling, then the /fix corrections of the analyses it came from.
  const finished = (map: Float32Array, from: number[], grid: FrameContext['grid']): Float32Array => {
    const ceiled = spec.qpMax === undefined ? map : ceilingOffsets(map, spec.qpMax, baseQp!, spec.inside);
    if (!opts.corrections || spec.fix === undefined) return ceiled;
    const found = from.map((i) => opts.corrections!.get(i)).filter((c): c is FrameDisagreements => c !== undefined);
    return correctedOffsets(ceiled, found, grid, spec, spec.fix);
  };
  const provider: OffsetProvider = async (ctx) => {
    if (analysed.size === 0 || ctx.index % stride === 0) prepare(ctx);
    let before = -1;
    let after = -1;
    for (const i of analysed.keys()) {
      if (i <= ctx.index && i > before) before = i;
      if (i > ctx.index && (after < 0 || i < after)) after = i;
    }
    // The `hold` analyses before `before` that this frame keeps, oldest first.
    const earlier = [...analysed.keys()].filter((i) => i < before).sort((p, q) => p - q);
    const held = hold > 0 ? earlier.slice(-hold) : [];
    // Analyses (and decisions) no later frame can need any more.
    for (const i of [...analysed.keys()]) if (i < before && !held.includes(i)) analysed.delete(i);
    for (const i of [...decided]) if (i < before) decided.delete(i);
    const heldOutputs = () => Promise.all(held.map((i) => analysed.get(i)!));
    const between = before !== ctx.index && after >= 0;
    if (between && spec.interpolate) {
      const [b, a] = [await analysed.get(before)!, await analysed.get(after)!];
      const detections = interpolateDetections(b.detections, a.detections, (ctx.index - before) / (after - before), spec.minScore ?? opts.minScore);
      const moving = { width: b.width, height: b.height, detections, heatmap: undefined };
      return finished(detectorMap(spec, [...(await heldOutputs()), moving], ctx.grid, opts.minScore, DET_SHUFFLE_SEED + before, opts.mapping), [...held, before, after], ctx.grid);
    }
    // The frames between two analyses share one map: build it once.
    const key = `${held.join(',')}|${before === ctx.index ? `${before}` : `${before}|${after}`}`;
    if (key !== lastKey || !lastMap) {
      const outputs = [...(await heldOutputs()), await analysed.get(before)!];
      if (between) outputs.push(await analysed.get(after)!);
      lastMap = finished(detectorMap(spec, outputs, ctx.grid, opts.minScore, DET_SHUFFLE_SEED + before, opts.mapping), [...held, before, ...(between ? [after] : [])], ctx.grid);
      lastKey = key;
    }
    return lastMap;
  };
  provider.prepare = prepare;
  // Two strides: the next analysis (which the frames before it wait for) runs while x264 encodes a whole stride.
  provider.lookahead = Math.min(MAX_LOOKAHEAD, Math.max(4, 2 * stride));
  return provider;
}
