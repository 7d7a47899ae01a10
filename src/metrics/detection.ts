/**
 * Detection agreement: how well a detector's decisions on the decoded frame reproduce its
 * decisions on the source frame. The reference is the detector itself on the source, not
 * human annotation, so "ground truth" below means "what the detector found on the source".
 *
 * Score hysteresis: the detector's scores sit near any single threshold, and an object at
 * 0.31 on the source and 0.29 on the decode is noise, not a flip (see NOTES: a CRF 18
 * re-encode agrees at F1 0.95-0.97 without a band). With a band [low, high):
 * - reference objects are reference detections with score >= high;
 * - a reference detection in [low, high) is *uncertain*: missing it is no FN, and a test
 *   detection matched to it is neither TP nor FP;
 * - a test detection with score >= low may match a reference object (TP);
 * - an unmatched test detection is FP only when its score is >= high.
 * So a detection counts as a flip only when its score crosses the whole band. Reference
 * detections below `low` are not used at all.
 */
import type { Box, Detection } from '../machines/types.ts';

export interface DetectionMatchOptions {
  /** Minimum IoU for a match (inclusive). */
  iou: number;
  /** Reference objects: reference score >= high; unmatched test detections >= high are FP. */
  high: number;
  /** Lowest score of a test detection that can still match, and of an uncertain reference. */
  low: number;
  /** Match only detections of the same class. */
  sameClass: boolean;
}

/** Provisional: the band is to be chosen by measurement, so every function takes it as a parameter. */
export const DEFAULT_DETECTION_MATCH: Readonly<DetectionMatchOptions> = Object.freeze({
  iou: 0.5,
  high: 0.35,
  low: 0.25,
  sameClass: true,
});

/** IoU threshold of the mAP@0.5 (fixed, independent of the F1 matching IoU). */
export const MAP_IOU = 0.5;

export interface ClassCounts {
  /** Reference objects of this class (reference score >= high). */
  reference: number;
  tp: number;
  fp: number;
  fn: number;
}

export interface FrameMatchCounts {
  tp: number;
  fp: number;
  fn: number;
  /** Reference detections with score >= high (tp + fn). */
  refObjects: number;
  /** Of the class-agnostic matches to reference objects, those with the same class. */
  matchedSameClass: number;
  /** Matches to reference objects made ignoring class (the class-agreement denominator). */
  matchedAnyClass: number;
  /**
   * Per class (keyed by class index): TP and FN count under the reference's class, FP under
   * the test detection's class (they differ only when sameClass is false).
   */
  perClass: Map<number, ClassCounts>;
}

export function iou(a: Box, b: Box): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

export function checkMatchOptions(opts: DetectionMatchOptions): void {
  if (!(Number.isFinite(opts.iou) && opts.iou > 0 && opts.iou <= 1)) {
    throw new RangeError(`Expected a match IoU in (0, 1] but received ${opts.iou}`);
  }
  if (!(Number.isFinite(opts.low) && Number.isFinite(opts.high) && opts.low <= opts.high)) {
    throw new RangeError(
      `Expected finite score thresholds with low <= high for the hysteresis band but received low ${opts.low}, high ${opts.high}`,
    );
  }
}

function checkDetections(dets: readonly Detection[], what: string): void {
  for (let i = 0; i < dets.length; i++) {
    const d = dets[i];
    if (!Number.isInteger(d.cls) || d.cls < 0) {
      throw new RangeError(`Expected a non-negative integer class for ${what} detection ${i} but received ${d.cls}`);
    }
    if (!Number.isFinite(d.score)) {
      throw new RangeError(`Expected a finite score for ${what} detection ${i} but received ${d.score}`);
    }
    const b = d.box;
    if (!(b.x1 <= b.x2 && b.y1 <= b.y2)) {
      throw new RangeError(
        `Expected a box with x1 <= x2 and y1 <= y2 for ${what} detection ${i} but received [${b.x1}, ${b.y1}, ${b.x2}, ${b.y2}]`,
      );
    }
  }
}

/** Indices sorted by descending score; ties keep input order (deterministic). */
function byScoreDescending(dets: readonly Detection[], keep: (d: Detection) => boolean): number[] {
  const idx: number[] = [];
  for (let i = 0; i < dets.length; i++) if (keep(dets[i])) idx.push(i);
  return idx.sort((a, b) => dets[b].score - dets[a].score || a - b);
}

/**
 * Greedy one-to-one matching: test detections in descending score order, each takes the
 * unmatched candidate with the highest IoU >= minIou (same class when sameClass). Like
 * COCO's crowd rule, a candidate flagged `preferred` (a reference object) wins over a
 * non-preferred one (an uncertain reference) whatever their IoUs, so an uncertain
 * detection overlapping a real object cannot steal its match and turn it into a FN.
 * Returns, per test index in `order`, the matched candidate index or -1.
 */
function greedyMatch(
  candidates: readonly Detection[],
  preferred: readonly boolean[],
  test: readonly Detection[],
  order: readonly number[],
  minIou: number,
  sameClass: boolean,
): Int32Array {
  const taken = new Uint8Array(candidates.length);
  const match = new Int32Array(test.length).fill(-1);
  for (const t of order) {
    const det = test[t];
    let best = -1;
    let bestIou = -1;
    let bestPreferred = false;
    for (let r = 0; r < candidates.length; r++) {
      if (taken[r] || (sameClass && candidates[r].cls !== det.cls)) continue;
      const v = iou(det.box, candidates[r].box);
      if (v < minIou) continue;
      const p = preferred[r];
      if ((p && !bestPreferred) || (p === bestPreferred && v > bestIou)) {
        best = r;
        bestIou = v;
        bestPreferred = p;
      }
    }
    if (best >= 0) {
      taken[best] = 1;
      match[t] = best;
    }
  }
  return match;
}

function classEntry(map: Map<number, ClassCounts>, cls: number): ClassCounts {
  let entry = map.get(cls);
  if (entry === undefined) {
    entry = { reference: 0, tp: 0, fp: 0, fn: 0 };
    map.set(cls, entry);
  }
  return entry;
}

/** Reference detections the band uses: objects (>= high) and uncertain ones ([low, high)). */
function usableReference(ref: readonly Detection[], opts: DetectionMatchOptions): { dets: Detection[]; isObject: boolean[] } {
  const dets: Detection[] = [];
  const isObject: boolean[] = [];
  for (const d of ref) {
    if (d.score >= opts.low) {
      dets.push(d);
      isObject.push(d.score >= opts.high);
    }
  }
  return { dets, isObject };
}

/**
 * One frame's matching under the band, checked: the usable reference detections (and which
 * are objects), the test detections that can match in score order, and per test index the
 * matched reference or -1. Shared by matchFrame (counts) and frameDisagreements (which ones).
 */
function bandMatch(ref: readonly Detection[], test: readonly Detection[], opts: DetectionMatchOptions): { refs: Detection[]; isObject: boolean[]; order: number[]; match: Int32Array } {
  checkMatchOptions(opts);
  checkDetections(ref, 'reference');
  checkDetections(test, 'test');
  const { dets: refs, isObject } = usableReference(ref, opts);
  const order = byScoreDescending(test, (d) => d.score >= opts.low);
  return { refs, isObject, order, match: greedyMatch(refs, isObject, test, order, opts.iou, opts.sameClass) };
}

/** Counts of one frame under the hysteresis band (see the file comment for the rules). */
export function matchFrame(ref: readonly Detection[], test: readonly Detection[], opts: DetectionMatchOptions): FrameMatchCounts {
  const { refs, isObject, order, match } = bandMatch(ref, test, opts);
  const perClass = new Map<number, ClassCounts>();
  const counts: FrameMatchCounts = { tp: 0, fp: 0, fn: 0, refObjects: 0, matchedSameClass: 0, matchedAnyClass: 0, perClass };

  const refMatched = new Uint8Array(refs.length);
  for (const t of order) {
    const r = match[t];
    if (r >= 0) {
      refMatched[r] = 1;
      if (isObject[r]) {
        counts.tp++;
        classEntry(perClass, refs[r].cls).tp++;
      } // matched to an uncertain reference: neither TP nor FP
    } else if (test[t].score >= opts.high) {
      counts.fp++;
      classEntry(perClass, test[t].cls).fp++;
    }
  }
  for (let r = 0; r < refs.length; r++) {
    if (!isObject[r]) continue;
    counts.refObjects++;
    const entry = classEntry(perClass, refs[r].cls);
    entry.reference++;
    if (!refMatched[r]) {
      counts.fn++;
      entry.fn++;
    }
  }

  // Class agreement: a second, class-agnostic matching; of its matches to reference
  // objects, how many keep the class. Separates "moved/vanished" from "relabelled".
  const anyClass = greedyMatch(refs, isObject, test, order, opts.iou, false);
  for (const t of order) {
    const r = anyClass[t];
    if (r >= 0 && isObject[r]) {
      counts.matchedAnyClass++;
      if (refs[r].cls === test[t].cls) counts.matchedSameClass++;
    }
  }
  return counts;
}

/** What one frame's test detections got wrong: the reference objects they missed (FN) and those they made up (FP). */
export interface FrameDisagreements {
  lost: Detection[];
  spurious: Detection[];
}

/** The FN reference objects and FP test detections of one frame, under the same rules as matchFrame. */
export function frameDisagreements(ref: readonly Detection[], test: readonly Detection[], opts: DetectionMatchOptions): FrameDisagreements {
  const { refs, isObject, order, match } = bandMatch(ref, test, opts);
  const refMatched = new Uint8Array(refs.length);
  const spurious: Detection[] = [];
  for (const t of order) {
    if (match[t] >= 0) refMatched[match[t]] = 1;
    else if (test[t].score >= opts.high) spurious.push(test[t]);
  }
  return { lost: refs.filter((_, r) => isObject[r] && !refMatched[r]), spurious };
}

/**
 * mAP@0.5 matching of one frame, per class: the reference objects (score >= high) are the
 * ground truth, uncertain reference detections ([low, high)) are ignore regions, every
 * test detection given is a prediction (the caller's floor decides which). Returns, per
 * test detection, 1 (TP), 0 (FP) or -1 (matched an ignore region: left out).
 */
function mapFrameOutcomes(refs: readonly Detection[], isObject: readonly boolean[], test: readonly Detection[]): Int8Array {
  const order = byScoreDescending(test, () => true);
  const match = greedyMatch(refs, isObject, test, order, MAP_IOU, true);
  const outcome = new Int8Array(test.length);
  for (let t = 0; t < test.length; t++) {
    const r = match[t];
    outcome[t] = r < 0 ? 0 : isObject[r] ? 1 : -1;
  }
  return outcome;
}

/**
 * VOC all-point interpolated average precision: the area under the precision-recall curve
 * after replacing each precision by the highest precision at any recall at or above it
 * (the monotone envelope). `isTp` lists the predictions in rank order (highest score
 * first). Returns null when there is no ground truth.
 */
export function vocAveragePrecision(isTp: ArrayLike<boolean | number>, gtCount: number): number | null {
  if (!Number.isInteger(gtCount) || gtCount < 0) {
    throw new RangeError(`Expected a non-negative integer ground-truth count but received ${gtCount}`);
  }
  if (gtCount === 0) return null;
  const n = isTp.length;
  const recall = new Float64Array(n + 2);
  const precision = new Float64Array(n + 2);
  let tp = 0;
  for (let i = 0; i < n; i++) {
    if (isTp[i]) tp++;
    recall[i + 1] = tp / gtCount;
    precision[i + 1] = tp / (i + 1);
  }
  if (tp > gtCount) {
    throw new RangeError(`Expected at most ${gtCount} true positives for ${gtCount} ground-truth objects but received ${tp}`);
  }
  recall[n + 1] = 1;
  precision[n + 1] = 0;
  for (let i = n; i >= 0; i--) precision[i] = Math.max(precision[i], precision[i + 1]);
  let ap = 0;
  for (let i = 1; i <= n + 1; i++) ap += (recall[i] - recall[i - 1]) * precision[i];
  return ap;
}

export interface ClassSummary extends ClassCounts {
  /** AP@0.5 of the class; null when the class has no reference object. */
  ap50: number | null;
}

export interface DetectionSummary {
  /**
   * Micro F1 over all frames: 2TP / (2TP + FP + FN). 1 when there is no reference object
   * and no FP (nothing to find and nothing invented).
   */
  f1: number;
  /** TP / (TP + FP); null when there is no TP nor FP. */
  precision: number | null;
  /** TP / (TP + FN); null when there is no reference object. */
  recall: number | null;
  /** Mean AP@0.5 over the classes with at least one reference object; null when none has. */
  map50: number | null;
  /** AP@0.5 averaged with each class weighted by its reference-object count; null when none. */
  map50_weighted: number | null;
  /** Of the class-agnostic matches to reference objects, the fraction with the same class; null when none. */
  class_agreement: number | null;
  reference_objects: number;
  /** reference_objects / frames; null when no frame was added. */
  reference_objects_per_frame: number | null;
  frames: number;
  tp: number;
  fp: number;
  fn: number;
  /** Keyed by class index (as a string, JSON-ready). */
  per_class: Record<string, ClassSummary>;
}

/** Per class: ranked-later data for AP, appended frame by frame. */
interface ClassPredictions {
  scores: number[];
  /** 1 TP, 0 FP, aligned with scores. */
  tp: number[];
}

/**
 * Accumulates detection agreement over frames: F1 counts under the hysteresis band and
 * the per-class predictions the mAP needs (score and TP/FP of each prediction, and the
 * ground-truth count), so memory stays O(detections).
 */
export class DetectionTally {
  readonly options: Readonly<DetectionMatchOptions>;
  private frameCount = 0;
  private readonly totals = { tp: 0, fp: 0, fn: 0, refObjects: 0, matchedSameClass: 0, matchedAnyClass: 0 };
  private readonly perClass = new Map<number, ClassCounts>();
  private readonly predictions = new Map<number, ClassPredictions>();

  constructor(options: DetectionMatchOptions = DEFAULT_DETECTION_MATCH) {
    checkMatchOptions(options);
    this.options = Object.freeze({ ...options });
  }

  get frames(): number {
    return this.frameCount;
  }

  /**
   * Add one frame: `ref` = detections on the source frame, `test` = on the decoded frame,
   * both in the same pixel coordinates. The F1 counts use test detections >= low; the mAP
   * uses every test detection given. Returns the frame's counts.
   */
  add(ref: readonly Detection[], test: readonly Detection[]): FrameMatchCounts {
    const counts = matchFrame(ref, test, this.options);
    this.frameCount++;
    this.totals.tp += counts.tp;
    this.totals.fp += counts.fp;
    this.totals.fn += counts.fn;
    this.totals.refObjects += counts.refObjects;
    this.totals.matchedSameClass += counts.matchedSameClass;
    this.totals.matchedAnyClass += counts.matchedAnyClass;
    for (const [cls, c] of counts.perClass) {
      const entry = classEntry(this.perClass, cls);
      entry.reference += c.reference;
      entry.tp += c.tp;
      entry.fp += c.fp;
      entry.fn += c.fn;
    }

    const { dets: refs, isObject } = usableReference(ref, this.options);
    const outcome = mapFrameOutcomes(refs, isObject, test);
    for (let t = 0; t < test.length; t++) {
      if (outcome[t] < 0) continue;
      let entry = this.predictions.get(test[t].cls);
      if (entry === undefined) {
        entry = { scores: [], tp: [] };
        this.predictions.set(test[t].cls, entry);
      }
      entry.scores.push(test[t].score);
      entry.tp.push(outcome[t]);
    }
    return counts;
  }

  /** AP@0.5 of one class; null when it has no reference object. */
  classAp50(cls: number): number | null {
    const gt = this.perClass.get(cls)?.reference ?? 0; // ground truth = reference objects
    if (gt === 0) return null;
    const entry = this.predictions.get(cls);
    if (entry === undefined) return 0;
    // Rank across all frames by score; ties keep arrival order (frame order, then the
    // frame's own score order), as COCO's stable sort does.
    const order = entry.scores.map((_, i) => i).sort((a, b) => entry.scores[b] - entry.scores[a] || a - b);
    return vocAveragePrecision(order.map((i) => entry.tp[i]), gt);
  }

  summary(): DetectionSummary {
    const { tp, fp, fn, refObjects, matchedSameClass, matchedAnyClass } = this.totals;
    const denominator = 2 * tp + fp + fn;
    let apSum = 0;
    let apWeighted = 0;
    let apClasses = 0;
    let gtTotal = 0;
    const per_class: Record<string, ClassSummary> = {};
    for (const cls of [...this.perClass.keys()].sort((a, b) => a - b)) {
      const c = this.perClass.get(cls)!;
      const ap = this.classAp50(cls);
      per_class[String(cls)] = { ...c, ap50: ap };
      if (ap !== null) {
        const gt = c.reference;
        apSum += ap;
        apWeighted += ap * gt;
        apClasses++;
        gtTotal += gt;
      }
    }
    return {
      f1: denominator > 0 ? (2 * tp) / denominator : 1,
      precision: tp + fp > 0 ? tp / (tp + fp) : null,
      recall: refObjects > 0 ? tp / refObjects : null,
      map50: apClasses > 0 ? apSum / apClasses : null,
      map50_weighted: gtTotal > 0 ? apWeighted / gtTotal : null,
      class_agreement: matchedAnyClass > 0 ? matchedSameClass / matchedAnyClass : null,
      reference_objects: refObjects,
      reference_objects_per_frame: this.frameCount > 0 ? refObjects / this.frameCount : null,
      frames: this.frameCount,
      tp,
      fp,
      fn,
      per_class,
    };
  }
}

/** The summary of a tally (same as tally.summary()). */
export function detectionSummary(tally: DetectionTally): DetectionSummary {
  return tally.summary();
}
