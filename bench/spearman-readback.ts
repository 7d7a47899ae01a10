/**
 * Why Spearman(JND, read-back QP) is low on some clips: per clip, the median over 8 intra
 * frames (keyint 1, analysis every frame) of Spearman(pooled JND, QP) at each base CRF
 * (default 23 and 12), over all macroblocks and over those whose read-back QP differs
 * from the previous macroblock's in raster order (a macroblock without coded residual
 * carries no QP in H.264: the decoder reports the predicted one, i.e. a repeat). Frames:
 * spread over the clip (the middle of 8 equal segments) and/or the first 8.
 *
 *   npx tsx bench/spearman-readback.ts [--crfs 23,12] [--samples spread,first] [--jnd-aq-strength 0.3]
 *     [--precision int8|float32] [--clips a,b] [--name spearman-readback]
 * Writes bench/results/<name>.{json,md}.
 */
import { basename } from 'node:path';
import { loadModels, type AnalysisPrecision } from '../src/inference/models.ts';
import { DEFAULT_X264 } from '../src/media/x264-settings.ts';
import { DEFAULT_JND } from '../src/pipeline.ts';
import { devClips, flag, writeResult } from './common.ts';
import { intraSpearman, type IntraSample, type IntraSpearman } from './intra-spearman.ts';

const args = process.argv.slice(2);
const crfs = flag(args, 'crfs', '23,12').split(',').map(Number);
const samples = flag(args, 'samples', 'spread,first').split(',') as IntraSample[];
const only = flag(args, 'clips', '');
const outName = flag(args, 'name', 'spearman-readback');
const aqStrength = Number(flag(args, 'jnd-aq-strength', String(DEFAULT_JND.aqStrength)));
const precision = flag(args, 'precision', DEFAULT_JND.precision) as AnalysisPrecision;
const clips = devClips().filter((c) => !only || only.split(',').some((o) => basename(c).startsWith(o)));
const models = await loadModels({ provider: 'cpu', generator: true, heldout: false, precision });
const jnd = { ...DEFAULT_JND, aqStrength, precision };
const rows: Array<{ clip: string } & Record<string, IntraSpearman | string>> = [];
for (const clip of clips) {
  const row: { clip: string } & Record<string, IntraSpearman | string> = { clip: basename(clip) };
  for (const sample of samples) {
    for (const crf of crfs) {
      const x264 = { ...DEFAULT_X264, rateControl: { mode: 'crf' as const, crf } };
      row[`${sample}-crf${crf}`] = await intraSpearman(clip, { models, jnd, x264, sample });
    }
  }
  rows.push(row);
  console.error(`${row.clip}: ${Object.entries(row).filter(([k]) => k !== 'clip').map(([k, v]) => `${k} rho ${(v as IntraSpearman).rho?.toFixed(2)}`).join(', ')}`);
}
await models.release();
const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
const cols = samples.flatMap((s) => crfs.map((c) => `${s}-crf${c}`));
const md = [
  '# Spearman(JND, read-back QP) on intra frames: all macroblocks vs those carrying their own QP',
  '',
  `8 intra frames per dev clip (keyint 1), analysed every frame, default JND settings (${precision} analysis), x264 aq-strength ${aqStrength}; medians over frames. "spread": the middle frame of each of 8 equal segments of the clip; "first": frames 0-7. "own QP": macroblocks whose read-back QP differs from the previous one in raster order (a repeat usually means no coded residual, for which the decoder reports the predicted QP).`,
  '',
  `| clip | ${cols.map((c) => `${c}: rho all (lowest frame) / own-QP MBs (share)`).join(' | ')} |`,
  `|---|${cols.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.clip} | ${cols.map((c) => { const v = r[c] as IntraSpearman; return `${f(v.rho)} (${f(v.rhoMin)}) / ${f(v.rhoOwnQp)} (${v.ownQpShare === null ? 'n/a' : `${(100 * v.ownQpShare).toFixed(0)}%`})`; }).join(' | ')} |`),
  '',
  ...cols.map((c) => `${c}: median rho >= 0.5 on ${rows.filter((r) => ((r[c] as IntraSpearman).rho ?? -1) >= 0.5).length} of ${rows.length} clips, on every frame on ${rows.filter((r) => ((r[c] as IntraSpearman).rhoMin ?? -1) >= 0.5).length} (n/a: a frame where a map is constant, e.g. black).`),
  '',
];
writeResult(outName, { settings: { crfs, samples, aqStrength, precision, frames: 8, view: jnd.view, gain: jnd.jndGain }, rows }, md.join('\n'));
