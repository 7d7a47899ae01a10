import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { DmvjndError } from '../../errors.ts';
import { ReferenceDecisionCache } from '../../analysis/verify.ts';
import { encode, type EncodeOptions, type EncodeReport } from '../../pipeline.ts';
import { removeOnExit } from '../../util/atomic-output.ts';
import { SYNTHETIC_OFFSET_HELP } from '../../offsets/synthetic.ts';
import { DETECTOR_OFFSET_HELP } from '../../offsets/detector-methods.ts';
import { offsetsFromArg } from '../../offsets/from-arg.ts';
import { describeMachineScores } from './verify.ts';
import { progressLine } from '../progress.ts';
import {
  analysisPrecisionOption, defaultOutputFor, jndAqOption, fail, fmt, inputFromArg, jndFromArgs, jndOptions, modelOptions, note, pct, print,
  machineOption, providerArg, userClassifiersFromArgs, x264FromArgs, x264Options,
} from '../shared.ts';

export const encodeCommand = {
  command: 'encode [input]',
  describe: 'Encode a video to H.264/MP4, spending bits where the machine looks (default: a COCO object detector)',
  builder: (y: Argv) =>
    machineOption(analysisPrecisionOption(jndAqOption(jndOptions(modelOptions(x264Options(y))))))
      .positional('input', {
        type: 'string',
        describe: 'Input video (any format FFmpeg reads), or lavfi:<graph>; omitted: the embedded sample clip',
      })
      .option('output', { alias: 'o', type: 'string', describe: 'Output MP4 path [default: <input>.dmvjnd.mp4]' })
      .option('offsets', { type: 'string', defaultDescription: 'det-scale-interp for a detector machine, jnd for cifar', describe: `Per-MB QP offset source: ${DETECTOR_OFFSET_HELP} | jnd (the machine's own DMV-JND: the detector-trained one for centernet, the CIFAR-trained one for cifar; the paper's rule: the JND sets each MB's QP) | jnd-cifar (the CIFAR-trained DMV-JND whatever the machine) | jnd-centred (the CIFAR one's offsets minus their frame mean) | ${SYNTHETIC_OFFSET_HELP}` })
      .option('verify', { type: 'boolean', default: false, describe: "Decode the result and report the machine's agreement (detection F1 and mAP@0.5, or RCA for cifar) and PSNR against the input" })
      .option('compare', { type: 'boolean', default: false, describe: 'Also encode with plain x264 at the same settings (a temporary file, removed after) and report the video bits the offsets saved; with --verify, the machine\'s agreement on both' })
      .option('report', { type: 'string', describe: 'Also write the JSON report to this file' })
      .option('frames', { type: 'number', describe: 'Encode only the first N frames' })
      .option('analysis-thread', { type: 'string', group: 'JND:', choices: ['worker', 'main'], default: 'worker', describe: 'Run the JND analysis on a worker thread beside decoding and x264 (worker), or in line (main: slower, for comparison)' })
      .example('$0 encode -o sample.mp4 --verify --compare', 'The embedded street sample (a clock, a stop sign, a traffic light): the bits saved against plain x264 at CRF 23, and the detector\'s F1 on both')
      .example('$0 encode clip.mp4 -o clip.dmvjnd.mp4 --verify', 'Detector-guided encode at CRF 23 (small objects 2 QP finer, large ones graded coarser, background 12 coarser), then check the detector still finds the same objects')
      .example('$0 encode clip.mp4 --offsets det-roi@-3,+10 --analysis-stride 4', 'Flat box ROI with other in/out offsets, detector every 4th frame')
      .example('$0 encode cam.mp4 --analysis-max-stride 32', 'A static camera: skip detections while nothing moves, at most 32 frames apart')
      .example('$0 encode clip.mp4 --machine cifar --verify', 'The paper reproduction: CIFAR-trained DMV-JND offsets, RCA of the CIFAR classifiers')
      .example('$0 encode -o sample.mp4 --offsets split:-6,+6', 'Synthetic offsets on the embedded street sample (tests the QP path)'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const text = a.offsets === undefined ? undefined : String(a.offsets);
      const offsets = offsetsFromArg(text);
      const input = inputFromArg(a.input as string | undefined);
      const output = (a.output as string | undefined) ?? defaultOutputFor(a.input as string | undefined);
      const enc = progressLine('encode');
      const ver = progressLine('verify');
      const referenceCache = a.compare ? new ReferenceDecisionCache() : undefined;
      const settings: EncodeOptions = {
        input,
        output,
        offsets,
        machine: String(a.machine),
        x264: x264FromArgs(a as never),
        jnd: jndFromArgs(a as never),
        provider: providerArg(String(a.provider)),
        modelThreads: a['model-threads'] === undefined ? undefined : Number(a['model-threads']),
        modelsDir: String(a.models),
        verify: Boolean(a.verify),
        maxFrames: a.frames === undefined ? undefined : Number(a.frames),
        analysisThread: a['analysis-thread'] === 'main' ? 'main' : 'worker',
        tau: Number(a.tau),
        userClassifiers: userClassifiersFromArgs(a as never),
        referenceCache,
        onProgress: (stage, frames, total) => (stage === 'encode' ? enc : ver).update(frames, total),
        onNote: note,
      };
      const ours = await encode(settings);
      enc.done();
      ver.done();
      const report: EncodeReport & { compare?: PlainComparison } = a.compare ? { ...ours, compare: await encodePlain(settings, ours) } : ours;
      if (a.report) {
        try {
          writeFileSync(String(a.report), `${JSON.stringify(report, null, 1)}\n`);
        } catch (err) {
          throw new DmvjndError('write output', String(a.report), (err as Error).message, { cause: err });
        }
      }
      print(a.json, { ok: true, ...report }, () => describeReport(report));
    } catch (err) {
      fail(err, a.json);
    }
  },
};

/** The same encode with plain x264 (no offsets), for --compare. */
interface PlainComparison {
  offsets: 'none';
  video_bytes: number;
  video_bitrate_kbps: number;
  psnr_y_db: number | null;
  machines: EncodeReport['machines'];
  rca: EncodeReport['rca'];
  /** 1 - our video bytes / plain x264's. */
  video_saving: number;
}

async function encodePlain(settings: EncodeOptions, ours: EncodeReport): Promise<PlainComparison> {
  const output = join(tmpdir(), `dmvjnd-compare-${process.pid}-${randomBytes(4).toString('hex')}.mp4`);
  const remove = removeOnExit(output);
  const enc = progressLine('x264 encode');
  const ver = progressLine('x264 verify');
  try {
    const plain = await encode({
      ...settings,
      output,
      offsets: { kind: 'none' },
      onProgress: (stage, frames, total) => (stage === 'encode' ? enc : ver).update(frames, total),
    });
    enc.done();
    ver.done();
    return {
      offsets: 'none',
      video_bytes: plain.video_bytes,
      video_bitrate_kbps: plain.video_bitrate_kbps,
      psnr_y_db: plain.psnr_y_db,
      machines: plain.machines,
      rca: plain.rca,
      video_saving: plain.video_bytes > 0 ? 1 - ours.video_bytes / plain.video_bytes : 0,
    };
  } finally {
    remove();
  }
}

export function describeReport(r: EncodeReport & { compare?: PlainComparison }): string {
  const lines = [
    `wrote ${r.output}`,
    `  ${r.frames} frames, ${fmt(r.duration, 3)} s, ${r.bytes} bytes, ${fmt(r.bitrate_kbps)} kbit/s (video ${r.video_bytes} bytes, ${fmt(r.video_bitrate_kbps)} kbit/s), audio: ${r.audio}`,
    `  machine: ${r.settings.machine}; offsets: ${r.settings.offsets} (placed by ${r.settings.guided_by})${r.settings.offsets.startsWith('jnd') ? ` (view ${r.settings.jnd.view} px${r.settings.offsets === 'jnd' ? `, gain ${r.settings.jnd.jndGain}` : ''}, analysis stride ${r.settings.jnd.analysisStride}: ${r.analysed_frames} frames analysed, ${r.scene_cuts} scene cuts)` : ''}`,
    `  time: total ${fmt(r.timings_ms.total / 1000, 2)} s (analysis ${fmt(r.timings_ms.analysis / 1000, 2)} s, encoder waited ${fmt(r.timings_ms.analysis_wait / 1000, 2)} s for it, x264 ${fmt(r.timings_ms.encode / 1000, 2)} s, verify ${fmt(r.timings_ms.verify / 1000, 2)} s) on ${r.settings.provider}`,
  ];
  if (r.psnr_y_db !== null) lines.push(`  PSNR-Y ${fmt(r.psnr_y_db, 2)} dB`);
  for (const [name, s] of Object.entries(r.machines ?? {})) if (name !== 'cifar') lines.push(...describeMachineScores(name, s).map((l) => `  ${l}`));
  if (r.rca) {
    lines.push(
      `  RCA (tau ${r.rca.tau}): regional ${pct(r.rca.regional.confident)} confident / ${pct(r.rca.regional.all)} all; global ${pct(r.rca.global.confident)} / ${pct(r.rca.global.all)}`,
      `  held-out ${r.rca.heldout.name ?? 'n/a'}: regional ${pct(r.rca.heldout.regional.confident)} / ${pct(r.rca.heldout.regional.all)}; global ${pct(r.rca.heldout.global.confident)} / ${pct(r.rca.heldout.global.all)}`,
      ...Object.entries(r.rca.user).map(([n, u]) => `  ${n}: global ${pct(u.global.confident)} confident / ${pct(u.global.all)} all`),
    );
  }
  const c = r.compare;
  if (c) {
    const saving = `${c.video_saving >= 0 ? '-' : '+'}${fmt(100 * Math.abs(c.video_saving))}%`;
    lines.push(`  against plain x264 at the same settings: video ${fmt(c.video_bitrate_kbps)} -> ${fmt(r.video_bitrate_kbps)} kbit/s (${saving})`);
    for (const [name, s] of Object.entries(r.machines ?? {})) {
      const p = c.machines?.[name];
      if (name !== 'cifar' && p && 'f1' in p && 'f1' in s) lines.push(`    ${name} F1 ${pct(p.f1 as number)} -> ${pct(s.f1 as number)} (reference: the detector on the input)`);
    }
    if (r.rca && c.rca) lines.push(`    RCA regional confident ${pct(c.rca.regional.confident)} -> ${pct(r.rca.regional.confident)}`);
    if (r.psnr_y_db !== null && c.psnr_y_db !== null) lines.push(`    PSNR-Y ${fmt(c.psnr_y_db, 2)} -> ${fmt(r.psnr_y_db, 2)} dB (what a person would see lose)`);
  }
  return lines.join('\n');
}
