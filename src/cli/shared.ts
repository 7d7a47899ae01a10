/**
 * What every command shares: option groups, argument parsing helpers, printing and
 * the single error exit.
 */
import { basename, extname } from 'node:path';
import type { Argv } from 'yargs';
import { DmvjndError } from '../errors.ts';
export { fail, print } from './output.ts';
import { DEFAULT_MODELS_DIR, loadModels, type AnalysisPrecision, type ModelSet, type UserClassifierSpec } from '../inference/models.ts';
import { PROVIDERS, type Provider } from '../inference/onnx.ts';
import type { JndPooling } from '../jnd/qp-mapping.ts';
import { sampleClip } from '../media/sample-clip.ts';
import type { InputSpec } from '../media/source.ts';
import { X264_PRESETS, type X264Settings } from '../media/x264-settings.ts';
import { DEFAULT_DETECTOR_STRIDE, DEFAULT_JND, type JndSettings } from '../pipeline.ts';
import { DEFAULT_MACHINE, MACHINE_HELP } from '../machines/registry.ts';

/** --machine: the consumer the video is for (repeatable where `many`). */
export function machineOption<T>(y: Argv<T>, many = false) {
  return y.option('machine', {
    type: 'string',
    group: 'Machine:',
    array: many,
    default: many ? [DEFAULT_MACHINE] : DEFAULT_MACHINE,
    describe: `What consumes the video: ${MACHINE_HELP}${many ? ' (repeatable: one report per machine)' : ''}`,
  });
}

export const fmt = (n: number | null | undefined, d = 1): string => (n !== null && n !== undefined && Number.isFinite(n) ? n.toFixed(d) : 'n/a');
export const pct = (n: number | null | undefined, d = 2): string => (n === null || n === undefined ? 'n/a' : `${(100 * n).toFixed(d)}%`);

/** A path, `lavfi:<graph>` for any FFmpeg synthetic source, or nothing for the sample clip. */
export function inputFromArg(arg: string | undefined): InputSpec | string {
  if (arg === undefined) return sampleClip('street');
  if (arg.startsWith('lavfi:')) return { source: arg.slice(6), lavfi: true, label: arg };
  return arg;
}

export function defaultOutputFor(input: string | undefined, suffix = '.dmvjnd.mp4'): string {
  if (!input || input.startsWith('lavfi:')) return `dmvjnd-sample${suffix}`;
  return `${basename(input, extname(input))}${suffix}`;
}

export function x264Options<T>(y: Argv<T>) {
  return y
    .option('crf', { type: 'number', group: 'x264:', describe: 'Constant rate factor, 0-51, lower = better; 52-69: CRF 51 plus that many QP on every macroblock (for machine consumers) [default: 23]' })
    .option('bitrate', { type: 'number', group: 'x264:', describe: 'Target bitrate in kbit/s (ABR instead of CRF)' })
    .option('preset', { type: 'string', group: 'x264:', default: 'medium', choices: X264_PRESETS as unknown as string[] })
    .option('tune', { type: 'string', group: 'x264:', describe: 'x264 tune (film, animation, ...)' })
    .option('keyint', { type: 'number', group: 'x264:', default: 250, describe: 'Maximum GOP length in frames (1 = all intra)' })
    .option('threads', { type: 'number', group: 'x264:', default: 0, describe: 'x264 threads (0 = auto)' })
    .option('x264-params', { type: 'string', group: 'x264:', describe: 'Extra x264 options, key=value:key=value' })
    .conflicts('bitrate', 'crf');
}

export function x264FromArgs(a: {
  crf?: number; bitrate?: number; preset: string; tune?: string; keyint: number; threads: number; 'x264-params'?: string;
}): Partial<X264Settings> {
  return {
    rateControl: a.bitrate !== undefined ? { mode: 'bitrate', kbps: a.bitrate } : { mode: 'crf', crf: a.crf ?? 23 },
    preset: a.preset as X264Settings['preset'],
    tune: a.tune,
    keyint: a.keyint,
    threads: a.threads,
    x264Params: a['x264-params'],
  };
}

export function modelOptions<T>(y: Argv<T>) {
  return y
    .option('models', { type: 'string', group: 'Models:', default: DEFAULT_MODELS_DIR, defaultDescription: 'models/ of this package', describe: 'Folder with the ONNX models and model-card.json' })
    .option('provider', { type: 'string', group: 'Models:', default: 'auto', choices: PROVIDERS as unknown as string[], describe: 'ONNX Runtime device: auto tries CUDA, then CPU' })
    .option('model-threads', { type: 'number', group: 'Models:', describe: 'ONNX Runtime threads [default: half the cores]' })
    .option('view', { type: 'number', group: 'Models:', default: DEFAULT_JND.view, describe: 'Short side of the machine view in pixels (what the classifiers see)' })
    .option('tau', { type: 'number', group: 'Models:', default: 0.5, describe: 'Confidence threshold for "confident" decisions in RCA' })
    .option('classifier', { type: 'string', array: true, group: 'Models:', describe: 'Extra ONNX image classifier to verify with (repeatable)' })
    .option('classifier-input', { type: 'number', group: 'Models:', describe: 'Its square input size [default: from the model, else 224]' })
    .option('classifier-mean', { type: 'string', group: 'Models:', describe: 'Its per-channel mean on [0,1] RGB, e.g. 0.485,0.456,0.406 (ImageNet, the default)' })
    .option('classifier-std', { type: 'string', group: 'Models:', describe: 'Its per-channel std, e.g. 0.229,0.224,0.225 (ImageNet, the default)' });
}

function triple(text: string | undefined, what: string): [number, number, number] | undefined {
  if (text === undefined) return undefined;
  const v = text.split(',').map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) {
    throw new DmvjndError('arguments', undefined, `expected three comma-separated numbers for ${what} but received "${text}"`);
  }
  return v as [number, number, number];
}

export function userClassifiersFromArgs(a: {
  classifier?: string[]; 'classifier-input'?: number; 'classifier-mean'?: string; 'classifier-std'?: string;
}): UserClassifierSpec[] {
  const mean = triple(a['classifier-mean'], '--classifier-mean');
  const std = triple(a['classifier-std'], '--classifier-std');
  return (a.classifier ?? []).map((path) => ({ path, inputSize: a['classifier-input'], mean, std }));
}

export function jndOptions<T>(y: Argv<T>) {
  return y
    .option('jnd-gain', { type: 'number', group: 'JND:', default: DEFAULT_JND.jndGain, describe: 'Multiplier on the JND before the 2 x JND rule (larger = coarser)' })
    .option('pooling', { type: 'string', group: 'JND:', default: 'mean', describe: 'JND pooling per macroblock: mean | min | max | p<N> (percentile)' })
    .option('offset-range', { type: 'string', group: 'JND:', default: `${DEFAULT_JND.minOffset},${DEFAULT_JND.maxOffset}`, describe: 'Clamp QP offsets to min,max' })
    .option('analysis-stride', { type: 'number', group: 'JND:', defaultDescription: `${DEFAULT_DETECTOR_STRIDE} for detector offsets, ${DEFAULT_JND.analysisStride} for the CIFAR JND`, describe: 'Analyse every Nth frame (the detector, or the JND), reuse or move its result between (the JND is refreshed on scene cuts)' })
    .option('analysis-max-stride', { type: 'number', group: 'JND:', default: DEFAULT_JND.analysisMaxStride, describe: 'Detector offsets: while nothing moves (no block of a 64x36 luma thumbnail changed since the last analysis), skip analyses until they are this many frames apart (0: never skip; for static cameras, e.g. 32)' });
}

/** The commands that encode with JND offsets (encode, bench, search). */
export function jndAqOption<T>(y: Argv<T>) {
  return y.option('jnd-aq-strength', {
    type: 'number',
    group: 'JND:',
    default: DEFAULT_JND.aqStrength,
    describe: "x264's own variance AQ strength when the JND offsets are applied (1 = x264's default; plain x264 always keeps 1). Weaker AQ lets the read-back QP follow the JND",
  });
}

/** Encode and jnd only: benchmarks share one float model set between methods. */
export function analysisPrecisionOption<T>(y: Argv<T>) {
  return y.option('analysis-precision', {
    type: 'string',
    group: 'JND:',
    choices: ['float32', 'int8'],
    default: DEFAULT_JND.precision,
    describe: 'Precision of the JND analysis models: int8 uses models/int8/ (npm run quantize), faster on CPUs with int8 dot products (agreement with float32: models/int8/README.md); RCA always uses the float classifiers',
  });
}

export function parsePooling(text: string): JndPooling {
  if (text === 'mean' || text === 'min' || text === 'max') return text;
  const m = /^p(\d+(?:\.\d+)?)$/.exec(text);
  if (m && Number(m[1]) <= 100) return { percentile: Number(m[1]) };
  throw new DmvjndError('arguments', undefined, `expected --pooling to be mean, min, max or p<0-100> but received "${text}"`);
}

export function jndFromArgs(a: { view: number; 'jnd-gain': number; pooling: string; 'offset-range': string; 'analysis-stride'?: number; 'analysis-max-stride'?: number; 'analysis-precision'?: string; 'jnd-aq-strength'?: number }): Partial<JndSettings> {
  const range = a['offset-range'].split(',').map(Number);
  if (range.length !== 2 || range.some((v) => !Number.isFinite(v))) {
    throw new DmvjndError('arguments', undefined, `expected --offset-range as min,max but received "${a['offset-range']}"`);
  }
  return {
    view: a.view,
    jndGain: a['jnd-gain'],
    pooling: parsePooling(a.pooling),
    minOffset: range[0],
    maxOffset: range[1],
    ...(a['analysis-stride'] === undefined ? {} : { analysisStride: a['analysis-stride'] }),
    ...(a['analysis-max-stride'] === undefined ? {} : { analysisMaxStride: a['analysis-max-stride'] }),
    ...(a['analysis-precision'] === undefined ? {} : { precision: a['analysis-precision'] as AnalysisPrecision }),
    ...(a['jnd-aq-strength'] === undefined ? {} : { aqStrength: a['jnd-aq-strength'] }),
  };
}

/** Load the model set the Models: options describe (once per command run). */
export function loadModelsFromArgs(a: Record<string, unknown>, opts: { generator: boolean; precision?: AnalysisPrecision }): Promise<ModelSet> {
  const int8 = opts.precision === 'int8';
  return loadModels({
    dir: String(a.models),
    provider: providerArg(String(a.provider)),
    threads: a['model-threads'] === undefined ? undefined : Number(a['model-threads']),
    generator: opts.generator,
    // int8: an analysis-only set (the jnd picture); decisions need the float classifiers.
    ...(int8 ? { heldout: false, precision: 'int8' as const } : { userClassifiers: userClassifiersFromArgs(a as never) }),
    onNote: note,
  });
}

export function providerArg(p: string): Provider {
  return p as Provider;
}

/** One line per note on stderr (CUDA fallback and the like). */
export const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
