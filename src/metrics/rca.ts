/**
 * Relative classification accuracy (RCA, Jin et al. 2021, Eqs. 16-17): how often a
 * classifier's top-1 decision on the decoded frame equals its decision on the original
 * frame. Labels come from the classifier itself, not from human annotation.
 *
 * Decisions of one classifier on one frame: the global top-1 (one decision) and one top-1
 * per regional window. Counts are kept over all decisions and over *confident* decisions
 * only (reference top-1 softmax >= tau): the CIFAR classifiers are unsure on real frames,
 * and their unsure decisions flip even under near-lossless coding, which is noise, not a
 * signal of what compression did.
 */

/** Top-1 labels and their softmax confidences for a list of decisions (same length). */
export interface Decisions {
  readonly labels: Int32Array;
  readonly confidences: Float32Array;
}

/** One classifier's decisions on one frame: global (length 1) and regional (one per window). */
export interface DecisionSet {
  readonly global: Decisions;
  readonly regional: Decisions;
}

export interface AgreementCount {
  agree: number;
  total: number;
}

export interface RcaCounts {
  all: AgreementCount;
  /** Only decisions whose reference confidence is >= tau. */
  confident: AgreementCount;
}

export interface DecisionSetCounts {
  global: RcaCounts;
  regional: RcaCounts;
}

/** RCA fractions in [0, 1]; null where there was nothing to count. */
export interface RcaFractions {
  all: number | null;
  confident: number | null;
}

export interface RcaSummary {
  perClassifier: Record<string, RcaFractions>;
  /** Mean of the per-classifier fractions (Eq. 17), over the classifiers that have one. */
  mean: RcaFractions;
}

/**
 * Top-1 label and softmax probability for `count` rows of `classes` logits (row-major).
 * Ties go to the lowest class index. Computed stably: p(top) = 1 / sum exp(l - max).
 */
export function softmaxTop1(logits: Float32Array, classes: number, count: number): Decisions {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`Expected a positive integer class count but received ${classes}`);
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Expected a non-negative integer row count but received ${count}`);
  }
  if (logits.length !== classes * count) {
    throw new RangeError(
      `Expected ${classes * count} logits for ${count} rows of ${classes} classes but received ${logits.length}`,
    );
  }
  const labels = new Int32Array(count);
  const confidences = new Float32Array(count);
  for (let row = 0; row < count; row++) {
    const base = row * classes;
    let best = 0;
    let max = logits[base];
    for (let k = 1; k < classes; k++) {
      if (logits[base + k] > max) {
        max = logits[base + k];
        best = k;
      }
    }
    if (!Number.isFinite(max)) {
      throw new RangeError(`Expected finite logits but received ${max} in row ${row}`);
    }
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[base + k] - max);
    if (Number.isNaN(sum)) throw new RangeError(`Expected finite logits but received NaN in row ${row}`);
    labels[row] = best;
    confidences[row] = 1 / sum;
  }
  return { labels, confidences };
}

export function emptyCounts(): RcaCounts {
  return { all: { agree: 0, total: 0 }, confident: { agree: 0, total: 0 } };
}

/** Agreement of `test` decisions with `reference` decisions, overall and where the reference is confident. */
export function rcaCounts(reference: Decisions, test: Decisions, tau: number): RcaCounts {
  const n = reference.labels.length;
  if (reference.confidences.length !== n) {
    throw new RangeError(`Expected ${n} reference confidences for ${n} labels but received ${reference.confidences.length}`);
  }
  if (test.labels.length !== n) {
    throw new RangeError(`Expected ${n} test decisions to match the reference but received ${test.labels.length}`);
  }
  if (!Number.isFinite(tau)) throw new RangeError(`Expected a finite confidence threshold tau but received ${tau}`);
  const counts = emptyCounts();
  for (let i = 0; i < n; i++) {
    const agree = reference.labels[i] === test.labels[i] ? 1 : 0;
    counts.all.agree += agree;
    counts.all.total += 1;
    if (reference.confidences[i] >= tau) {
      counts.confident.agree += agree;
      counts.confident.total += 1;
    }
  }
  return counts;
}

/** Counts for the global and regional decisions of one classifier on one frame. */
export function decisionSetCounts(reference: DecisionSet, test: DecisionSet, tau: number): DecisionSetCounts {
  return {
    global: rcaCounts(reference.global, test.global, tau),
    regional: rcaCounts(reference.regional, test.regional, tau),
  };
}

/** Sum of two counts (accumulate over frames); returns a new object. */
export function addCounts(a: RcaCounts, b: RcaCounts): RcaCounts {
  return {
    all: { agree: a.all.agree + b.all.agree, total: a.all.total + b.all.total },
    confident: { agree: a.confident.agree + b.confident.agree, total: a.confident.total + b.confident.total },
  };
}

/** agree / total, or null when nothing was counted (never NaN). */
export function rcaFraction(count: AgreementCount): number | null {
  return count.total > 0 ? count.agree / count.total : null;
}

export function rcaFractions(counts: RcaCounts): RcaFractions {
  return { all: rcaFraction(counts.all), confident: rcaFraction(counts.confident) };
}

/**
 * Mean of per-classifier fractions (Eq. 17: each classifier weighs the same, whatever its
 * number of confident decisions). Classifiers with a null fraction are left out; null if all are.
 */
export function meanFraction(fractions: readonly (number | null)[]): number | null {
  const present = fractions.filter((f): f is number => f !== null);
  return present.length > 0 ? present.reduce((s, f) => s + f, 0) / present.length : null;
}

/** Per-classifier fractions and their mean, from counts accumulated per classifier. */
export function summariseRca(countsByClassifier: Record<string, RcaCounts>): RcaSummary {
  const perClassifier: Record<string, RcaFractions> = {};
  for (const [name, counts] of Object.entries(countsByClassifier)) perClassifier[name] = rcaFractions(counts);
  const list = Object.values(perClassifier);
  return {
    perClassifier,
    mean: { all: meanFraction(list.map((f) => f.all)), confident: meanFraction(list.map((f) => f.confident)) },
  };
}
