/**
 * Labels for the object-level detector JND: how much compression each object the detector
 * finds tolerates, measured with the real encoder. For each training clip window, plain
 * x264 (ffmpeg -c:v libx264, preset medium) at a ladder of CRFs; centernet on the source and
 * on every decoded ladder rung; per source object (score >= 0.35) whether a decoded
 * detection of its class still overlaps it (IoU >= 0.5, score >= 0.25) at each CRF.
 *
 *   npx tsx training/object_jnd/collect.ts [--out ~/.cache/dmvjnd/object-jnd/records.jsonl]
 *       [--start 60] [--frames 60] [--every 2] [--crf 30,35,40,44,48,52] [--held-out]
 *
 * Training windows: frames [start, start + frames) of every dev clip except the held-out
 * ones (people_asl_walk, indoor_people_event: never used to fit; `--held-out` collects only
 * those, for the fit's validation figures); the detector bench scores
 * frames [0, 60), so the default start of 60 keeps fitted and benchmarked frames apart.
 * One JSON line per object: clip, frame, cls, score, box (frame pixels), frame size, luma
 * mean and standard deviation inside the box, kept (one boolean per CRF).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { devClips, flag } from '../../bench/common.ts';
import type { DetectorMachine } from '../../src/machines/detector.ts';
import { loadMachine } from '../../src/machines/registry.ts';
import type { Detection } from '../../src/machines/types.ts';
import { decodeVideo, openInput } from '../../src/media/source.ts';
import { DEFAULT_DETECTION_MATCH, iou } from '../../src/metrics/detection.ts';

export const HELD_OUT = ['people_asl_walk', 'indoor_people_event'];
const args = process.argv.slice(2);
const outPath = flag(args, 'out', join(homedir(), '.cache', 'dmvjnd', 'object-jnd', 'records.jsonl'));
const start = Number(flag(args, 'start', '60'));
const frames = Number(flag(args, 'frames', '60'));
const every = Number(flag(args, 'every', '2'));
const crfs = flag(args, 'crf', '30,35,40,44,48,52').split(',').map(Number);
const heldOut = args.includes('--held-out');

const detector = (await loadMachine('centernet', { threads: 1 })) as DetectorMachine;

interface Analysed {
  dets: Detection[];
  luma?: { data: Uint8Array; stride: number; width: number; height: number };
}

/** Detections of every `every`th frame of [from, from + count); with the luma plane when asked. */
async function analyse(path: string, from: number, count: number, withLuma: boolean): Promise<Analysed[]> {
  const input = await openInput(path);
  const out: Analysed[] = [];
  let i = 0;
  try {
    for await (const { frame } of decodeVideo(input)) {
      try {
        if (i >= from + count) break;
        if (i >= from && (i - from) % every === 0) {
          const dets = (await detector.decide(frame)).detections;
          const luma = withLuma ? { data: Uint8Array.from(frame.data![0]), stride: frame.linesize[0], width: frame.width, height: frame.height } : undefined;
          out.push({ dets, luma });
        }
        i++;
      } finally {
        frame.free();
      }
    }
  } finally {
    await input.close();
  }
  return out;
}

function lumaStats(l: NonNullable<Analysed['luma']>, d: Detection): { mean: number; std: number } {
  const x1 = Math.max(0, Math.floor(d.box.x1));
  const y1 = Math.max(0, Math.floor(d.box.y1));
  const x2 = Math.min(l.width, Math.ceil(d.box.x2));
  const y2 = Math.min(l.height, Math.ceil(d.box.y2));
  let n = 0;
  let s = 0;
  let s2 = 0;
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const v = l.data[y * l.stride + x];
      s += v;
      s2 += v * v;
      n++;
    }
  }
  if (n === 0) return { mean: 0, std: 0 };
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) };
}

const clips = devClips().filter((c) => HELD_OUT.some((h) => basename(c).startsWith(h)) === heldOut);
mkdirSync(dirname(outPath), { recursive: true });
const sink = createWriteStream(outPath);
const work = mkdtempSync(join(tmpdir(), 'dmvjnd-object-jnd-'));
let records = 0;
try {
  for (const clip of clips) {
    const src = await analyse(clip, start, frames, true);
    if (src.length === 0) {
      process.stderr.write(`${basename(clip)}: shorter than ${start + 1} frames, skipped\n`);
      continue;
    }
    const decoded: Detection[][][] = [];
    for (const crf of crfs) {
      const out = join(work, `crf${crf}.mp4`);
      const vf = `trim=start_frame=${start}:end_frame=${start + frames},setpts=PTS-STARTPTS`;
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', clip, '-vf', vf, '-an', '-fps_mode', 'passthrough', '-c:v', 'libx264', '-crf', String(crf), '-preset', 'medium', out]);
      if (r.status !== 0) throw new Error(`ffmpeg failed on ${clip} at CRF ${crf}: ${r.stderr}`);
      decoded.push((await analyse(out, 0, frames, false)).map((a) => a.dets));
    }
    let objects = 0;
    src.forEach((f, k) => {
      for (const o of f.dets.filter((d) => d.score >= DEFAULT_DETECTION_MATCH.high)) {
        const kept = decoded.map((rung) => (rung[k] ?? []).some((d) => d.cls === o.cls && d.score >= DEFAULT_DETECTION_MATCH.low && iou(d.box, o.box) >= DEFAULT_DETECTION_MATCH.iou));
        const { mean, std } = lumaStats(f.luma!, o);
        sink.write(`${JSON.stringify({ clip: basename(clip), frame: start + k * every, cls: o.cls, score: o.score, box: o.box, width: f.luma!.width, height: f.luma!.height, luma_mean: mean, luma_std: std, crfs, kept })}\n`);
        objects++;
      }
    });
    records += objects;
    process.stderr.write(`${basename(clip)}: ${objects} objects\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  sink.end();
}
process.stderr.write(`${records} object records -> ${outPath}\n`);
