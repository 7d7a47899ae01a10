/**
 * Why Spearman(JND, read-back QP) is low on some clips: per clip, the median over the
 * first 8 intra frames (keyint 1, analysis every frame) of Spearman(pooled JND, QP) at a
 * base CRF (default 23 and 12), over all macroblocks and over those whose read-back QP
 * differs from the previous macroblock's in raster order (a macroblock without coded
 * residual carries no QP in H.264: the decoder reports the predicted one, i.e. a repeat).
 *
 *   npx tsx bench/spearman-readback.ts [--crfs 23,12] [--jnd-aq-strength 0.3] [--clips a,b] [--name spearman-readback]
 * Writes bench/results/<name>.{json,md}.
 */
import { rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { FrameAnalyser } from '../src/analysis/analyser.ts';
import { loadModels } from '../src/inference/models.ts';
import { poolJndPerMacroblock } from '../src/jnd/qp-mapping.ts';
import { encodeVideo } from '../src/media/encode.ts';
import { readQpMaps } from '../src/media/qp-readback.ts';
import { DEFAULT_X264 } from '../src/media/x264-settings.ts';
import { spearman } from '../src/metrics/spearman.ts';
import { DEFAULT_JND, jndOffsetProvider, jndX264Settings } from '../src/pipeline.ts';
import { devClips, flag, median, writeResult } from './common.ts';

const args = process.argv.slice(2);
const crfs = flag(args, 'crfs', '23,12').split(',').map(Number);
const only = flag(args, 'clips', '');
const outName = flag(args, 'name', 'spearman-readback');
const aqStrength = Number(flag(args, 'jnd-aq-strength', String(DEFAULT_JND.aqStrength)));
const clips = devClips().filter((c) => !only || only.split(',').some((o) => basename(c).startsWith(o)));
const models = await loadModels({ provider: 'cpu', generator: true, heldout: false });
const file = join(tmpdir(), `dmvjnd-spearman-${process.pid}.mp4`);
const rows: Array<Record<string, unknown>> = [];
for (const clip of clips) {
  const row: Record<string, unknown> = { clip: basename(clip) };
  for (const crf of crfs) {
    const analyser = new FrameAnalyser(models, DEFAULT_JND.view);
    const pooled = new Map<number, Float32Array>();
    // The encode's own settings under JND offsets (x264's AQ at --jnd-aq-strength).
    const x264 = jndX264Settings({ ...DEFAULT_X264, keyint: 1, rateControl: { mode: 'crf' as const, crf } }, aqStrength);
    try {
      await encodeVideo({
        input: clip, output: file, x264, maxFrames: 8,
        offsets: jndOffsetProvider(analyser, x264, { ...DEFAULT_JND, analysisStride: 1 }, {
          onMap: ({ index, grid, jnd }) => pooled.set(index, poolJndPerMacroblock(jnd.jnd, jnd.view, grid, DEFAULT_JND.pooling)),
        }),
      });
    } finally {
      analyser.close();
    }
    const all: number[] = [];
    const own: number[] = [];
    const ownShare: number[] = [];
    for await (const m of readQpMaps(file)) {
      const j = Array.from(pooled.get(m.index)!);
      const q = Array.from(m.qp);
      const keep = q.map((v, i) => i === 0 || v !== q[i - 1]);
      const rAll = spearman(j, q);
      const rOwn = spearman(j.filter((_, i) => keep[i]), q.filter((_, i) => keep[i]));
      if (rAll !== null) all.push(rAll);
      if (rOwn !== null) own.push(rOwn);
      ownShare.push(keep.filter(Boolean).length / keep.length);
    }
    rmSync(file, { force: true });
    row[`crf${crf}`] = { rho: median(all), rho_own_qp: median(own), own_qp_share: median(ownShare) };
  }
  rows.push(row);
  console.log(JSON.stringify(row));
}
await models.release();
const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
const md = [
  '# Spearman(JND, read-back QP) on intra frames: all macroblocks vs those carrying their own QP',
  '',
  `First 8 frames of each dev clip as intra frames (keyint 1), analysed every frame, default JND settings, x264 aq-strength ${aqStrength}; medians over frames. "own QP": macroblocks whose read-back QP differs from the previous one in raster order (a repeat usually means no coded residual, for which the decoder reports the predicted QP).`,
  '',
  `| clip | ${crfs.map((c) => `CRF ${c}: rho all / own-QP MBs (share)`).join(' | ')} |`,
  `|---|${crfs.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.clip} | ${crfs.map((c) => { const v = r[`crf${c}`] as { rho: number | null; rho_own_qp: number | null; own_qp_share: number | null }; return `${f(v.rho)} / ${f(v.rho_own_qp)} (${v.own_qp_share === null ? 'n/a' : `${(100 * v.own_qp_share).toFixed(0)}%`})`; }).join(' | ')} |`),
  '',
];
writeResult(outName, { settings: { crfs, aqStrength, frames: 8, view: DEFAULT_JND.view, gain: DEFAULT_JND.jndGain }, rows }, md.join('\n'));
