/**
 * How big should the machine view be? For each view size, plain x264 at a CRF sweep,
 * verified against the original: where does confident regional RCA fall below 0.99
 * (the knee)? A useful default view puts that knee inside CRF 18-51, so compression
 * matters to the machine. Also reports the noise floor (all-decision regional RCA at
 * near-lossless CRF 12).
 *
 *   npx tsx bench/view-knee.ts [--views 64,96,128,192] [--crfs 12,18,23,28,33,38,43,48] [--frames 45] [--clips a,b]
 * Writes bench/results/view-knee.{json,md}.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ReferenceDecisionCache } from '../src/analysis/verify.ts';
import { loadModels } from '../src/inference/models.ts';
import { encode } from '../src/pipeline.ts';
import { devClips, flag, pct, writeResult } from './common.ts';

const args = process.argv.slice(2);
const views = flag(args, 'views', '64,96,128,192').split(',').map(Number);
const crfs = flag(args, 'crfs', '12,18,23,28,33,38,43,48').split(',').map(Number);
const frames = Number(flag(args, 'frames', '45'));
const only = flag(args, 'clips', 'traffic_toronto,nature_hikers,indoor_people_event,sports_marathon');
const clips = devClips().filter((c) => only.split(',').some((o) => basename(c).startsWith(o)));
const models = await loadModels({ provider: 'auto', generator: false, onNote: (l) => console.error(l) });
const out = join(tmpdir(), `dmvjnd-view-knee-${process.pid}.mp4`);
const referenceCache = new ReferenceDecisionCache();
const points: Array<{ clip: string; view: number; crf: number; kbps: number; regional_confident: number | null; regional_all: number | null; global_all: number | null; confident_decisions: number; mean_top1_conf?: number }> = [];
for (const clip of clips) {
  for (const view of views) {
    for (const crf of crfs) {
      const r = await encode({ input: clip, output: out, models, referenceCache, offsets: { kind: 'none' }, verify: true, machine: 'cifar', maxFrames: frames, jnd: { view }, x264: { rateControl: { mode: 'crf', crf } } });
      points.push({ clip: basename(clip), view, crf, kbps: r.bitrate_kbps, regional_confident: r.rca!.regional.confident, regional_all: r.rca!.regional.all, global_all: r.rca!.global.all, confident_decisions: r.rca!.regional.decisions.confident });
      console.error(`${basename(clip)} view ${view} crf ${crf}: conf ${pct(r.rca!.regional.confident)} all ${pct(r.rca!.regional.all)}`);
    }
  }
}
rmSync(out, { force: true });
await models.release();
const knee = (clip: string, view: number) => {
  const ps = points.filter((p) => p.clip === clip && p.view === view).sort((a, b) => a.crf - b.crf);
  let last: number | null = null;
  for (const p of ps) {
    if ((p.regional_confident ?? 0) >= 0.99) last = p.crf;
    else break;
  }
  return last;
};
const md = [
  '# Machine view size vs where compression starts to matter',
  '',
  `Plain x264 (preset medium), first ${frames} frames per clip, RCA against the original (tau 0.5). Knee = highest CRF up to which confident regional RCA stays >= 99%.`,
  '',
  `| clip | ${views.map((v) => `view ${v}: knee CRF / floor (all, CRF 12)`).join(' | ')} |`,
  `|---|${views.map(() => '---').join('|')}|`,
  ...clips.map((c) => {
    const name = basename(c);
    return `| ${name} | ${views.map((v) => `${knee(name, v) ?? '<' + crfs[0]} / ${pct(points.find((p) => p.clip === name && p.view === v && p.crf === 12)?.regional_all)}`).join(' | ')} |`;
  }),
  '',
].join('\n');
writeResult('view-knee', { views, crfs, frames, points }, md);
console.log(md);
