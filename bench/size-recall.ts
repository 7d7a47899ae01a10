/**
 * Which objects does compression erase first? Plain x264 (ffmpeg -c:v libx264, preset
 * medium) at a few CRFs on the dev clips with objects; centernet on the source and on the
 * decoded frames; the recall of source objects (score >= 0.35) by size of their box side
 * sqrt(w h), and the share of the frame those boxes cover. A source object counts as kept
 * when a decoded detection of its class overlaps it with IoU >= 0.5 at score >= 0.25 (the
 * verification's match without its one-to-one assignment: a diagnostic, not the metric).
 * This is what det-scale's grading rests on (src/offsets/detector-roi.ts).
 *
 *   npx tsx bench/size-recall.ts [--frames 60] [--every 2] [--crf 40,44,48] [--name size-recall]
 * Writes bench/results/<name>.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DetectorMachine } from '../src/machines/detector.ts';
import { loadMachine } from '../src/machines/registry.ts';
import type { Detection } from '../src/machines/types.ts';
import { decodeVideo, openInput } from '../src/media/source.ts';
import { DEFAULT_DETECTION_MATCH, iou } from '../src/metrics/detection.ts';
import { devClips, flag, writeResult } from './common.ts';

const args = process.argv.slice(2);
const frames = Number(flag(args, 'frames', '60'));
const every = Number(flag(args, 'every', '2'));
const crfs = flag(args, 'crf', '40,44,48').split(',').map(Number);
const name = flag(args, 'name', 'size-recall');
const BUCKETS = [0, 32, 64, 128, 256, Infinity];
const bucketLabel = (i: number) => (BUCKETS[i + 1] === Infinity ? `>= ${BUCKETS[i]} px` : `${BUCKETS[i]}-${BUCKETS[i + 1]} px`);
const withObjects = ['film_his_girl_friday', 'indoor_bottle', 'indoor_people_event', 'nature_hikers', 'people_asl_again', 'people_asl_walk', 'sports_marathon', 'traffic_toronto', 'car_ferrari'];
const clips = devClips().filter((c) => withObjects.some((w) => c.includes(w)));
const detector = (await loadMachine('centernet', { threads: 1 })) as DetectorMachine;
const side = (d: Detection) => Math.sqrt(Math.max(0, d.box.x2 - d.box.x1) * Math.max(0, d.box.y2 - d.box.y1));
const bucketOf = (d: Detection) => BUCKETS.findIndex((b, i) => side(d) >= b && side(d) < BUCKETS[i + 1]);

async function detections(path: string): Promise<{ dets: Detection[][]; area: number }> {
  const input = await openInput(path);
  const out: Detection[][] = [];
  let area = 0;
  let i = 0;
  try {
    for await (const { frame } of decodeVideo(input)) {
      try {
        if (i >= frames) break;
        if (i % every === 0) out.push((await detector.decide(frame)).detections);
        area = frame.width * frame.height;
        i++;
      } finally {
        frame.free();
      }
    }
  } finally {
    await input.close();
  }
  return { dets: out, area };
}

const work = mkdtempSync(join(tmpdir(), 'dmvjnd-size-recall-'));
const total = { frames: 0, objects: new Array(BUCKETS.length - 1).fill(0), coverage: new Array(BUCKETS.length - 1).fill(0), kept: crfs.map(() => new Array(BUCKETS.length - 1).fill(0)) };
const perClip = [];
let analysed = 0;
try {
  for (const clip of clips) {
    const src = await detections(clip);
    const objects = src.dets.map((f) => f.filter((d) => d.score >= DEFAULT_DETECTION_MATCH.high));
    const row = { clip: basename(clip), objects: new Array(BUCKETS.length - 1).fill(0), kept: crfs.map(() => new Array(BUCKETS.length - 1).fill(0)) };
    for (const f of objects) {
      for (const o of f) {
        row.objects[bucketOf(o)]++;
        total.coverage[bucketOf(o)] += ((o.box.x2 - o.box.x1) * (o.box.y2 - o.box.y1)) / src.area;
      }
    }
    analysed += objects.reduce((n, f) => n + f.length, 0);
    total.frames += objects.length;
    for (const [k, crf] of crfs.entries()) {
      const out = join(work, `crf${crf}.mp4`);
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', clip, '-frames:v', String(frames), '-c:v', 'libx264', '-crf', String(crf), '-preset', 'medium', '-an', out]);
      if (r.status !== 0) throw new Error(`ffmpeg failed on ${clip}: ${r.stderr}`);
      const dec = await detections(out);
      objects.forEach((f, i) => {
        const got = (dec.dets[i] ?? []).filter((d) => d.score >= DEFAULT_DETECTION_MATCH.low);
        for (const o of f) if (got.some((d) => d.cls === o.cls && iou(d.box, o.box) >= DEFAULT_DETECTION_MATCH.iou)) row.kept[k][bucketOf(o)]++;
      });
    }
    row.objects.forEach((n, b) => (total.objects[b] += n));
    row.kept.forEach((ks, k) => ks.forEach((n, b) => (total.kept[k][b] += n)));
    perClip.push(row);
    process.stderr.write(`${row.clip}: ${row.objects.join('/')} objects by size\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');
const md = [
  '# Which objects plain x264 erases first: recall of source detections by object size (centernet)',
  '',
  `${clips.length} dev clips with objects, every ${every}th of the first ${frames} frames (${analysed} source objects with score >= ${DEFAULT_DETECTION_MATCH.high}); ffmpeg -c:v libx264 -preset medium at CRF ${crfs.join(', ')}. Kept: a decoded detection of the same class at IoU >= ${DEFAULT_DETECTION_MATCH.iou} and score >= ${DEFAULT_DETECTION_MATCH.low}. Size: the box side sqrt(w h) in frame pixels. Frame share: mean over analysed frames of the boxes' summed area / frame area (\`npx tsx bench/size-recall.ts\`).`,
  '',
  `| box side | objects | frame share per analysed frame | ${crfs.map((c) => `kept at CRF ${c}`).join(' | ')} |`,
  `|---|---|---|${crfs.map(() => '---').join('|')}|`,
  ...total.objects.map((n, b) => `| ${bucketLabel(b)} | ${n} | ${pct(total.coverage[b], total.frames)} | ${crfs.map((_, k) => pct(total.kept[k][b], n)).join(' | ')} |`),
  '',
];
writeResult(name, { frames, every, crfs, buckets: BUCKETS.slice(0, -1), total, per_clip: perClip }, md.join('\n'));
process.stdout.write(md.join('\n'));
