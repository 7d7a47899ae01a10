/**
 * How closely the int8 analysis models (models/int8/, `npm run quantize`) reproduce the
 * float32 ones, and how much faster they are, on dev-clip frames (never used to calibrate:
 * the calibration set is natural stills).
 *
 * Per clip, every `--every`-th frame up to `--per-clip` frames, at the default view:
 *   - merged CAM and per-pixel JND: Pearson r, mean of each, mean signed difference;
 *   - the QP offsets both give at the default gain and CRF 23 (the encode's rule):
 *     mean signed and mean absolute difference, 95th percentile of |difference|;
 *   - analysis time per frame (same thread, same run: a ratio, not an absolute figure).
 *
 *   npx tsx bench/int8-fidelity.ts [--per-clip 4] [--every 30] [--name int8-fidelity]
 * Writes bench/results/<name>.{json,md}.
 */
import { FrameAnalyser, type FrameJnd } from '../src/analysis/analyser.ts';
import { loadModels, type ModelSet } from '../src/inference/models.ts';
import { qpOffsetsFromJnd } from '../src/jnd/qp-mapping.ts';
import { macroblockGrid } from '../src/media/mb-grid.ts';
import { decodeVideo, openInput } from '../src/media/source.ts';
import { pearson } from '../src/metrics/spearman.ts';
import { DEFAULT_JND } from '../src/pipeline.ts';
import { devClips, flag, writeResult } from './common.ts';

const args = process.argv.slice(2);
const perClip = Number(flag(args, 'per-clip', '4'));
const every = Number(flag(args, 'every', '30'));
const outName = flag(args, 'name', 'int8-fidelity');
const CRF = 23;

const mean = (v: ArrayLike<number>) => { let s = 0; for (let i = 0; i < v.length; i++) s += v[i]; return s / v.length; };

const threads = 1;
const float: ModelSet = await loadModels({ provider: 'cpu', threads, generator: true, heldout: false });
const int8: ModelSet = await loadModels({ provider: 'cpu', threads, generator: true, heldout: false, precision: 'int8' });
const fa = new FrameAnalyser(float, DEFAULT_JND.view);
const ia = new FrameAnalyser(int8, DEFAULT_JND.view);
const offsetsOf = (r: FrameJnd, w: number, h: number) =>
  qpOffsetsFromJnd(r.jnd, r.view, macroblockGrid(w, h), { baseQp: CRF, gain: DEFAULT_JND.jndGain, pooling: DEFAULT_JND.pooling, minOffset: DEFAULT_JND.minOffset, maxOffset: DEFAULT_JND.maxOffset });

const rows = [];
let msFloat = 0, msInt8 = 0;
for (const clip of devClips()) {
  const input = await openInput(clip);
  const frames: Array<Record<string, number>> = [];
  try {
    for await (const { frame, index } of decodeVideo(input)) {
      try {
        if (index % every !== 0) continue;
        const rgb = await fa.viewRgb(frame);
        // Alternate the order so neither precision always runs on a warmer cache.
        const run = async (a: FrameAnalyser) => { const t = performance.now(); const r = await a.jnd(frame, rgb); return { r, ms: performance.now() - t }; };
        const [f, q] = frames.length % 2 === 0 ? [await run(fa), await run(ia)] : (([b, a]) => [a, b])([await run(ia), await run(fa)]);
        msFloat += f.ms; msInt8 += q.ms;
        const of = offsetsOf(f.r, frame.width, frame.height);
        const oq = offsetsOf(q.r, frame.width, frame.height);
        const d = of.map((v, i) => oq[i] - v);
        const absd = Array.from(d, Math.abs).sort((x, y) => x - y);
        frames.push({
          index,
          cam_r: pearson(f.r.mergedCam, q.r.mergedCam) ?? Number.NaN,
          jnd_r: pearson(f.r.jnd, q.r.jnd) ?? Number.NaN,
          jnd_float: mean(f.r.jnd),
          jnd_int8: mean(q.r.jnd),
          offset_float: mean(of),
          offset_int8: mean(oq),
          offset_diff: mean(d),
          offset_absdiff: mean(absd),
          offset_absdiff_p95: absd[Math.floor(0.95 * (absd.length - 1))],
        });
        if (frames.length >= perClip) break;
      } finally {
        frame.free();
      }
    }
  } finally {
    await input.close();
  }
  const avg = (k: string) => mean(frames.map((f) => f[k]));
  const row = {
    clip: clip.replace(/^.*\//, ''),
    frames: frames.map((f) => f.index),
    cam_r: avg('cam_r'), jnd_r: avg('jnd_r'), jnd_float: avg('jnd_float'), jnd_int8: avg('jnd_int8'),
    offset_float: avg('offset_float'), offset_int8: avg('offset_int8'),
    offset_diff: avg('offset_diff'), offset_absdiff: avg('offset_absdiff'), offset_absdiff_p95: Math.max(...frames.map((f) => f.offset_absdiff_p95)),
  };
  rows.push(row);
  console.log(`${row.clip}: JND r ${row.jnd_r.toFixed(3)}, mean JND ${row.jnd_float.toFixed(1)} -> ${row.jnd_int8.toFixed(1)}, offset diff ${row.offset_diff.toFixed(2)} (|d| ${row.offset_absdiff.toFixed(2)}, p95 max ${row.offset_absdiff_p95.toFixed(2)})`);
}
fa.close(); ia.close();
await float.release(); await int8.release();

const f2 = (x: number) => x.toFixed(2);
const md = [
  '# int8 analysis models vs float32',
  '',
  `Dev-clip frames (every ${every}th, up to ${perClip} per clip; the int8 calibration used natural stills only), view ${DEFAULT_JND.view} px, offsets at gain ${DEFAULT_JND.jndGain}, CRF ${CRF}, clamp [${DEFAULT_JND.minOffset}, ${DEFAULT_JND.maxOffset}]. One thread, same run.`,
  '',
  `Analysis time per frame: float32 ${(msFloat / rows.reduce((s, r) => s + r.frames.length, 0)).toFixed(1)} ms, int8 ${(msInt8 / rows.reduce((s, r) => s + r.frames.length, 0)).toFixed(1)} ms (int8 takes ${f2(msInt8 / msFloat)}x the time).`,
  '',
  '| clip | CAM r | JND r | mean JND float / int8 (0-255) | mean offset float / int8 (QP) | offset diff int8 - float (QP) | mean abs diff (QP) | p95 abs diff, worst frame (QP) |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.clip} | ${r.cam_r.toFixed(3)} | ${r.jnd_r.toFixed(3)} | ${r.jnd_float.toFixed(1)} / ${r.jnd_int8.toFixed(1)} | ${f2(r.offset_float)} / ${f2(r.offset_int8)} | ${f2(r.offset_diff)} | ${f2(r.offset_absdiff)} | ${f2(r.offset_absdiff_p95)} |`),
  '',
  `Mean over clips: JND r ${(mean(rows.map((r) => r.jnd_r))).toFixed(3)}, offset diff ${f2(mean(rows.map((r) => r.offset_diff)))} QP, mean abs diff ${f2(mean(rows.map((r) => r.offset_absdiff)))} QP.`,
  '',
];
writeResult(outName, { settings: { perClip, every, view: DEFAULT_JND.view, gain: DEFAULT_JND.jndGain, crf: CRF }, ms_per_frame: { float32: msFloat, int8: msInt8 }, rows }, md.join('\n'));
