/**
 * Spearman rank correlation: the Pearson correlation of the ranks, with tied values given
 * the average of the ranks they span (the standard tie correction, as scipy.stats.spearmanr).
 * Used to check that the read-back per-MB QP follows the per-MB JND.
 */

/** 1-based ranks; tied values share the mean of the ranks they occupy. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`Expected finite values to rank but received ${values[i]} at ${i}`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/** Pearson correlation; null when fewer than 2 pairs or either side is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`Expected two series of the same length but received ${n} and ${y.length}`);
  if (n < 2) return null;
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    meanX += x[i];
    meanY += y[i];
  }
  meanX /= n;
  meanY /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - meanX;
    const dy = y[i] - meanY;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Spearman's rho in [-1, 1]; null when undefined (fewer than 2 pairs, or a constant series). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  if (y.length !== x.length) {
    throw new RangeError(`Expected two series of the same length but received ${x.length} and ${y.length}`);
  }
  return pearson(averageRanks(x), averageRanks(y));
}
