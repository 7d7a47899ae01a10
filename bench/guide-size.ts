/**
 * At what input size may the guide detector (the one that places det-roi offsets during an
 * encode) run? Smaller is faster; what matters is that it still finds the objects the
 * scoring detector (native 512x512) finds. For each size: detection F1 of the guide against
 * the native detector on the same source frames (same matching as verification), the recall
 * of native objects by guide boxes dilated by 16 px (what det-roi protects), and the median
 * latency of one detection (onnxruntime-node, 1 thread, as on the encode's worker).
 *
 *   npx tsx bench/guide-size.ts [--frames 60] [--every 2] [--name guide-size]
 * Writes bench/results/<name>.{json,md}.
 */
import { loadMachine } from '../src/machines/registry.ts';
import type { DetectorMachine } from '../src/machines/detector.ts';
import type { Detection } from '../src/machines/types.ts';
import { decodeVideo, openInput } from '../src/media/source.ts';
import { DEFAULT_DETECTION_MATCH, DetectionTally } from '../src/metrics/detection.ts';
import { devClips, flag, median, writeResult } from './common.ts';

const args = process.argv.slice(2);
const frames = Number(flag(args, 'frames', '60'));
const every = Number(flag(args, 'every', '2'));
const name = flag(args, 'name', 'guide-size');
const sizes = [
  { label: '512x512', size: { width: 512, height: 512 } },
  { label: '416x416', size: { width: 416, height: 416 } },
  { label: '384x384', size: { width: 384, height: 384 } },
  { label: '320x320', size: { width: 320, height: 320 } },
  { label: '512x288 (16:9 kept)', size: { width: 512, height: 288 } },
  { label: '384x224 (16:9 kept)', size: { width: 384, height: 224 } },
];
const withObjects = ['film_his_girl_friday', 'indoor_bottle', 'indoor_people_event', 'nature_hikers', 'people_asl_again', 'people_asl_walk', 'sports_marathon', 'traffic_toronto', 'car_ferrari'];
const clips = devClips().filter((c) => withObjects.some((w) => c.includes(w)));
const native = (await loadMachine('centernet', { threads: 1 })) as DetectorMachine;
const guides = [] as Array<{ label: string; m: DetectorMachine; ms: number[]; tally: DetectionTally; covered: number; objects: number }>;
for (const s of sizes) guides.push({ label: s.label, m: (await loadMachine('centernet', { threads: 1, detectorSize: s.size })) as DetectorMachine, ms: [], tally: new DetectionTally(DEFAULT_DETECTION_MATCH), covered: 0, objects: 0 });

function covered(obj: Detection, boxes: Detection[], dilate: number): boolean {
  return boxes.some((b) => b.score >= DEFAULT_DETECTION_MATCH.high && b.box.x1 - dilate <= obj.box.x1 && b.box.y1 - dilate <= obj.box.y1 && b.box.x2 + dilate >= obj.box.x2 && b.box.y2 + dilate >= obj.box.y2);
}

for (const clip of clips) {
  const input = await openInput(clip);
  let i = 0;
  try {
    for await (const { frame } of decodeVideo(input)) {
      try {
        if (i >= frames) break;
        if (i % every === 0) {
          const ref = (await native.decide(frame)).detections;
          const objects = ref.filter((d) => d.score >= DEFAULT_DETECTION_MATCH.high);
          for (const g of guides) {
            const t0 = performance.now();
            const got = (await g.m.decide(frame)).detections;
            g.ms.push(performance.now() - t0);
            g.tally.add(ref, got);
            g.objects += objects.length;
            g.covered += objects.filter((o) => covered(o, got, 16)).length;
          }
        }
        i++;
      } finally {
        frame.free();
      }
    }
  } finally {
    await input.close();
  }
  process.stderr.write(`${clip} done\n`);
}
const rows = guides.map((g) => {
  const s = g.tally.summary();
  return { size: g.label, f1_vs_native: s.f1, recall: s.recall, precision: s.precision, box_coverage: g.objects ? g.covered / g.objects : null, objects: g.objects, median_ms: median(g.ms) };
});
const md = [
  `# Guide detector input size (centernet; ${clips.length} dev clips with objects, every ${every}th of the first ${frames} frames)`,
  '',
  'F1 / recall / precision: the guide at this size against centernet at its native 512x512 on the same source frames (same class, IoU >= 0.5, band 0.25-0.35). Box coverage: native objects (score >= 0.35) lying inside a guide box (score >= 0.35) dilated by 16 px: what det-roi protects. Latency: median per detection including the frame scaling, 1 thread.',
  '',
  '| guide size | F1 vs native | recall | precision | box coverage | native objects | median ms |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.size} | ${r.f1_vs_native.toFixed(3)} | ${r.recall?.toFixed(3) ?? 'n/a'} | ${r.precision?.toFixed(3) ?? 'n/a'} | ${r.box_coverage?.toFixed(3) ?? 'n/a'} | ${r.objects} | ${r.median_ms?.toFixed(0)} |`),
  '',
];
writeResult(name, { frames, every, clips, rows }, `${md.join('\n')}\n`);
process.stdout.write(`${md.join('\n')}\n`);
await native.release();
for (const g of guides) await g.m.release();
