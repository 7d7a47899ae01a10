import type { Argv } from 'yargs';
import { DEFAULT_DETECTOR_SEARCH_METHODS, DEFAULT_SEARCH_CACHE, DETECTOR_SEARCH_KINDS, SEARCH_KINDS, searchTarget, type SearchEvent, type SearchKind } from '../../bench/search.ts';
import type { DetectorMachine } from '../../machines/detector.ts';
import { splitMethodList } from '../../bench/detector-bench.ts';
import type { Machine } from '../../machines/machine.ts';
import { isDetector, loadMachine, parseMachine } from '../../machines/registry.ts';
import type { ModelSet } from '../../inference/models.ts';
import { DEFAULT_GUIDE_SIZE } from '../../pipeline.ts';
import { DmvjndError } from '../../errors.ts';
import { progressLine, type ProgressLine } from '../progress.ts';
import { defaultOutputFor, fail, inputFromArg, jndAqOption, jndFromArgs, jndOptions, loadModelsFromArgs, machineOption, modelOptions, note, print, providerArg } from '../shared.ts';
import { describeReport } from './encode.ts';
import { numberList, x264GridFromArgs, x264GridOptions } from './bench.ts';

export const searchCommand = {
  command: 'search <input>',
  describe: "Find the cheapest setting whose machine agreement (detection F1, or RCA for cifar) meets a target on sampled segments",
  builder: (y: Argv) =>
    machineOption(jndAqOption(jndOptions(modelOptions(x264GridOptions(y)))))
      .positional('input', { type: 'string', demandOption: true, describe: 'Input video (or lavfi:<graph>)' })
      .option('min-f1', { type: 'number', describe: 'Detector machines: target detection F1 against the source on every sample, in (0, 1] [default: 0.95]' })
      .option('min-map50', { type: 'number', describe: 'Detector machines: target mAP@0.5 instead of F1, in (0, 1]' })
      .option('methods', { type: 'string', default: DEFAULT_DETECTOR_SEARCH_METHODS.join(','), describe: 'Detector machines: the detector-guided methods to search beside plain x264 (det-scale[@in,out[,slope]], det-roi[@in,out], det-heat[@in,out], ...)' })
      .option('min-rca', { type: 'number', default: 0.99, describe: 'cifar: target RCA (fraction) every sample must reach' })
      .option('kind', { type: 'string', choices: [...SEARCH_KINDS, ...DETECTOR_SEARCH_KINDS] as unknown as string[], describe: 'cifar: which RCA the target applies to [default: regional-confident]' })
      .option('samples', { type: 'number', default: 4, describe: 'Number of sampled segments' })
      .option('sample-frames', { type: 'number', default: 24, describe: 'Frames per sampled segment' })
      .option('gains', { type: 'string', default: '0.15,0.25,0.5', describe: 'JND gains to search (plain x264 is always searched for comparison)' })
      .option('crf-range', { type: 'string', describe: 'Lowest and highest CRF to consider (above 51: CRF 51 plus that many QP on every macroblock) [default: 18,63 for a detector, 12,51 for cifar]' })
      .option('encode', { type: 'boolean', default: false, describe: 'Encode the whole clip with the winning setting' })
      .option('output', { alias: 'o', type: 'string', describe: 'Output MP4 for --encode [default: <input>.dmvjnd.mp4]' })
      .option('verify', { type: 'boolean', default: false, describe: 'With --encode: verify the whole encode too' })
      .option('cache-dir', { type: 'string', default: DEFAULT_SEARCH_CACHE, describe: 'Where sample results are cached' })
      .option('cache', { type: 'boolean', default: true, describe: 'Read and write the sample cache (--no-cache: neither)' })
      .example('$0 search clip.mp4 --min-f1 0.95', 'Cheapest CRF (plain x264 or det-roi) keeping detection F1 >= 95% of the COCO detector on the source')
      .example('$0 search clip.mp4 --min-f1 0.9 --encode -o out.mp4', 'Search, then encode the whole clip with the winner')
      .example('$0 search clip.mp4 --machine cifar --min-rca 0.99', 'The paper reproduction: cheapest setting keeping 99% of confident regional CIFAR decisions'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const detectorMachine = isDetector(parseMachine(String(a.machine)));
      const range = numberList(a['crf-range'] === undefined ? (detectorMachine ? '18,63' : '12,51') : String(a['crf-range']), '--crf-range');
      if (range.length !== 2) throw new DmvjndError('arguments', undefined, `expected --crf-range as lo,hi but received "${a['crf-range']}"`);
      const gains = numberList(String(a.gains), '--gains');
      const input = inputFromArg(a.input as string);
      const output = a.encode ? ((a.output as string | undefined) ?? defaultOutputFor(a.input as string)) : undefined;
      if (a.output !== undefined && !a.encode) throw new DmvjndError('arguments', undefined, '-o/--output needs --encode');
      const spec = parseMachine(String(a.machine));
      const detector = isDetector(spec);
      if (!detector && spec.kind !== 'cifar') throw new DmvjndError('arguments', undefined, `expected --machine to be a detector or cifar for search but received ${spec.name}`);
      if (!detector && (a['min-f1'] !== undefined || a['min-map50'] !== undefined)) throw new DmvjndError('arguments', undefined, '--min-f1 and --min-map50 need a detector machine (use --min-rca with --machine cifar)');
      if (a['min-f1'] !== undefined && a['min-map50'] !== undefined) throw new DmvjndError('arguments', undefined, 'give --min-f1 or --min-map50, not both');
      const kind = (detector ? (a['min-map50'] !== undefined ? 'map50' : 'f1') : (a.kind ?? 'regional-confident')) as SearchKind;
      const target = detector ? Number(a['min-map50'] ?? a['min-f1'] ?? 0.95) : Number(a['min-rca']);
      if (!(target > 0 && target <= 1)) {
        const flag = detector ? (a['min-map50'] !== undefined ? '--min-map50' : '--min-f1') : '--min-rca';
        throw new DmvjndError('arguments', undefined, `expected ${flag} in (0, 1] but received ${target}`);
      }
      const common = { modelsDir: String(a.models), provider: providerArg(String(a.provider)), threads: a['model-threads'] === undefined ? undefined : Number(a['model-threads']), onNote: note };
      let models: ModelSet | undefined;
      let machine: Machine | undefined;
      let guide: DetectorMachine | undefined;
      if (detector) {
        machine = await loadMachine(spec, common);
        guide = (await loadMachine(spec, { ...common, detectorSize: spec.kind === 'yolo' ? undefined : DEFAULT_GUIDE_SIZE })) as DetectorMachine;
      } else {
        models = await loadModelsFromArgs(a, { generator: true });
      }
      let bar: ProgressLine | undefined;
      let label = '';
      const tty = Boolean(process.stderr.isTTY);
      const onEvent = (e: SearchEvent): void => {
        switch (e.type) {
          case 'segments':
            if (!a.json) process.stderr.write(`sampling ${e.samples.length} segment(s) of ${e.samples[0].frames} frames from ${e.clip_frames}: starts ${e.samples.map((s) => s.start).join(', ')}\n`);
            break;
          case 'evaluate':
            bar?.done();
            label = `${e.method} CRF ${e.crf} sample ${e.sample + 1}/${e.samples}${e.cached ? ' (cached)' : ''}`;
            bar = progressLine(label);
            break;
          case 'progress':
            bar?.update(e.frames, e.total, e.stage);
            break;
          case 'evaluated':
            bar?.done();
            bar = undefined;
            if (!a.json || tty) {
              const v = e.evaluation;
              process.stderr.write(`${e.method} CRF ${v.crf}: lowest sample ${detector ? kind : 'RCA'} ${v.rca_min === null ? 'n/a' : `${(100 * v.rca_min).toFixed(2)}%`}, ${v.kbps.toFixed(1)} kbit/s -> ${v.meets ? 'meets' : 'fails'}\n`);
            }
            break;
          case 'final-encode':
            bar?.done();
            bar = progressLine(`encode ${e.method} CRF ${e.crf}`);
            break;
        }
      };
      try {
        const r = await searchTarget(
          {
            input,
            minRca: target,
            kind,
            machine,
            guide,
            methods: splitMethodList(String(a.methods)),
            samples: Number(a.samples),
            sampleFrames: Number(a['sample-frames']),
            gains,
            crfRange: [range[0], range[1]],
            models,
            x264: x264GridFromArgs(a),
            jnd: jndFromArgs(a as never),
            tau: Number(a.tau),
            cacheDir: a.cache === false ? null : String(a['cache-dir']),
            encode: output ? { output, verify: Boolean(a.verify) } : undefined,
          },
          onEvent,
        );
        bar?.done();
        print(a.json, { ok: true, ...r }, () => [r.message, ...(r.encode ? [describeReport(r.encode)] : [])].join('\n'));
      } finally {
        bar?.done();
        await models?.release();
        await machine?.release();
        await guide?.release();
      }
    } catch (err) {
      fail(err, a.json);
    }
  },
};
