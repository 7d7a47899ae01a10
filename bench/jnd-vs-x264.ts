/**
 * Issue-4 acceptance table: per dev clip, JND-guided encode at base CRF 23 versus plain
 * x264 at CRF 23 (same preset, same settings otherwise), both verified against the
 * original: size saving, confident and all-decision regional RCA, global and held-out
 * RCA, PSNR-Y, and Spearman(JND, QP) on intra frames.
 *
 *   npx tsx bench/jnd-vs-x264.ts [--frames 90] [--window first|middle] [--gain 0.2] [--view 128] [--stride 8] [--precision float32|int8] [--clips a,b] [--name jnd-vs-x264]
 *   [--x264-params aq-strength=0.3]   (every encode; defaults: the encode's defaults)
 *   [--jnd-aq-strength 0.3]   (x264's own AQ in the JND-guided encodes; default: the encode's)
 *   [--jnd-x264-params ...]   (other x264 options for the JND-guided encodes only)
 *
 *   --window middle: the N frames in the middle of each clip instead of its first N (a clip's
 *   start can be unrepresentative: the animation's first second is a fade from black).
 *
 * Writes bench/results/<name>.{json,md} (default name jnd-vs-x264).
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AnalysisMemo } from '../src/analysis/analyser.ts';
import { ReferenceDecisionCache } from '../src/analysis/verify.ts';
import { loadModels, type AnalysisPrecision } from '../src/inference/models.ts';
import { probeMedia } from '../src/media/probe.ts';
import { DEFAULT_X264 } from '../src/media/x264-settings.ts';
import { DEFAULT_JND, encode, type EncodeReport } from '../src/pipeline.ts';
import { devClips, flag, pct, repoRelative, writeResult } from './common.ts';
import { intraSpearman } from './intra-spearman.ts';

const args = process.argv.slice(2);
const frames = Number(flag(args, 'frames', '90'));
const window = flag(args, 'window', 'first');
if (window !== 'first' && window !== 'middle') throw new Error(`expected --window first or middle but received ${window}`);
const gain = Number(flag(args, 'gain', String(DEFAULT_JND.jndGain)));
const view = Number(flag(args, 'view', String(DEFAULT_JND.view)));
const stride = Number(flag(args, 'stride', String(DEFAULT_JND.analysisStride)));
const pooling = flag(args, 'pooling', 'mean') as 'mean';
const precision = flag(args, 'precision', DEFAULT_JND.precision) as AnalysisPrecision;
const aqStrength = Number(flag(args, 'jnd-aq-strength', String(DEFAULT_JND.aqStrength)));
const only = flag(args, 'clips', '');
const outName = flag(args, 'name', 'jnd-vs-x264');
// Extra x264 options for every encode here, e.g. aq-strength=0.3 (how much x264's own AQ masks the offsets).
const x264Params = flag(args, 'x264-params', '') || undefined;
// x264 options for the JND-guided encodes only (plain x264 keeps its defaults), e.g.
// aq-strength=0.5: does a weaker variance AQ let the read-back QP follow the JND?
const jndX264Params = flag(args, 'jnd-x264-params', '') || undefined;
const joinParams = (...p: Array<string | undefined>) => p.filter(Boolean).join(':') || undefined;
const clips = devClips().filter((c) => !only || only.split(',').some((o) => basename(c).startsWith(o)));
const models = await loadModels({ provider: 'auto', generator: true, onNote: (l) => console.error(l) });
const int8Models = precision === 'int8' ? await loadModels({ provider: 'auto', generator: true, heldout: false, precision }) : undefined;
const tmp = join(tmpdir(), `dmvjnd-bench-${process.pid}`);
const rows: Array<Record<string, unknown>> = [];
const jnd = { view, jndGain: gain, analysisStride: stride, pooling, precision, aqStrength };
const referenceCache = new ReferenceDecisionCache();
// Analysis shared by the two encodes of a clip (and by the Spearman check's frames where they coincide).
const analysisMemo = new AnalysisMemo();

for (const clip of clips) {
  const name = basename(clip);
  const startFrame = window === 'middle' ? Math.max(0, Math.floor(((await probeMedia(clip)).frames - frames) / 2)) : 0;
  const common = { input: clip, startFrame, models, int8Models, referenceCache, analysisMemo, verify: true, machine: 'cifar', tau: 0.5, maxFrames: frames, jnd, x264: { rateControl: { mode: 'crf' as const, crf: 23 }, x264Params } };
  const plain: EncodeReport = await encode({ ...common, output: `${tmp}-plain.mp4`, offsets: { kind: 'none' } });
  const ours: EncodeReport = await encode({ ...common, output: `${tmp}-jnd.mp4`, offsets: 'jnd', x264: { ...common.x264, x264Params: joinParams(x264Params, jndX264Params) } });
  // Spearman(JND, read-back QP) on 8 intra frames spread over the clip (the headline) and
  // on its first 8 (animation's are a fade from black), with the JND encode's own settings.
  const intra = { models: int8Models ?? models, jnd: { ...DEFAULT_JND, ...jnd }, x264: { ...DEFAULT_X264, x264Params: joinParams(x264Params, jndX264Params) }, memo: analysisMemo };
  const spread = await intraSpearman(clip, { ...intra, sample: 'spread' });
  const first = await intraSpearman(clip, { ...intra, sample: 'first' });
  const row = {
    clip: name,
    frames: ours.frames,
    start_frame: startFrame,
    // Video rates (the H.264 stream); the file saving also counts the audio both copy.
    plain_kbps: plain.video_bitrate_kbps,
    jnd_kbps: ours.video_bitrate_kbps,
    saving: 1 - ours.video_bytes / plain.video_bytes,
    file_saving: 1 - ours.bytes / plain.bytes,
    jnd_regional_confident: ours.rca!.regional.confident,
    jnd_regional_all: ours.rca!.regional.all,
    plain_regional_confident: plain.rca!.regional.confident,
    plain_regional_all: plain.rca!.regional.all,
    jnd_global_all: ours.rca!.global.all,
    jnd_global_confident: ours.rca!.global.confident,
    jnd_heldout_regional_all: ours.rca!.heldout.regional.all,
    jnd_heldout_regional_confident: ours.rca!.heldout.regional.confident,
    plain_heldout_regional_all: plain.rca!.heldout.regional.all,
    psnr_plain: plain.psnr_y_db,
    psnr_jnd: ours.psnr_y_db,
    spearman_jnd_qp_intra_median: spread.rho,
    spearman_jnd_qp_intra_min: spread.rhoMin,
    spearman_jnd_qp_intra_first8_median: first.rho,
    offset_spread_p10_p90_qp: spread.offsetSpread,
    rca_ok: (ours.rca!.regional.confident ?? 0) >= 0.99 && (ours.rca!.regional.all ?? 0) >= (plain.rca!.regional.all ?? 0) - 0.01,
    meets: false,
    meets_file: false,
  };
  row.meets = row.rca_ok && row.saving >= 0.25;
  row.meets_file = row.rca_ok && row.file_saving >= 0.25;
  rows.push(row);
  console.error(`${name}: saving ${pct(row.saving, 1)}, conf regional RCA ${pct(row.jnd_regional_confident)}, all ${pct(row.jnd_regional_all)} (plain ${pct(row.plain_regional_all)}), rho ${row.spearman_jnd_qp_intra_median?.toFixed(2)} (lowest frame ${row.spearman_jnd_qp_intra_min?.toFixed(2)}; first 8 frames ${row.spearman_jnd_qp_intra_first8_median?.toFixed(2)})`);
}
rmSync(`${tmp}-plain.mp4`, { force: true });
rmSync(`${tmp}-jnd.mp4`, { force: true });
await models.release();
await int8Models?.release();

const md = [
  `# JND-guided encode vs plain x264, both at CRF 23 (preset medium)`,
  '',
  `${window === 'middle' ? `The ${frames} frames in the middle of each dev clip (first frame in the "clip" column)` : `First ${frames} frames of each dev clip`}; view ${view} px, gain ${gain}, pooling ${pooling}, analysis stride ${stride}, x264 aq-strength ${aqStrength} in the JND encodes (plain: x264's default)${precision === 'int8' ? ', int8 analysis models (`models/int8/`)' : ''}${x264Params ? `, x264 ${x264Params}` : ''}${jndX264Params ? `, JND encodes only: x264 ${jndX264Params}` : ''}; RCA against the original, tau 0.5; models: \`${repoRelative(models.dir)}/\`.`,
  ...(window === 'middle' ? ['The outputs also carry the audio from the clip\'s start up to the window\'s end, so "file saving" means little here: read the video saving.'] : []),
  `Acceptance per clip: >= 25% smaller, confident regional RCA >= 99%, all-decision regional RCA no more than 1 point below plain x264's. Rates and "saving" are the H.264 stream's; "file saving" also counts the audio that both outputs copy (9 of the 14 clips have audio), which dilutes it.`,
  '',
  '| clip | plain video kbit/s | JND video kbit/s | saving (video) | file saving | regional RCA conf. (JND) | regional RCA all (JND / plain) | global RCA all (JND) | held-out regional all (JND / plain) | PSNR-Y JND / plain | Spearman JND~QP, 8 intra frames spread: median (lowest) | Spearman, first 8 frames | JND offset spread p10-p90 (QP) | meets |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r: any) =>
    `| ${r.clip}${window === 'middle' ? ` (from ${r.start_frame})` : ''} | ${r.plain_kbps.toFixed(0)} | ${r.jnd_kbps.toFixed(0)} | ${pct(r.saving, 1)} | ${pct(r.file_saving, 1)} | ${pct(r.jnd_regional_confident)} | ${pct(r.jnd_regional_all)} / ${pct(r.plain_regional_all)} | ${pct(r.jnd_global_all)} | ${pct(r.jnd_heldout_regional_all)} / ${pct(r.plain_heldout_regional_all)} | ${r.psnr_jnd.toFixed(2)} / ${r.psnr_plain.toFixed(2)} | ${r.spearman_jnd_qp_intra_median?.toFixed(2) ?? 'n/a'} (${r.spearman_jnd_qp_intra_min?.toFixed(2) ?? 'n/a'}) | ${r.spearman_jnd_qp_intra_first8_median?.toFixed(2) ?? 'n/a'} | ${r.offset_spread_p10_p90_qp?.toFixed(1) ?? 'n/a'} | ${r.meets ? 'yes' : 'no'}${r.meets_file ? '' : r.meets ? ' (video only)' : ''} |`,
  ),
  '',
  `Meets all three acceptance conditions on ${rows.filter((r: any) => r.meets).length} of ${rows.length} clips by video size (${rows.filter((r: any) => r.meets_file).length} by file size); Spearman JND~QP >= 0.5 on intra frames spread over the clip on ${rows.filter((r: any) => (r.spearman_jnd_qp_intra_median ?? 0) >= 0.5).length} of ${rows.length} by median, on every sampled frame on ${rows.filter((r: any) => (r.spearman_jnd_qp_intra_min ?? 0) >= 0.5).length}; on the first 8 frames on ${rows.filter((r: any) => (r.spearman_jnd_qp_intra_first8_median ?? 0) >= 0.5).length} by median.`,
  'Spearman: intra frames (keyint 1) coded with the JND encode\'s settings and analysed every frame; "spread" takes the middle frame of each of 8 equal segments of the clip, "first 8" frames 0-7 (what this column measured before 2026-11-26).',
  '',
].join('\n');
writeResult(outName, { settings: { frames, window, gain, view, stride, pooling, precision, aqStrength, crf: 23, preset: 'medium', tau: 0.5, x264Params: x264Params ?? null, jndX264Params: jndX264Params ?? null }, rows }, md);
console.log(md);
