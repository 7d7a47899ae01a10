import type { Argv } from 'yargs';
import { verifyVideos } from '../../analysis/verify.ts';
import { progressLine } from '../progress.ts';
import { fail, fmt, loadModelsFromArgs, modelOptions, pct, print } from '../shared.ts';

export const verifyCommand = {
  command: 'verify <reference> <encoded>',
  describe: 'Do the classifiers decide the same on the encoded video? (RCA, PSNR, bitrate)',
  builder: (y: Argv) =>
    modelOptions(y)
      .positional('reference', { type: 'string', demandOption: true, describe: 'The original video' })
      .positional('encoded', { type: 'string', demandOption: true, describe: 'The encoded video' })
      .example('$0 verify clip.mp4 clip.dmvjnd.mp4', 'RCA of the four classifiers and the held-out one')
      .example('$0 verify a.mp4 b.mp4 --classifier resnet50.onnx --json', 'Add your own ImageNet classifier (ImageNet normalisation, 224 px)'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const models = await loadModelsFromArgs(a, { generator: false });
      const progress = progressLine('verify');
      try {
        const r = await verifyVideos({
          reference: String(a.reference),
          encoded: String(a.encoded),
          models,
          view: Number(a.view),
          tau: Number(a.tau),
          onProgress: (f) => progress.update(f, undefined),
        });
        progress.done();
        print(a.json, { ok: true, ...r }, () =>
          [
            `${r.encoded} vs ${r.reference}: ${r.frames} frames, ${r.bytes} bytes, ${fmt(r.bitrate_kbps)} kbit/s, PSNR-Y ${fmt(r.psnr_y_db, 2)} dB`,
            `view ${r.rca.view.width}x${r.rca.view.height} (${r.rca.view.windows} regional windows), tau ${r.rca.tau}`,
            `RCA regional: ${pct(r.rca.regional.confident)} confident (${r.rca.regional.decisions.confident} decisions), ${pct(r.rca.regional.all)} all (${r.rca.regional.decisions.all})`,
            `RCA global:   ${pct(r.rca.global.confident)} confident, ${pct(r.rca.global.all)} all`,
            ...Object.keys(r.rca.regional.per_classifier.all).map(
              (n) => `  ${n.padEnd(10)} regional ${pct(r.rca.regional.per_classifier.confident[n])} / ${pct(r.rca.regional.per_classifier.all[n])}   global ${pct(r.rca.global.per_classifier.confident[n])} / ${pct(r.rca.global.per_classifier.all[n])}`,
            ),
            `held-out ${r.rca.heldout.name ?? 'n/a'}: regional ${pct(r.rca.heldout.regional.confident)} / ${pct(r.rca.heldout.regional.all)}, global ${pct(r.rca.heldout.global.confident)} / ${pct(r.rca.heldout.global.all)}`,
            ...Object.entries(r.rca.user).map(([n, u]) => `${n}: global ${pct(u.global.confident)} confident / ${pct(u.global.all)} all`),
          ].join('\n'),
        );
      } finally {
        await models.release();
      }
    } catch (err) {
      fail(err, a.json);
    }
  },
};
