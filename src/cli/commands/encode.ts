import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { DmvjndError } from '../../errors.ts';
import { encode, type EncodeReport } from '../../pipeline.ts';
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
      .option('offsets', { type: 'string', defaultDescription: 'det-scale for a detector machine, jnd for cifar', describe: `Per-MB QP offset source: ${DETECTOR_OFFSET_HELP} | jnd (the machine's own DMV-JND: the detector-trained one for centernet, the CIFAR-trained one for cifar; the paper's rule: the JND sets each MB's QP) | jnd-cifar (the CIFAR-trained DMV-JND whatever the machine) | jnd-centred (the CIFAR one's offsets minus their frame mean) | ${SYNTHETIC_OFFSET_HELP}` })
      .option('verify', { type: 'boolean', default: false, describe: "Decode the result and report the machine's agreement (detection F1 and mAP@0.5, or RCA for cifar) and PSNR against the input" })
      .option('report', { type: 'string', describe: 'Also write the JSON report to this file' })
      .option('frames', { type: 'number', describe: 'Encode only the first N frames' })
      .option('analysis-thread', { type: 'string', group: 'JND:', choices: ['worker', 'main'], default: 'worker', describe: 'Run the JND analysis on a worker thread beside decoding and x264 (worker), or in line (main: slower, for comparison)' })
      .example('$0 encode clip.mp4 -o clip.dmvjnd.mp4 --verify', 'Detector-guided encode at CRF 23 (small objects 2 QP finer, large ones graded coarser, background 12 coarser), then check the detector still finds the same objects')
      .example('$0 encode clip.mp4 --offsets det-roi@-3,+10 --analysis-stride 4', 'Flat box ROI with other in/out offsets, detector every 4th frame')
      .example('$0 encode cam.mp4 --analysis-max-stride 32', 'A static camera: skip detections while nothing moves, at most 32 frames apart')
      .example('$0 encode clip.mp4 --machine cifar --verify', 'The paper reproduction: CIFAR-trained DMV-JND offsets, RCA of the CIFAR classifiers')
      .example('$0 encode -o sample.mp4 --offsets split:-6,+6', 'Synthetic offsets on the embedded sample (tests the QP path)'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const text = a.offsets === undefined ? undefined : String(a.offsets);
      const offsets = offsetsFromArg(text);
      const input = inputFromArg(a.input as string | undefined);
      const output = (a.output as string | undefined) ?? defaultOutputFor(a.input as string | undefined);
      const enc = progressLine('encode');
      const ver = progressLine('verify');
      const report = await encode({
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
        onProgress: (stage, frames, total) => (stage === 'encode' ? enc : ver).update(frames, total),
        onNote: note,
      });
      enc.done();
      ver.done();
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

export function describeReport(r: EncodeReport): string {
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
  return lines.join('\n');
}
