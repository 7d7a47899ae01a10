/**
 * BD-rate between methods of two different `dmvjnd bench` runs (e.g. a run with other x264
 * settings against the committed default run), per clip and averaged, with the same
 * Bjontegaard maths as the bench itself. Only points that are not the near-lossless
 * reference are used.
 *
 *   npx tsx bench/compare-runs.ts <anchor bench.json> <anchor method> <test bench.json> <test method>... [--name out]
 * Writes bench/results/<name>.{json,md} (default compare-runs).
 */
import { readFileSync } from 'node:fs';
import { bdRate } from '../src/metrics/bd-rate.ts';
import { RCA_KINDS, rcaOf, type BenchPoint, type RcaKind } from '../src/bench/run-bench.ts';
import { flag, writeResult } from './common.ts';

const args = process.argv.slice(2);
const name = flag(args, 'name', 'compare-runs');
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--name');
if (positional.length < 4) {
  console.error('usage: compare-runs.ts <anchor bench.json> <anchor method> <test bench.json> <test method>... [--name out]');
  process.exit(2);
}
const [anchorFile, anchorMethod, testFile, ...testMethods] = positional;
const load = (f: string) => (JSON.parse(readFileSync(f, 'utf8')) as { points: Array<BenchPoint & { reference?: boolean }> }).points.filter((p) => !p.reference);
const anchor = load(anchorFile);
const test = load(testFile);
const clips = [...new Set(anchor.map((p) => p.clip))].filter((c) => test.some((p) => p.clip === c));
const curve = (pts: BenchPoint[], clip: string, method: string, kind: RcaKind) =>
  pts
    .filter((p) => p.clip === clip && p.method === method)
    .flatMap((p) => {
      const q = rcaOf(p, kind);
      return q === null ? [] : [{ rate: p.bitrate_kbps, quality: q }];
    });
const rows = testMethods.flatMap((method) =>
  clips.map((clip) => ({
    clip,
    method,
    bd_rate: Object.fromEntries(RCA_KINDS.map((k) => [k, bdRate(curve(anchor, clip, anchorMethod, k), curve(test, clip, method, k)).bdRatePercent])) as Record<RcaKind, number | null>,
  })),
);
const mean = (method: string, k: RcaKind) => {
  const v = rows.filter((r) => r.method === method && r.bd_rate[k] !== null).map((r) => r.bd_rate[k]!);
  return v.length ? { mean: v.reduce((a, b) => a + b, 0) / v.length, clips: v.length } : { mean: null, clips: 0 };
};
const fmt = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);
const md = [
  `# BD-rate of ${testMethods.join(', ')} (${testFile}) against ${anchorMethod} (${anchorFile})`,
  '',
  'Negative = fewer bits for the same RCA. Mean over the clips that have a BD-rate.',
  '',
  '| method | regional conf. | global conf. | regional all |',
  '|---|---|---|---|',
  ...testMethods.map((m) => `| ${m} | ${RCA_KINDS.map((k) => { const r = mean(m, k); return `${fmt(r.mean)} (${r.clips} clips)`; }).join(' | ')} |`),
  '',
  '| clip | method | regional conf. | global conf. | regional all |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.clip} | ${r.method} | ${RCA_KINDS.map((k) => fmt(r.bd_rate[k])).join(' | ')} |`),
  '',
].join('\n');
writeResult(name, { anchor: { file: anchorFile, method: anchorMethod }, test: { file: testFile, methods: testMethods }, rows }, md);
console.log(md);
