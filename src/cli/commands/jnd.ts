import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { FrameAnalyser } from '../../analysis/analyser.ts';
import { FrameRgbScaler } from '../../analysis/frame-scaler.ts';
import { DmvjndError } from '../../errors.ts';
import { qpOffsetsFromJnd } from '../../jnd/qp-mapping.ts';
import { macroblockGrid } from '../../media/mb-grid.ts';
import { decodeVideo, openInput, type OpenedInput } from '../../media/source.ts';
import type { Frame } from 'node-av/lib';
import { beginAtomicOutput } from '../../util/atomic-output.ts';
import { renderDetectorFigure, renderJndFigure } from '../../visual/jnd-figure.ts';
import { analysisPrecisionOption, fail, fmt, inputFromArg, jndFromArgs, jndOptions, loadModelsFromArgs, machineOption, modelOptions, note, print, providerArg } from '../shared.ts';
import { isDetector, loadMachine, parseMachine } from '../../machines/registry.ts';
import type { DetectorMachine } from '../../machines/detector.ts';
import { DEFAULT_DETECTOR_OFFSETS, DETECTOR_METHODS, DETECTOR_OFFSET_HELP, detectorMap, detectorOffsetName, parseDetectorOffsets, usesDetectorJnd } from '../../offsets/detector-methods.ts';
import { withObjectJndModel } from '../../machines/detector-runner.ts';
import { boxSaliency } from '../../offsets/detector-roi.ts';
import { DEFAULT_GUIDE_SIZE, DETECTOR_JND_GAIN } from '../../pipeline.ts';

export const jndCommand = {
  command: 'jnd [input]',
  describe: "Picture what dmvjnd sees: the detector's boxes, its heatmap and the QP offsets (or, for cifar, the merged CAM and DMV-JND map) side by side (PNG)",
  builder: (y: Argv) =>
    machineOption(analysisPrecisionOption(jndOptions(modelOptions(y))))
      .option('offsets', { type: 'string', default: DEFAULT_DETECTOR_OFFSETS, describe: `Detector machines: which offsets to show: ${DETECTOR_OFFSET_HELP}` })
      .positional('input', { type: 'string', describe: 'An image or video; omitted: the embedded sample clip' })
      .option('output', { alias: 'o', type: 'string', default: 'dmvjnd-jnd.png', describe: 'Output PNG' })
      .option('frame', { type: 'number', default: 0, describe: 'Which frame of a video (0-based)' })
      .option('crf', { type: 'number', default: 23, describe: 'Base QP the offsets are relative to' })
      .example('$0 jnd clip.mp4 --frame 30 -o jnd.png', "Frame 30 of a clip: the COCO detector's boxes and heatmap, and the det-roi QP offsets")
      .example('$0 jnd photo.jpg --offsets det-heat', 'A still, with the continuous heatmap offsets')
      .example('$0 jnd clip.mp4 --machine cifar', 'The paper reproduction: merged CAM of the CIFAR classifiers and the DMV-JND map'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      if (isDetector(parseMachine(String(a.machine)))) return await detectorPicture(a);
      const jnd = jndFromArgs(a as never);
      const models = await loadModelsFromArgs(a, { generator: true, precision: jnd.precision });
      const analyser = new FrameAnalyser(models, jnd.view!);
      const scaler = new FrameRgbScaler();
      const input = await openInput(inputFromArg(a.input as string | undefined));
      const out = beginAtomicOutput(String(a.output));
      try {
        await atFrame(input, Number(a.frame), async (frame, index) => {
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
        });
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

/** `jnd --machine <detector>`: frame with boxes, heatmap and the chosen det-* offsets. */
async function detectorPicture(a: Record<string, unknown> & { json: boolean }): Promise<void> {
  const parsed = parseDetectorOffsets(String(a.offsets));
  if (!parsed) throw new DmvjndError('arguments', undefined, `expected --offsets ${DETECTOR_METHODS.join(', ')} (optionally @in,out) with a detector machine but received "${a.offsets}"`);
  const spec = withObjectJndModel(parsed, String(a.models));
  const jnd = jndFromArgs(a as never);
  const machineSpec = parseMachine(String(a.machine));
  const machine = (await loadMachine(machineSpec, {
    modelsDir: String(a.models),
    provider: providerArg(String(a.provider)),
    threads: a['model-threads'] === undefined ? undefined : Number(a['model-threads']),
    onNote: note,
    detectorSize: machineSpec.kind === 'yolo' ? undefined : DEFAULT_GUIDE_SIZE,
    withJnd: usesDetectorJnd(spec),
  })) as DetectorMachine;
  const scaler = new FrameRgbScaler();
  const input = await openInput(inputFromArg(a.input as string | undefined)).catch(async (err) => {
    await machine.release();
    throw err;
  });
  const out = beginAtomicOutput(String(a.output));
  try {
    await atFrame(input, Number(a.frame), async (frame, index) => {
      const r = await machine.decide(frame);
      const grid = macroblockGrid(frame.width, frame.height);
      const { high, low } = machine.match;
      const offsets = detectorMap(spec, [r], grid, high, 0, {
        baseQp: Number(a.crf), gain: DETECTOR_JND_GAIN, pooling: jnd.pooling!, minOffset: jnd.minOffset!, maxOffset: jnd.maxOffset!,
      });
      const display = { width: 720, height: Math.max(2, Math.round((720 * frame.height) / frame.width / 2) * 2) };
      const png = await renderDetectorFigure({
        frameRgb: { data: await scaler.rgb(frame, display), ...display },
        frameSize: { width: frame.width, height: frame.height },
        detections: r.detections,
        threshold: high,
        low,
        classes: machine.runner.classes,
        heatmap: r.heatmap ?? boxSaliency(r.detections, frame.width, frame.height, { minScore: low }),
        jnd: r.jnd,
        offsets,
        offsetsTitle: `QP offset per macroblock (${detectorOffsetName(spec)})`,
        grid,
        offsetRange: [Math.min(jnd.minOffset!, spec.inside, spec.outside), Math.max(jnd.maxOffset!, spec.inside, spec.outside)],
        title: `${input.label} frame ${index}: ${machine.name} at ${machine.runner.resize.size.width}x${machine.runner.resize.size.height}, ${r.detections.filter((d) => d.score >= high).length} objects >= ${high}; mean offset ${fmt(mean(offsets), 2)} QP`,
      });
      writeFileSync(out.tempPath, png);
      out.commit();
      const objects = r.detections.filter((d) => d.score >= low).map((d) => ({ class: machine.runner.classes[d.cls] ?? String(d.cls), score: d.score, box: d.box }));
      print(a.json, { ok: true, output: out.path, frame: index, machine: machine.name, objects, mean_offset: mean(offsets) }, () =>
        [`wrote ${out.path} (frame ${index}, ${objects.length} detections, mean QP offset ${fmt(mean(offsets), 2)})`, ...objects.map((o) => `  ${o.class} ${o.score.toFixed(2)} at ${[o.box.x1, o.box.y1, o.box.x2, o.box.y2].map((v) => v.toFixed(0)).join(',')}`)].join('\n'),
      );
    });
  } catch (err) {
    out.discard();
    throw err;
  } finally {
    await input.close();
    scaler.close();
    await machine.release();
  }
}

/** Run `use` on the 0-based frame `wanted` of the input (freed after); a missing frame fails with a sentence. */
async function atFrame(input: OpenedInput, wanted: number, use: (frame: Frame, index: number) => Promise<void>): Promise<void> {
  let seen = 0;
  for await (const { frame, index } of decodeVideo(input)) {
    try {
      seen++;
      if (index === wanted) return await use(frame, index);
    } finally {
      frame.free();
    }
  }
  throw new DmvjndError('decode', input.label, `--frame ${wanted} does not exist (the input has ${seen} frames)`);
}
