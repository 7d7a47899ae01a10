/**
 * Whole-process wall time of `dmvjnd encode` at its defaults (machine centernet, det-roi
 * offsets on the detector worker) against what a user would run instead: `ffmpeg -c:v
 * libx264` with the same CRF and preset (audio handled as dmvjnd handles it). Ratios in
 * one run; runs interleaved, medians of --repeats (this machine is shared). Never a test.
 *
 *   npx tsx bench/encode-vs-ffmpeg.ts [--repeats 3] [--crf 23] [--preset medium] [--cli dist|source] [--name encode-vs-ffmpeg] [-- extra dmvjnd encode flags]
 * It builds dist/ first: bin/dmvjnd.js falls back to transpiling the TypeScript sources
 * through tsx when dist/ is older than an edited source, which a user after `npm ci` never
 * pays (--cli source measures that path on purpose).
 * Clips: a 120-frame window of sports_marathon_540p (short) and indoor_person_walking_432p
 * whole (1394 frames, long). Writes bench/results/<name>.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, VIDEOS_DIR, flag, median, writeResult } from './common.ts';

const args = process.argv.slice(2);
const sep = args.indexOf('--');
const extra = sep >= 0 ? args.slice(sep + 1) : [];
const own = sep >= 0 ? args.slice(0, sep) : args;
const repeats = Number(flag(own, 'repeats', '3'));
const crf = flag(own, 'crf', '23');
const preset = flag(own, 'preset', 'medium');
const name = flag(own, 'name', 'encode-vs-ffmpeg');
const cli = flag(own, 'cli', 'dist');
if (cli !== 'dist' && cli !== 'source') throw new Error(`Expected dist or source for --cli but received ${cli}`);
const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}`);
const cliEnv = { ...process.env, DMVJND_FROM_SOURCE: cli === 'source' ? '1' : '0' };
const clips = [
  { label: 'sports_marathon_540p.mkv, first 120 frames', path: join(VIDEOS_DIR, 'sports_marathon_540p.mkv'), frames: 120 },
  { label: 'indoor_person_walking_432p.mp4, whole (1394 frames)', path: join(VIDEOS_DIR, 'indoor_person_walking_432p.mp4'), frames: undefined as number | undefined },
];
const out = join(tmpdir(), `dmvjnd-vs-ffmpeg-${process.pid}.mp4`);

function timed(cmd: string, argv: string[]): { wall: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, env: cliEnv });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
  rmSync(out, { force: true });
  return { wall, stdout: r.stdout };
}

const rows = [];
for (const c of clips) {
  const dm = [join(REPO, 'bin', 'dmvjnd.js'), 'encode', c.path, '-o', out, '--crf', crf, '--preset', preset, '--json', ...(c.frames ? ['--frames', String(c.frames)] : []), ...extra];
  const ffmpeg: number[] = [];
  const dmvjnd: number[] = [];
  let report: Record<string, any> = {};
  // ffmpeg treats the audio as dmvjnd did (copied, re-encoded to AAC, or none): one dmvjnd run first says which.
  report = JSON.parse(timed(process.execPath, dm).stdout);
  const audio = report.audio === 'copied' ? ['-c:a', 'copy'] : report.audio === 'none' ? ['-an'] : ['-c:a', 'aac'];
  const ff = ['-v', 'error', '-y', '-i', c.path, ...(c.frames ? ['-frames:v', String(c.frames)] : []), '-c:v', 'libx264', '-crf', crf, '-preset', preset, ...audio, out];
  for (let i = 0; i < repeats; i++) {
    ffmpeg.push(timed('ffmpeg', ff).wall);
    const r = timed(process.execPath, dm);
    dmvjnd.push(r.wall);
    report = JSON.parse(r.stdout);
  }
  const row = {
    clip: c.label,
    frames: report.frames,
    ffmpeg_s: median(ffmpeg),
    dmvjnd_s: median(dmvjnd),
    ratio: median(dmvjnd)! / median(ffmpeg)!,
    ffmpeg_runs: ffmpeg,
    dmvjnd_runs: dmvjnd,
    offsets: report.settings?.offsets,
    machine: report.settings?.machine,
    analysed_frames: report.analysed_frames,
    timings_ms: report.timings_ms,
  };
  rows.push(row);
  process.stderr.write(`${c.label}: ffmpeg ${row.ffmpeg_s!.toFixed(2)} s, dmvjnd ${row.dmvjnd_s!.toFixed(2)} s, ratio ${row.ratio.toFixed(2)}\n`);
}
const md = [
  `# Whole-process encode time: dmvjnd encode (defaults${extra.length ? ` + ${extra.join(' ')}` : ''}) vs ffmpeg -c:v libx264`,
  '',
  `CRF ${crf}, preset ${preset}, the CLI run from ${cli === 'dist' ? 'the compiled JavaScript in dist/ (as after `npm ci`)' : 'the TypeScript sources through tsx (DMVJND_FROM_SOURCE=1)'}, audio treated as dmvjnd treats it (copied, or re-encoded to AAC where MP4 cannot carry it); medians of ${repeats} interleaved runs on this machine (\`npx tsx bench/encode-vs-ffmpeg.ts${own.length ? ` ${own.join(' ')}` : ''}${extra.length ? ` -- ${extra.join(' ')}` : ''}\`).`,
  '',
  '| clip | frames | ffmpeg (s) | dmvjnd (s) | ratio | dmvjnd offsets | analysed frames | analysis busy (s) | encoder waited (s) |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.clip} | ${r.frames} | ${r.ffmpeg_s!.toFixed(2)} | ${r.dmvjnd_s!.toFixed(2)} | ${r.ratio.toFixed(2)}x | ${r.offsets} (${r.machine}) | ${r.analysed_frames} | ${(r.timings_ms.analysis / 1000).toFixed(2)} | ${(r.timings_ms.analysis_wait / 1000).toFixed(2)} |`),
  '',
];
writeResult(name, { crf, preset, repeats, cli, extra, rows }, `${md.join('\n')}\n`);
process.stdout.write(`${md.join('\n')}\n`);
