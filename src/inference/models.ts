/**
 * The model set the runtime needs, loaded once per run from a models folder laid
 * out by `npm run export` (see models/README.md for each file's contract):
 *   alexnet, vgg, resnet, densenet .onnx  the four classifiers whose CAMs and decisions
 *                                         the JND is trained against
 *   mobilenet.onnx                        the held-out classifier (never seen in training)
 *   jnd_generator.onnx                    DMV-JND-NET E-D: (x, merged CAM) -> (x_hat, e)
 * plus any user classifiers ("bring your own") for verification.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DmvjndError } from '../errors.ts';
import { loadSession, type LoadedSession, type Provider } from './onnx.ts';

export const JND_CLASSIFIERS = ['alexnet', 'vgg', 'resnet', 'densenet'] as const;
export const HELDOUT_CLASSIFIER = 'mobilenet';
export const GENERATOR = 'jnd_generator';
/** The generator's total stride: view sizes are multiples of it. */
export const GENERATOR_STRIDE = 8;

/**
 * Numeric precision of the JND analysis models. 'int8': statically quantised copies of the
 * four classifiers and the generator in `<models>/int8/` (`npm run quantize`), ~2x faster
 * on CPUs with int8 dot-product instructions; for the analysis only: the classifiers'
 * decisions that RCA compares always come from the float models.
 */
export type AnalysisPrecision = 'float32' | 'int8';
export const ANALYSIS_PRECISIONS: readonly AnalysisPrecision[] = ['float32', 'int8'];
export const INT8_SUBDIR = 'int8';

export const DEFAULT_MODELS_DIR = process.env.DMVJND_MODELS ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

export interface InputNormalisation {
  /** Per-channel mean and std on [0,1] RGB: x = (pixel/255 - mean) / std. */
  mean: [number, number, number];
  std: [number, number, number];
}

/** Our CIFAR models: x = pixel/127.5 - 1. */
export const CIFAR_NORMALISATION: InputNormalisation = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

export interface ClassifierModel {
  name: string;
  role: 'jnd' | 'heldout' | 'user';
  loaded: LoadedSession;
  inputName: string;
  logitsName: string;
  camName: string | undefined;
  normalisation: InputNormalisation;
  /** Fixed square input size for user models (the view is resized to it); undefined: fully convolutional. */
  inputSize: number | undefined;
}

export interface UserClassifierSpec {
  path: string;
  inputSize?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
}

export interface ModelSet {
  dir: string;
  /** Precision of the JND classifiers and generator (see AnalysisPrecision). */
  precision: AnalysisPrecision;
  provider: 'cpu' | 'cuda';
  jnd: ClassifierModel[];
  heldout: ClassifierModel | undefined;
  user: ClassifierModel[];
  generator: LoadedSession | undefined;
  release(): Promise<void>;
}

export interface LoadModelsOptions {
  dir?: string;
  provider?: Provider;
  threads?: number;
  /** Load the generator too (needed for JND analysis, not for verification). */
  generator?: boolean;
  /** Load the held-out classifier when present (default true; JND analysis does not use it). */
  heldout?: boolean;
  userClassifiers?: UserClassifierSpec[];
  onNote?: (line: string) => void;
  /**
   * 'int8' loads the JND classifiers and the generator from `<dir>/int8/`: an analysis-only
   * set (no held-out or user classifiers, whose decisions must come from float models).
   */
  precision?: AnalysisPrecision;
}

export async function loadModels(opts: LoadModelsOptions = {}): Promise<ModelSet> {
  const dir = resolve(opts.dir ?? DEFAULT_MODELS_DIR);
  if (!existsSync(dir)) throw new DmvjndError('load model', dir, 'models folder not found');
  const provider = opts.provider ?? 'auto';
  const common = { provider, threads: opts.threads, onNote: opts.onNote };
  const int8 = opts.precision === 'int8';
  if (int8 && (opts.heldout !== false || (opts.userClassifiers?.length ?? 0) > 0)) {
    throw new Error('loadModels: an int8 model set is for the JND analysis only (pass heldout: false and no user classifiers)');
  }
  // The JND classifiers and the generator: float from `dir`, or int8 from `dir/int8`.
  const analysisFile = (name: string) =>
    int8
      ? { path: join(dir, INT8_SUBDIR, `${name}.onnx`), missingReason: 'int8 model file not found (run `npm run quantize`, or use --analysis-precision float32)' }
      : { path: join(dir, `${name}.onnx`) };
  const cifar = async (name: string, role: 'jnd' | 'heldout'): Promise<ClassifierModel> => ({
    name,
    role,
    loaded: await loadSession({ ...(role === 'jnd' ? analysisFile(name) : { path: join(dir, `${name}.onnx`) }), inputs: ['x'], outputs: ['logits', 'cam'] }, common),
    inputName: 'x',
    logitsName: 'logits',
    camName: 'cam',
    normalisation: CIFAR_NORMALISATION,
    inputSize: undefined,
  });
  const jnd: ClassifierModel[] = [];
  for (const name of JND_CLASSIFIERS) jnd.push(await cifar(name, 'jnd'));
  const heldoutPath = join(dir, `${HELDOUT_CLASSIFIER}.onnx`);
  const heldout = opts.heldout !== false && existsSync(heldoutPath) ? await cifar(HELDOUT_CLASSIFIER, 'heldout') : undefined;
  const generator =
    opts.generator === false
      ? undefined
      : await loadSession({ ...analysisFile(GENERATOR), inputs: ['x', 'cam'], outputs: ['x_hat', 'e'] }, common);
  const user: ClassifierModel[] = [];
  for (const spec of opts.userClassifiers ?? []) user.push(await loadUserClassifier(spec, common));
  const all = [...jnd, ...(heldout ? [heldout] : []), ...user];
  return {
    dir,
    precision: int8 ? 'int8' : 'float32',
    provider: all.some((m) => m.loaded.provider === 'cuda') ? 'cuda' : 'cpu',
    jnd,
    heldout,
    user,
    generator,
    async release() {
      for (const m of all) await m.loaded.session.release();
      await generator?.session.release();
    },
  };
}

export async function loadUserClassifier(
  spec: UserClassifierSpec,
  common: { provider: Provider; threads?: number; onNote?: (line: string) => void },
): Promise<ClassifierModel> {
  const loaded = await loadSession({ path: spec.path, inputs: [], outputs: [] }, common);
  const { session } = loaded;
  if (session.inputNames.length < 1 || session.outputNames.length < 1) {
    throw new DmvjndError('load model', spec.path, 'expected an image classifier with one image input and a logits output');
  }
  const meta = session.inputMetadata[0] as { isTensor?: boolean; shape?: ReadonlyArray<number | string> } | undefined;
  const shape = meta?.shape ?? [];
  const fixed = typeof shape[2] === 'number' && typeof shape[3] === 'number' ? (shape[2] as number) : undefined;
  const inputSize = spec.inputSize ?? fixed ?? 224;
  // A detector (or anything whose output is not one row of logits) would be read as logits.
  const outShape = (session.outputMetadata[0] as { shape?: ReadonlyArray<number | string> } | undefined)?.shape ?? [];
  const known = outShape.filter((d): d is number => typeof d === 'number');
  const rowOfLogits = outShape.length === 1 || (outShape.length === 2 && (outShape[0] === 1 || typeof outShape[0] !== 'number'));
  if (known.length === outShape.length && outShape.length > 0 && (!rowOfLogits || (outShape[outShape.length - 1] as number) < 2)) {
    await session.release();
    throw new DmvjndError('load model', spec.path, `expected an image classifier output of shape [1, K] (logits) but received [${outShape.join(', ')}]`);
  }
  return {
    name: spec.path.replace(/^.*\//, '').replace(/\.onnx$/, ''),
    role: 'user',
    loaded,
    inputName: session.inputNames[0],
    logitsName: session.outputNames[0],
    camName: undefined,
    // ImageNet statistics are the usual default for torchvision exports.
    normalisation: { mean: spec.mean ?? [0.485, 0.456, 0.406], std: spec.std ?? [0.229, 0.224, 0.225] },
    inputSize,
  };
}

/** The model card's summary, when present (for reports). */
export function readModelCard(dir = DEFAULT_MODELS_DIR): Record<string, unknown> | undefined {
  const p = join(dir, 'model-card.json');
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
