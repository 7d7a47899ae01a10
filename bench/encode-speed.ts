/**
 * Issue-4 speed and memory benchmark (ratios in one run; never a test):
 *   - whole `dmvjnd encode` wall time (JND offsets) versus plain x264 through the same
 *     path (same clip, preset and CRF), for several --analysis-stride values;
 *   - analysis throughput (analysed frames per second of analysis time);
 *   - peak RSS of the JND encode of a 720p clip versus its first half (should not grow
 *     with clip length: frames stream).
 * Each encode runs in its own process so RSS is its own.
 *
 * --threads worker,main also runs every stride with the analysis in line on the main
 * thread (the behaviour before the analysis worker), for the before/after ratio.
 *
 * --precisions float32,int8 also runs the int8 analysis models (models/int8/).
 * --repeats N runs every configuration N times, interleaved with plain runs; wall times
 * are medians (this machine is shared: single runs moved by +-10%).
 *
 *   npx tsx bench/encode-speed.ts [clip] [--preset medium] [--strides 1,2,4,8,12] [--threads worker] [--precisions float32] [--repeats 1] [--name encode-speed]
 * Writes bench/results/<name>.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, VIDEOS_DIR, flag, writeResult } from './common.ts';

const args = process.argv.slice(2);
const clip = args.find((a) => !a.startsWith('--') && existsSync(a)) ?? join(VIDEOS_DIR, 'traffic_toronto_highway_720p.mp4');
const preset = flag(args, 'preset', 'medium');
const strides = flag(args, 'strides', '1,2,4,8,12').split(',').map(Number);
const threads = flag(args, 'threads', 'worker').split(',');
const precisions = flag(args, 'precisions', 'float32').split(',');
const repeats = Number(flag(args, 'repeats', '1'));
const outName = flag(args, 'name', 'encode-speed');
const out = join(tmpdir(), `dmvjnd-speed-${process.pid}.mp4`);

function run(extra: string[]): { wall: number; report: Record<string, any> } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'dmvjnd.js'), 'encode', clip, '-o', out, '--machine', 'cifar', '--preset', preset, '--json', ...extra], { encoding: 'utf8' });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`encode failed: ${r.stderr}`);
  return { wall, report: JSON.parse(r.stdout) };
}

// Plain x264 runs before, between (with --repeats) and after the JND encodes; ratios use
// the median of them, so a load change on this shared machine shows up as a spread.
const configs = threads.flatMap((thread) => precisions.flatMap((precision) => strides.map((s) => ({ s, thread, precision }))));
const plainRuns: Array<ReturnType<typeof run>> = [];
const jndRuns = configs.map((c) => ({ ...c, runs: [] as Array<ReturnType<typeof run>> }));
for (let r = 0; r < repeats; r++) {
  plainRuns.push(run(['--offsets', 'none']));
  for (const c of jndRuns) c.runs.push(run(['--analysis-stride', String(c.s), '--analysis-thread', c.thread, '--analysis-precision', c.precision]));
}
plainRuns.push(run(['--offsets', 'none']));
const medianOf = (v: number[]) => { const x = [...v].sort((a, b) => a - b); const m = Math.floor(x.length / 2); return x.length % 2 ? x[m] : (x[m - 1] + x[m]) / 2; };
const plain = { wall: medianOf(plainRuns.map((p) => p.wall)), report: plainRuns[0].report };
const rows = jndRuns.map(({ s, thread, precision, runs }) => {
  const wall = medianOf(runs.map((r) => r.wall));
  const j = runs[0];
  return {
    analysis_thread: thread,
    precision,
    stride: s,
    wall_s: wall / 1000,
    wall_s_runs: runs.map((r) => r.wall / 1000),
    ratio_vs_plain: wall / plain.wall,
    analysed_frames: j.report.analysed_frames,
    // Analysis compute time (the worker's busy time, or in line the time spent in it).
    analysis_fps: j.report.analysed_frames / (j.report.timings_ms.analysis / 1000),
    encoder_wait_s: (j.report.timings_ms.analysis_wait ?? j.report.timings_ms.analysis) / 1000,
    bytes: j.report.bytes,
    peak_rss_mib: j.report.peak_rss_mib,
  };
});
const half = run(['--analysis-stride', String(strides[0]), '--analysis-thread', threads[0], '--analysis-precision', precisions[0], '--frames', String(Math.floor(plain.report.frames / 2))]);
rmSync(out, { force: true });
const result = {
  clip,
  preset,
  frames: plain.report.frames,
  plain_wall_s: plain.wall / 1000,
  plain_wall_s_runs: plainRuns.map((p) => p.wall / 1000),
  repeats,
  plain_peak_rss_mib: plain.report.peak_rss_mib,
  rows,
  rss_full_mib: rows[0].peak_rss_mib,
  rss_first_half_mib: half.report.peak_rss_mib,
  target_ratio: 1.3,
};
const md = [
  `# Encode speed and memory: JND-guided vs plain x264 (${preset})`,
  '',
  `Clip ${clip.replace(/^.*\//, '')}, ${result.frames} frames, whole-process wall time (model loading included), this machine (2 cores, shared).`,
  '',
  `Plain x264 through the same path: ${result.plain_wall_s.toFixed(2)} s (median of ${plainRuns.length} runs interleaved with the JND encodes: ${result.plain_wall_s_runs.map((v) => v.toFixed(2)).join(', ')} s). JND walls are medians of ${repeats} run(s) each.`,
  '',
  '| analysis thread | analysis models | analysis stride | wall (s) | x plain | analysed frames | analysis fps | encoder waited for analysis (s) | bytes | peak RSS (MiB) |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.analysis_thread} | ${r.precision} | ${r.stride} | ${r.wall_s.toFixed(2)} | ${r.ratio_vs_plain.toFixed(2)} | ${r.analysed_frames} | ${r.analysis_fps.toFixed(1)} | ${r.encoder_wait_s.toFixed(2)} | ${r.bytes} | ${r.peak_rss_mib.toFixed(0)} |`,
  ),
  '',
  `Peak RSS, ${rows[0].analysis_thread} thread, ${rows[0].precision}, stride ${rows[0].stride}: whole clip ${result.rss_full_mib.toFixed(0)} MiB, first half ${result.rss_first_half_mib.toFixed(0)} MiB (plain x264: ${result.plain_peak_rss_mib.toFixed(0)} MiB).`,
  `Target: wall <= ${result.target_ratio} x plain.`,
  '',
].join('\n');
writeResult(outName, result, md);
console.log(md);
