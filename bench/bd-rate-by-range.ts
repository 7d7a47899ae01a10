/**
 * Where along the curves does a method win or lose? For each given `dmvjnd bench` result
 * (bench.json, detector machines), each clip's BD-rate against the anchor at equal F1 of
 * the headline machine, over the whole overlapping range (the bench's own figure) and
 * split at one F1 value: below it (operating points nobody would choose) and above it.
 * Means over the clip windows with objects, each window counted once (the first run given).
 *
 *   npx tsx bench/bd-rate-by-range.ts <bench.json>... --method det-roi@0,+20 [--split 0.8] [--name bd-rate-by-range]
 * Writes bench/results/<name>.{json,md}.
 */
import { readFileSync } from 'node:fs';
import { rateQuality, type DetectorBenchResult } from '../src/bench/detector-bench.ts';
import { mean as meanOf } from '../src/bench/run-bench.ts';
import { bdRate } from '../src/metrics/bd-rate.ts';
import { flag, writeResult } from './common.ts';

const args = process.argv.slice(2);
const name = flag(args, 'name', 'bd-rate-by-range');
const method = flag(args, 'method', '');
const split = Number(flag(args, 'split', '0.8'));
const files = args.filter((a, i) => !a.startsWith('--') && !['--name', '--method', '--split'].includes(args[i - 1]));
if (files.length === 0 || method === '' || !(split > 0 && split < 1)) {
  console.error('usage: bd-rate-by-range.ts <bench.json>... --method <name> [--split <F1 in (0, 1)>] [--name out]');
  process.exit(2);
}
const pct = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);

interface Row { run: string; window: string; clip: string; range: [number, number] | null; whole: number | null; below: number | null; above: number | null }
const rows: Row[] = [];
const seen = new Set<string>();
for (const file of files) {
  const r = JSON.parse(readFileSync(file, 'utf8')) as DetectorBenchResult;
  if (r.schema !== 'dmvjnd-detector-bench/1') throw new Error(`Expected a detector bench result (dmvjnd-detector-bench/1) in ${file} but received ${r.schema}`);
  if (!r.settings.methods.some((m) => m.name === method)) throw new Error(`Expected method ${method} in ${file} but it has ${r.settings.methods.map((m) => m.name).join(', ')}`);
  const headline = r.settings.scored_by[0];
  const curveOf = (clip: string, m: string) => rateQuality(r.points.filter((p) => p.clip === clip && p.method === m && !p.reference), headline, 'f1');
  for (const clip of r.clips.filter((c) => c.has_objects).map((c) => c.name)) {
    const key = `${r.settings.start}|${clip}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const anchor = curveOf(clip, r.settings.anchor);
    const test = curveOf(clip, method);
    const whole = bdRate(anchor, test);
    const below = bdRate(anchor, test, { within: [-Infinity, split] });
    const above = bdRate(anchor, test, { within: [split, Infinity] });
    rows.push({
      run: file.replace(/^.*results\//, '').replace(/\/bench\.json$/, ''), window: r.settings.start, clip,
      range: whole.bdRatePercent === null ? null : whole.overlap, whole: whole.bdRatePercent, below: below.bdRatePercent, above: above.bdRatePercent,
    });
  }
}
const meanOfKey = (k: 'whole' | 'below' | 'above') => {
  const v = rows.map((r) => r[k]).filter((x): x is number => x !== null);
  return { mean: meanOf(v), clip_windows: v.length };
};
const summary = { whole: meanOfKey('whole'), below: meanOfKey('below'), above: meanOfKey('above') };
const md = [
  `# ${method}: BD-rate at equal F1 against plain x264, whole range and split at F1 ${split}`,
  '',
  `Per clip window with objects, the overlapping F1 range of the two curves, and the BD-rate over all of it, over its part below F1 ${split} and over its part above (n/a: that part is empty). \`npx tsx bench/bd-rate-by-range.ts ${args.join(' ')}\`.`,
  '',
  `Means: whole range ${pct(summary.whole.mean)} (${summary.whole.clip_windows} clip windows), below ${split} ${pct(summary.below.mean)} (${summary.below.clip_windows}), above ${pct(summary.above.mean)} (${summary.above.clip_windows}).`,
  '',
  '| run | window | clip | F1 range | whole | below | above |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.run} | ${r.window} | ${r.clip} | ${r.range ? `${r.range[0].toFixed(2)}-${r.range[1].toFixed(2)}` : 'n/a'} | ${pct(r.whole)} | ${pct(r.below)} | ${pct(r.above)} |`),
  '',
];
writeResult(name, { method, split, summary, rows }, md.join('\n'));
process.stdout.write(`${md.join('\n')}\n`);
