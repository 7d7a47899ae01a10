import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { FrameAnalyser } from '../../analysis/analyser.ts';
import { FrameRgbScaler } from '../../analysis/frame-scaler.ts';
import { DmvjndError } from '../../errors.ts';
import { qpOffsetsFromJnd } from '../../jnd/qp-mapping.ts';
import { macroblockGrid } from '../../media/mb-grid.ts';
import { decodeVideo, openInput } from '../../media/source.ts';
import { beginAtomicOutput } from '../../util/atomic-output.ts';
import { renderJndFigure } from '../../visual/jnd-figure.ts';
import { analysisPrecisionOption, fail, fmt, inputFromArg, jndFromArgs, jndOptions, loadModelsFromArgs, modelOptions, print } from '../shared.ts';

export const jndCommand = {
  command: 'jnd [input]',
  describe: 'Picture what dmvjnd sees: frame, merged CAM, DMV-JND map and QP offsets side by side (PNG)',
  builder: (y: Argv) =>
    analysisPrecisionOption(jndOptions(modelOptions(y)))
      .positional('input', { type: 'string', describe: 'An image or video; omitted: the embedded sample clip' })
      .option('output', { alias: 'o', type: 'string', default: 'dmvjnd-jnd.png', describe: 'Output PNG' })
      .option('frame', { type: 'number', default: 0, describe: 'Which frame of a video (0-based)' })
      .option('crf', { type: 'number', default: 23, describe: 'Base QP the offsets are relative to' })
      .example('$0 jnd clip.mp4 --frame 30 -o jnd.png', 'Frame 30 of a clip'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const jnd = jndFromArgs(a as never);
      const models = await loadModelsFromArgs(a, { generator: true, precision: jnd.precision });
      const analyser = new FrameAnalyser(models, jnd.view!);
      const scaler = new FrameRgbScaler();
      const input = await openInput(inputFromArg(a.input as string | undefined));
      const out = beginAtomicOutput(String(a.output));
      try {
        const wanted = Number(a.frame);
        let seen = 0;
        for await (const { frame, index } of decodeVideo(input)) {
          try {
            seen++;
            if (index !== wanted) continue;
            const r = await analyser.jnd(frame);
            const grid = macroblockGrid(frame.width, frame.height);
            const range: [number, number] = [jnd.minOffset!, jnd.maxOffset!];
            const offsets = qpOffsetsFromJnd(r.jnd, r.view, grid, {
              baseQp: Number(a.crf), gain: jnd.jndGain, pooling: jnd.pooling, minOffset: range[0], maxOffset: range[1],
            });
            const display = { width: 720, height: Math.max(2, Math.round((720 * frame.height) / frame.width / 2) * 2) };
            const png = await renderJndFigure({
              frameRgb: { data: await scaler.rgb(frame, display), ...display },
              view: r.view,
              mergedCam: r.mergedCam,
              jnd: r.jnd,
              offsets,
              grid,
              offsetRange: range,
              title: `${input.label} frame ${index}, view ${r.view.width}x${r.view.height}, CRF ${a.crf}, gain ${jnd.jndGain}, mean offset ${fmt(mean(offsets), 2)} QP`,
            });
            writeFileSync(out.tempPath, png);
            out.commit();
            print(a.json, { ok: true, output: out.path, frame: index, view: r.view, mean_offset: mean(offsets), mean_jnd: mean(r.jnd) }, () => `wrote ${out.path} (frame ${index}, mean JND ${fmt(mean(r.jnd), 2)}, mean QP offset ${fmt(mean(offsets), 2)})`);
            break;
          } finally {
            frame.free();
          }
        }
        if (seen <= wanted) throw new DmvjndError('decode', input.label, `--frame ${wanted} does not exist (the input has ${seen} frames)`);
      } catch (err) {
        out.discard();
        throw err;
      } finally {
        await input.close();
        analyser.close();
        scaler.close();
        await models.release();
      }
    } catch (err) {
      fail(err, a.json);
    }
  },
};

function mean(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x;
  return v.length ? s / v.length : 0;
}
