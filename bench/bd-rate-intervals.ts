/**
 * How much do the detector bench's means say? For each given `dmvjnd bench` result
 * (bench.json, detector machines), each method's mean BD-rate over the clips with objects
 * with a 95% percentile-bootstrap interval (clips resampled, bench/../src/metrics/bootstrap.ts),
 * and, per method, the same pooled over every given run that has it (each clip window one
 * sample, counted once when several runs measured it; windows of the short clips overlap,
 * so the pooled interval is optimistic).
 *
 * With `--paired A;B`, also the per clip window difference B - A (BD-rate points) pooled
 * over the windows both measured at the same detector stride, with its interval: the test
 * of whether B beats A, which the two separate intervals do not give.
 *
 *   npx tsx bench/bd-rate-intervals.ts <bench.json>... [--methods det-roi@0,+16;x264] [--paired A;B] [--kind f1|map50] [--name bd-rate-intervals]
 * Writes bench/results/<name>.{json,md}.
 */
import { readFileSync } from 'node:fs';
import { bootstrapMeanCi } from '../src/metrics/bootstrap.ts';
import type { DetectorBenchResult } from '../src/bench/detector-bench.ts';
import { mean as meanOf } from '../src/bench/run-bench.ts';
import { flag, writeResult } from './common.ts';

const args = process.argv.slice(2);
const name = flag(args, 'name', 'bd-rate-intervals');
const kind = flag(args, 'kind', 'f1') as 'f1' | 'map50';
const only = args.includes('--methods') ? flag(args, 'methods', '').split(';') : undefined;
const paired = args.includes('--paired') ? flag(args, 'paired', '').split(';') : undefined;
if (paired && paired.length !== 2) {
  console.error('--paired expects two methods separated by ";"');
  process.exit(2);
}
const files = args.filter((a, i) => !a.startsWith('--') && !['--name', '--kind', '--methods', '--paired'].includes(args[i - 1]));
if (files.length === 0) {
  console.error('usage: bd-rate-intervals.ts <bench.json>... [--methods a;b] [--kind f1|map50] [--name out]');
  process.exit(2);
}
const SEED = 20211201;
const pct = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);

interface Row { run: string; window: string; stride: number; method: string; clips: number; mean: number | null; ci95: [number, number] | null; values: Record<string, number> }
const rows: Row[] = [];
for (const file of files) {
  const r = JSON.parse(readFileSync(file, 'utf8')) as DetectorBenchResult;
  if (r.schema !== 'dmvjnd-detector-bench/1') throw new Error(`Expected a detector bench result (dmvjnd-detector-bench/1) in ${file} but received ${r.schema}`);
  const headline = r.settings.scored_by[0];
  const withObjects = new Set(r.clips.filter((c) => c.has_objects).map((c) => c.name));
  for (const m of r.settings.methods) {
    if (m.name === r.settings.anchor || (only && !only.includes(m.name) && !paired?.includes(m.name))) continue;
    const values: Record<string, number> = {};
    for (const c of r.per_clip) {
      const v = c.by_machine[headline]?.bd_rate[kind];
      if (c.method === m.name && withObjects.has(c.clip) && v !== null && v !== undefined) values[c.clip] = v;
    }
    const v = Object.values(values);
    rows.push({ run: file.replace(/^.*results\//, '').replace(/\/bench\.json$/, ''), window: r.settings.start, stride: r.settings.jnd.analysisStride, method: m.name, clips: v.length, mean: meanOf(v), ci95: bootstrapMeanCi(v, { seed: SEED }), values });
  }
}
// A clip window measured in several runs counts once: the first run given that has it.
const pooled = [...new Set(rows.map((r) => `${r.method} @stride ${r.stride}`))].map((key) => {
  const byWindow = new Map<string, number>();
  const runs: string[] = [];
  for (const r of rows.filter((x) => `${x.method} @stride ${x.stride}` === key)) {
    let used = false;
    for (const [clip, v] of Object.entries(r.values)) {
      if (byWindow.has(`${r.window}|${clip}`)) continue;
      byWindow.set(`${r.window}|${clip}`, v);
      used = true;
    }
    if (used) runs.push(`${r.run} (${r.window})`);
  }
  const v = [...byWindow.values()];
  return { method: key, runs, clip_windows: v.length, mean: meanOf(v), ci95: bootstrapMeanCi(v, { seed: SEED }) };
});
// B - A per clip window (same stride), each window once: the first run given that has it.
const pairedResult = paired && (() => {
  const firstValues = (method: string) => {
    const out = new Map<string, number>();
    for (const r of rows.filter((x) => x.method === method)) {
      for (const [clip, v] of Object.entries(r.values)) if (!out.has(`${r.stride}|${r.window}|${clip}`)) out.set(`${r.stride}|${r.window}|${clip}`, v);
    }
    return out;
  };
  const [a, b] = paired.map(firstValues);
  const diffs = [...b.entries()].filter(([k]) => a.has(k)).map(([k, v]) => ({ window: k, diff: v - a.get(k)! }));
  const d = diffs.map((x) => x.diff);
  return { a: paired[0], b: paired[1], clip_windows: d.length, mean_difference: meanOf(d), ci95: bootstrapMeanCi(d, { seed: SEED }), b_better: d.filter((x) => x < 0).length, diffs };
})();
const md = [
  `# BD-rate at equal ${kind === 'f1' ? 'F1' : 'mAP@0.5'} against plain x264: means with 95% intervals`,
  '',
  `Percentile bootstrap of the mean over the clips with objects (10000 resamples, seed ${SEED}); \`npx tsx bench/bd-rate-intervals.ts ${args.join(' ')}\`.`,
  '',
  '| run | window | detector stride | method | clips | mean | 95% interval |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.run} | ${r.window} | ${r.stride} | ${r.method} | ${r.clips} | ${pct(r.mean)} | ${r.ci95 ? `${pct(r.ci95[0])} to ${pct(r.ci95[1])}` : 'n/a'} |`),
  '',
  '## Pooled over the runs (each clip window one sample, once; short clips overlap between windows)',
  '',
  '| method | runs | clip windows | mean | 95% interval |',
  '|---|---|---|---|---|',
  ...pooled.map((p) => `| ${p.method} | ${p.runs.join(', ')} | ${p.clip_windows} | ${pct(p.mean)} | ${p.ci95 ? `${pct(p.ci95[0])} to ${pct(p.ci95[1])}` : 'n/a'} |`),
  '',
  ...(pairedResult
    ? [
        `## Paired: ${pairedResult.b} minus ${pairedResult.a} (BD-rate points, per clip window at the same stride)`,
        '',
        `${pairedResult.clip_windows} clip windows; mean difference ${pct(pairedResult.mean_difference)} (95% interval ${pairedResult.ci95 ? `${pct(pairedResult.ci95[0])} to ${pct(pairedResult.ci95[1])}` : 'n/a'}); ${pairedResult.b} lower on ${pairedResult.b_better}.`,
        '',
        '| stride, window, clip | difference |',
        '|---|---|',
        ...pairedResult.diffs.map((x) => `| ${x.window.replaceAll('|', ', ')} | ${pct(x.diff)} |`),
        '',
      ]
    : []),
];
writeResult(name, { kind, seed: SEED, rows, pooled, paired: pairedResult ?? null }, `${md.join('\n')}\n`);
process.stdout.write(`${md.join('\n')}\n`);
