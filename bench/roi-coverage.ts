/**
 * Does the box ROI cover the objects the verification counts? The detector runs every
 * `stride` frames; a frame between two analyses gets the union of both analyses' boxes
 * (det-roi, src/offsets/detector-methods.ts), each box dilated by 16 px (or `--dilates`), and only boxes
 * scoring >= the ROI's minimum score. The verification's reference objects are every
 * source frame's detections scoring >= 0.35 (metrics/detection.ts). An object that scores
 * 0.30 on the analysed frames and 0.40 in between is a reference object in the coarse
 * background. Per window of the bench and per (minimum score, stride): the share of
 * reference objects whose macroblocks all lie in the fine area, and the share of the frame
 * the fine area takes (what it costs), per dilation. No encoding: CenterNet on the source frames only.
 *
 *   npx tsx bench/roi-coverage.ts [--frames 60] [--windows first,middle,last] [--scores 0.35,0.25,0.15,0.1] [--strides 8,16] [--dilates 16] [--name roi-coverage]
 * Writes bench/results/<name>.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import type { DetectorMachine } from '../src/machines/detector.ts';
import { loadMachine } from '../src/machines/registry.ts';
import type { Detection } from '../src/machines/types.ts';
import { decodeVideo, openInput } from '../src/media/source.ts';
import { macroblockGrid } from '../src/media/mb-grid.ts';
import { benchWindow } from '../src/bench/detector-bench.ts';
import { DEFAULT_DETECTION_MATCH } from '../src/metrics/detection.ts';
import { DEFAULT_DET_ROI_OFFSETS } from '../src/offsets/detector-methods.ts';
import { detRoiOffsets } from '../src/offsets/detector-roi.ts';
import { devClips, flag, writeResult } from './common.ts';

const args = process.argv.slice(2);
const frames = Number(flag(args, 'frames', '60'));
const windows = flag(args, 'windows', 'first,middle,last').split(',') as ('first' | 'middle' | 'last')[];
const scores = flag(args, 'scores', '0.35,0.25,0.15,0.1').split(',').map(Number);
const strides = flag(args, 'strides', '8,16').split(',').map(Number);
const name = flag(args, 'name', 'roi-coverage');
const withObjects = ['film_his_girl_friday', 'indoor_bottle', 'indoor_people_event', 'nature_hikers', 'people_asl_again', 'people_asl_walk', 'sports_marathon', 'traffic_toronto', 'car_ferrari'];
const clips = devClips().filter((c) => withObjects.some((w) => c.includes(w)));
const detector = (await loadMachine('centernet', { threads: 2 })) as DetectorMachine;
const dilates = flag(args, 'dilates', String(DEFAULT_DET_ROI_OFFSETS.dilate)).split(',').map(Number);

function frameCount(path: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !(n > 0)) throw new Error(`ffprobe could not count the frames of ${path}: ${r.stderr}`);
  return n;
}

/** Source detections of frames [start, start + count). */
async function detectWindow(path: string, start: number, count: number): Promise<{ dets: Detection[][]; width: number; height: number }> {
  const input = await openInput(path);
  const dets: Detection[][] = [];
  let width = 0;
  let height = 0;
  let i = 0;
  try {
    for await (const { frame } of decodeVideo(input)) {
      try {
        if (i >= start + count) break;
        if (i >= start) {
          dets.push((await detector.decide(frame)).detections);
          width = frame.width;
          height = frame.height;
        }
        i++;
      } finally {
        frame.free();
      }
    }
  } finally {
    await input.close();
  }
  return { dets, width, height };
}

interface Cell { references: number; covered: number; fineShare: number; frames: number }
const cellKey = (w: string, s: number, st: number, d: number) => `${w}|${s}|${st}|${d}`;
/** A (score, stride, dilation) column's name; the dilation only when several are measured. */
const colKey = (s: number, st: number, d: number) => (dilates.length > 1 ? `${s}@${st}+${d}px` : `${s}@${st}`);
const cells = new Map<string, Cell>();
const perClip: { clip: string; window: string; start: number; frames: number; references: number; covered: Record<string, number>; fine: Record<string, number> }[] = [];

for (const clip of clips) {
  const n = frameCount(clip);
  for (const w of windows) {
    const win = benchWindow(n, frames, w);
    const { dets, width, height } = await detectWindow(clip, win.start, win.frames);
    const grid = macroblockGrid(width, height);
    const row = { clip: basename(clip), window: w, start: win.start, frames: dets.length, references: 0, covered: {} as Record<string, number>, fine: {} as Record<string, number> };
    // Each frame's reference objects as their own (undilated) macroblocks: the same for every setting.
    const referenceMbs = dets.map((f) =>
      f.filter((d) => d.score >= DEFAULT_DETECTION_MATCH.high).map((ref) => {
        const own = detRoiOffsets([ref], grid, { inside: 1, outside: 0, dilate: 0, minScore: 0 });
        return [...own.keys()].filter((k) => own[k] === 1);
      }));
    for (const refs of referenceMbs) row.references += refs.length;
    for (const minScore of scores) {
      for (const stride of strides) {
        for (const dilate of dilates) {
          const cell = cells.get(cellKey(w, minScore, stride, dilate)) ?? { references: 0, covered: 0, fineShare: 0, frames: 0 };
          let covered = 0;
          let fine = 0;
          for (const i of dets.keys()) {
            const before = Math.floor(i / stride) * stride;
            const after = before + stride;
            const guide = before === i || after >= dets.length ? dets[before] : [...dets[before], ...dets[after]];
            const mask = detRoiOffsets(guide, grid, { inside: 1, outside: 0, dilate, minScore });
            fine += mask.reduce((a, v) => a + v, 0) / grid.count;
            for (const mbs of referenceMbs[i]) if (mbs.every((k) => mask[k] === 1)) covered++;
          }
          row.covered[colKey(minScore, stride, dilate)] = row.references ? covered / row.references : 1;
          row.fine[colKey(minScore, stride, dilate)] = fine / dets.length;
          cell.references += row.references;
          cell.covered += covered;
          cell.fineShare += fine;
          cell.frames += dets.length;
          cells.set(cellKey(w, minScore, stride, dilate), cell);
        }
      }
    }
    perClip.push(row);
    console.error(`${row.clip} ${w}: ${row.references} reference objects in ${row.frames} frames; covered at ${colKey(scores[0], strides[0], dilates[0])} ${(100 * row.covered[colKey(scores[0], strides[0], dilates[0])]).toFixed(1)}%`);
  }
}

const summary = [...cells.entries()].map(([k, c]) => {
  const [window, minScore, stride, dilate] = k.split('|');
  return { window, min_score: Number(minScore), stride: Number(stride), dilate: Number(dilate), reference_objects: c.references, uncovered_share: 1 - c.covered / c.references, fine_share: c.fineShare / c.frames };
});
const pctText = (x: number) => `${(100 * x).toFixed(1)}%`;
const columns = scores.flatMap((s) => strides.flatMap((st) => dilates.map((d) => colKey(s, st, d))));
const md = [
  '# Box ROI coverage of the reference objects',
  '',
  `\`npx tsx bench/roi-coverage.ts --frames ${frames} --windows ${windows.join(',')} --scores ${scores.join(',')} --strides ${strides.join(',')}${dilates.length > 1 || dilates[0] !== DEFAULT_DET_ROI_OFFSETS.dilate ? ` --dilates ${dilates.join(',')}` : ''}\`: CenterNet on the source frames of the bench's windows (the 9 clips with objects). A reference object (score >= ${DEFAULT_DETECTION_MATCH.high} on its frame) is covered when all its macroblocks lie in the fine area of det-roi built from the analysed frames' boxes scoring >= the minimum score (union of the analyses before and after, each box dilated by ${dilates.join(' / ')} px). Fine share: the mean share of a frame's macroblocks in the fine area.`,
  '',
  '| window | ROI minimum score | detector stride | dilation (px) | reference objects | not covered | fine share of the frame |',
  '|---|---|---|---|---|---|---|',
  ...summary.map((s) => `| ${s.window} | ${s.min_score} | ${s.stride} | ${s.dilate} | ${s.reference_objects} | ${pctText(s.uncovered_share)} | ${pctText(s.fine_share)} |`),
  '',
  '## Per clip: not covered / fine share',
  '',
  `| clip | window | reference objects | ${columns.join(' | ')} |`,
  `|---|---|---|${columns.map(() => '---|').join('')}`,
  ...perClip.map((r) => `| ${r.clip} | ${r.window} | ${r.references} | ${columns.map((c) => `${pctText(1 - r.covered[c])} / ${pctText(r.fine[c])}`).join(' | ')} |`),
  '',
].join('\n');
writeResult(name, { frames, windows, scores, strides, dilates, summary, per_clip: perClip }, md);
console.log(md);
