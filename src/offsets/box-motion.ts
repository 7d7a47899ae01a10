/**
 * Boxes between two analysed frames. The detector runs every `stride` frames; a frame in
 * between gets either the union of both analyses' boxes (safe: an object that moves stays
 * covered, but a moving object's fine area is two boxes wide) or, here, each object's box
 * moved linearly from its place at the earlier analysis to its place at the later one (one
 * box wide). Objects found at only one of the two analyses keep their box (union for them).
 */
import type { Box, Detection } from '../machines/types.ts';

/** A pair is the same object when same class, centres within this many mean box sides, sizes within this area ratio. */
export const MATCH_MAX_CENTRE_DISTANCE = 1;
export const MATCH_MAX_AREA_RATIO = 4;

function centre(b: Box): [number, number] {
  return [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2];
}

function area(b: Box): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

/**
 * Greedy one-to-one matching of `before` to `after` detections (same class, closest centres
 * relative to the pair's mean side first). Returns [beforeIndex, afterIndex] pairs.
 */
export function matchAcrossAnalyses(before: readonly Detection[], after: readonly Detection[]): Array<[number, number]> {
  const candidates: Array<{ i: number; j: number; cost: number }> = [];
  before.forEach((b, i) => {
    after.forEach((a, j) => {
      if (a.cls !== b.cls) return;
      const ab = area(b.box);
      const aa = area(a.box);
      if (ab <= 0 || aa <= 0 || Math.max(ab, aa) / Math.min(ab, aa) > MATCH_MAX_AREA_RATIO) return;
      const [bx, by] = centre(b.box);
      const [ax, ay] = centre(a.box);
      const side = (Math.sqrt(ab) + Math.sqrt(aa)) / 2;
      const cost = Math.hypot(ax - bx, ay - by) / side;
      if (cost <= MATCH_MAX_CENTRE_DISTANCE) candidates.push({ i, j, cost });
    });
  });
  candidates.sort((p, q) => p.cost - q.cost || p.i - q.i || p.j - q.j);
  const usedB = new Set<number>();
  const usedA = new Set<number>();
  const pairs: Array<[number, number]> = [];
  for (const c of candidates) {
    if (usedB.has(c.i) || usedA.has(c.j)) continue;
    usedB.add(c.i);
    usedA.add(c.j);
    pairs.push([c.i, c.j]);
  }
  return pairs;
}

/**
 * The detections of a frame at fraction `t` (0 = the earlier analysis, 1 = the later one) of
 * the way between two analyses: matched objects interpolated, the others kept. Only
 * detections scoring >= minScore take part (the rest place no offsets anyway).
 */
export function interpolateDetections(before: readonly Detection[], after: readonly Detection[], t: number, minScore: number): Detection[] {
  const b = before.filter((d) => d.score >= minScore);
  const a = after.filter((d) => d.score >= minScore);
  const pairs = matchAcrossAnalyses(b, a);
  const matchedB = new Set(pairs.map(([i]) => i));
  const matchedA = new Set(pairs.map(([, j]) => j));
  const lerp = (p: number, q: number) => p + (q - p) * t;
  const out: Detection[] = pairs.map(([i, j]) => ({
    cls: b[i].cls,
    score: Math.max(b[i].score, a[j].score),
    box: { x1: lerp(b[i].box.x1, a[j].box.x1), y1: lerp(b[i].box.y1, a[j].box.y1), x2: lerp(b[i].box.x2, a[j].box.x2), y2: lerp(b[i].box.y2, a[j].box.y2) },
  }));
  b.forEach((d, i) => matchedB.has(i) || out.push(d));
  a.forEach((d, j) => matchedA.has(j) || out.push(d));
  return out;
}
