/**
 * How wide should the score hysteresis band of detection agreement be? For each dev clip,
 * the detector's detections on the source frames are compared with those on a near-lossless
 * re-encode (plain x264 CRF 12, and CRF 18) and on the next source frame, for several
 * thresholds and band half-widths. A band is wide enough when the near-lossless re-encode
 * scores close to F1 1 (what is left is the detector flickering, not compression).
 *
 *   npx tsx bench/detection-band.ts [--frames 60] [--machine centernet] [--name detection-band]
 * Writes bench/results/<name>.{json,md}.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMachine } from '../src/machines/registry.ts';
import type { DetectorMachine } from '../src/machines/detector.ts';
import type { Detection } from '../src/machines/types.ts';
import { decodeVideo, openInput } from '../src/media/source.ts';
import { DetectionTally } from '../src/metrics/detection.ts';
import { encode } from '../src/pipeline.ts';
import { devClips, writeResult } from './common.ts';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '60' }, machine: { type: 'string', default: 'centernet' }, name: { type: 'string', default: 'detection-band' } } });
const frames = Number(values.frames);
const machine = (await loadMachine(values.machine!, {})) as DetectorMachine;
const thresholds = [0.3, 0.35, 0.4];
const halfWidths = [0, 0.05, 0.1];
const crfs = [12, 18];

async function detectionsOf(path: string): Promise<Detection[][]> {
  const input = await openInput(path);
  const out: Detection[][] = [];
  try {
    for await (const { frame } of decodeVideo(input)) {
      try {
        if (out.length < frames) out.push((await machine.decide(frame)).detections);
      } finally {
        frame.free();
      }
      if (out.length >= frames) break;
    }
  } finally {
    await input.close();
  }
  return out;
}

const tmp = join('/tmp', `dmvjnd-band-${process.pid}`);
mkdirSync(tmp, { recursive: true });
const rows: Array<Record<string, unknown>> = [];
try {
  for (const src of devClips()) {
    const clip = src.replace(/^.*\//, '');
    const ref = await detectionsOf(src);
    const tests: Record<string, Detection[][]> = { 'next frame': ref.slice(1) };
    for (const crf of crfs) {
      const out = join(tmp, `${crf}.mp4`);
      await encode({ input: src, output: out, offsets: { kind: 'none' }, x264: { rateControl: { mode: 'crf', crf } }, maxFrames: frames });
      tests[`x264 CRF ${crf}`] = await detectionsOf(out);
    }
    for (const high of thresholds) {
      for (const hw of halfWidths) {
        const row: Record<string, unknown> = { clip, high: high, low: +(high - 2 * hw).toFixed(2), band: 2 * hw };
        // The band sits below the threshold: [high - 2w, high).
        for (const [name, test] of Object.entries(tests)) {
          const t = new DetectionTally({ iou: 0.5, high, low: +(high - 2 * hw).toFixed(2), sameClass: true });
          const pairs = name === 'next frame' ? ref.length - 1 : Math.min(ref.length, test.length);
          for (let i = 0; i < pairs; i++) t.add(ref[i], test[i]);
          const s = t.summary();
          row[name] = s.f1;
          row.objects = s.reference_objects_per_frame;
        }
        rows.push(row);
      }
    }
    process.stderr.write(`${clip} done\n`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
  await machine.release();
}
const keys = ['next frame', ...crfs.map((c) => `x264 CRF ${c}`)];
const md = [
  `# Detection agreement noise floor by threshold and band (${values.machine}, first ${frames} frames)`,
  '',
  'A detection counts as a reference object at score >= threshold and may match down to threshold - band; F1 of the test against the source.',
  '',
  `| threshold | band | ${keys.map((k) => `mean F1 ${k}`).join(' | ')} | min F1 x264 CRF 12 |`,
  `|---|---|${keys.map(() => '---').join('|')}|---|`,
];
for (const high of thresholds) {
  for (const hw of halfWidths) {
    const sel = rows.filter((r) => r.high === high && r.band === 2 * hw);
    const mean = (k: string) => sel.reduce((a, r) => a + (r[k] as number), 0) / sel.length;
    md.push(`| ${high} | ${(2 * hw).toFixed(2)} | ${keys.map((k) => mean(k).toFixed(3)).join(' | ')} | ${Math.min(...sel.map((r) => r['x264 CRF 12'] as number)).toFixed(3)} |`);
  }
}
md.push('', '## Per clip', '', `| clip | objects/frame | threshold | band | ${keys.join(' | ')} |`, `|---|---|---|---|${keys.map(() => '---').join('|')}|`);
for (const r of rows) md.push(`| ${r.clip} | ${(r.objects as number).toFixed(1)} | ${r.high} | ${(r.band as number).toFixed(2)} | ${keys.map((k) => (r[k] as number).toFixed(3)).join(' | ')} |`);
writeResult(values.name!, { machine: values.machine, frames, rows }, `${md.join('\n')}\n`);
process.stdout.write(`${md.slice(0, 16).join('\n')}\n`);
