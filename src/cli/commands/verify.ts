import type { Argv } from 'yargs';
import { verifyVideos, type VerifyReport } from '../../analysis/verify.ts';
import type { ModelSet } from '../../inference/models.ts';
import type { Machine, MachineScores } from '../../machines/machine.ts';
import { loadMachine, parseMachine } from '../../machines/registry.ts';
import { progressLine } from '../progress.ts';
import { fail, fmt, loadModelsFromArgs, machineOption, modelOptions, note, pct, print, providerArg } from '../shared.ts';

export const verifyCommand = {
  command: 'verify <reference> <encoded>',
  describe: 'Does the machine decide the same on the encoded video? (detection F1 and mAP@0.5, or RCA; PSNR, bitrate)',
  builder: (y: Argv) =>
    machineOption(modelOptions(y), true)
      .positional('reference', { type: 'string', demandOption: true, describe: 'The original video' })
      .positional('encoded', { type: 'string', demandOption: true, describe: 'The encoded video' })
      .example('$0 verify clip.mp4 clip.dmvjnd.mp4', 'Detection agreement of the COCO detector (centernet): F1, precision, recall, mAP@0.5')
      .example('$0 verify clip.mp4 clip.dmvjnd.mp4 --machine centernet --machine nanodet', 'Also ask the held-out detector')
      .example('$0 verify clip.mp4 clip.dmvjnd.mp4 --machine cifar', 'The paper reproduction: RCA of the four CIFAR classifiers and the held-out one')
      .example('$0 verify a.mp4 b.mp4 --machine yolo:yolov8n.onnx --json', 'Your own Ultralytics YOLO export'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const names = [...new Set((a.machine as string[]).map((n) => parseMachine(n).name))];
      const wantCifar = names.includes('cifar') || ((a.classifier as string[] | undefined)?.length ?? 0) > 0;
      let models: ModelSet | undefined;
      const machines: Machine[] = [];
      try {
        if (wantCifar) models = await loadModelsFromArgs(a, { generator: false });
        for (const n of names.filter((x) => x !== 'cifar')) {
          machines.push(
            await loadMachine(n, {
              modelsDir: String(a.models),
              provider: providerArg(String(a.provider)),
              threads: a['model-threads'] === undefined ? undefined : Number(a['model-threads']),
              onNote: note,
              tau: Number(a.tau),
              view: Number(a.view),
            }),
          );
        }
        const progress = progressLine('verify');
        const r = await verifyVideos({
          reference: String(a.reference),
          encoded: String(a.encoded),
          models,
          machines,
          view: Number(a.view),
          tau: Number(a.tau),
          onProgress: (f) => progress.update(f, undefined),
        });
        progress.done();
        print(a.json, { ok: true, ...r }, () => describeVerify(r));
      } finally {
        for (const m of machines) await m.release();
        await models?.release();
      }
    } catch (err) {
      fail(err, a.json);
    }
  },
};

/** One block per machine: detection agreement, top-1 agreement or RCA. */
export function describeMachineScores(name: string, s: MachineScores): string[] {
  if (typeof s.f1 === 'number' || s.f1 === null) {
    const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : null);
    return [
      `${name}: F1 ${pct(num('f1'))} (precision ${pct(num('precision'))}, recall ${pct(num('recall'))}), mAP@0.5 ${pct(num('map50'))} (instance-weighted ${pct(num('map50_weighted'))}), class agreement ${pct(num('class_agreement'))}`,
      `  ${s.reference_objects} reference objects (${fmt(num('reference_objects_per_frame'), 2)} per frame), TP ${s.tp}, FP ${s.fp}, FN ${s.fn}`,
    ];
  }
  if ('top1_agreement' in s) return [`${name}: top-1 agreement ${pct(s.top1_agreement as number | null)} (${pct(s.top1_agreement_confident as number | null)} on confident frames, tau ${s.tau})`];
  return [];
}

export function describeVerify(r: VerifyReport): string {
  const lines = [`${r.encoded} vs ${r.reference}: ${r.frames} frames, ${r.bytes} bytes, ${fmt(r.bitrate_kbps)} kbit/s, PSNR-Y ${r.psnr_y_db === Infinity ? "inf (identical)" : `${fmt(r.psnr_y_db, 2)} dB`}`];
  for (const [name, s] of Object.entries(r.machines)) if (name !== 'cifar') lines.push(...describeMachineScores(name, s));
  const rca = r.rca;
  if (rca) {
    lines.push(
      `cifar: view ${rca.view.width}x${rca.view.height} (${rca.view.windows} regional windows), tau ${rca.tau}`,
      `RCA regional: ${pct(rca.regional.confident)} confident (${rca.regional.decisions.confident} decisions), ${pct(rca.regional.all)} all (${rca.regional.decisions.all})`,
      `RCA global:   ${pct(rca.global.confident)} confident, ${pct(rca.global.all)} all`,
      ...Object.keys(rca.regional.per_classifier.all).map(
        (n) => `  ${n.padEnd(10)} regional ${pct(rca.regional.per_classifier.confident[n])} / ${pct(rca.regional.per_classifier.all[n])}   global ${pct(rca.global.per_classifier.confident[n])} / ${pct(rca.global.per_classifier.all[n])}`,
      ),
      `held-out ${rca.heldout.name ?? 'n/a'}: regional ${pct(rca.heldout.regional.confident)} / ${pct(rca.heldout.regional.all)}, global ${pct(rca.heldout.global.confident)} / ${pct(rca.heldout.global.all)}`,
      ...Object.entries(rca.user).map(([n, u]) => `${n}: global ${pct(u.global.confident)} confident / ${pct(u.global.all)} all`),
    );
  }
  return lines.join('\n');
}
