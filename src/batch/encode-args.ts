/**
 * Every encode option, for `batch` and `queue`: the same option builders and `*FromArgs`
 * helpers as `dmvjnd encode` (src/cli/shared.ts), split into
 *
 *   - settings: what shapes the result (CRF, preset, offsets, JND, verify, frames, ...):
 *     part of a job's identity, carried in queue jobs, overridable per manifest line;
 *   - local options: how this machine runs it (x264 and model threads, provider, models
 *     folder, analysis thread): never part of the identity, set by the batch or worker.
 *
 * Any option added to the shared builders later (e.g. a `--machine`) is a setting by
 * default, so it flows through the identity, the queue and the manifest unchanged.
 */
import yargs, { type Argv } from 'yargs';
import { DmvjndError } from '../errors.ts';
import { DEFAULT_X264, type X264Settings } from '../media/x264-settings.ts';
import { DETECTOR_OFFSET_HELP } from '../offsets/detector-methods.ts';
import { offsetsFromArg } from '../offsets/from-arg.ts';
import { SYNTHETIC_OFFSET_HELP } from '../offsets/synthetic.ts';
import { DEFAULT_JND, type EncodeOptions } from '../pipeline.ts';
import * as shared from '../cli/shared.ts';

/** Options that say how this machine runs a job, not what the job produces. */
export const LOCAL_KEYS = ['threads', 'model-threads', 'provider', 'models', 'analysis-thread'] as const;

/** The encode options every batch and queue-submit command takes (same names as `dmvjnd encode`). */
export function encodeSettingOptions<T>(y: Argv<T>) {
  const withMachine = machineOptions(y);
  return shared
    .analysisPrecisionOption(shared.jndAqOption(shared.jndOptions(shared.modelOptions(shared.x264Options(withMachine)))))
    .option('offsets', { type: 'string', describe: `Per-MB QP offset source: ${DETECTOR_OFFSET_HELP} | jnd (the machine's own DMV-JND) | jnd-cifar | jnd-centred | ${SYNTHETIC_OFFSET_HELP} [default: as dmvjnd encode: det-scale-interp for a detector machine, jnd for cifar]` })
    .option('verify', { type: 'boolean', default: false, describe: 'Decode each result and report RCA and PSNR against its input' })
    .option('frames', { type: 'number', describe: 'Encode only the first N frames of each input' })
    .option('analysis-thread', { type: 'string', group: 'JND:', choices: ['worker', 'main'], default: 'worker', describe: 'Where the JND analysis runs (worker thread or in line)' });
}

/** A `--machine` option, when src/cli/shared.ts has one (added by another part of the project). */
function machineOptions<T>(y: Argv<T>): Argv<T> {
  const s = shared as unknown as Record<string, unknown>;
  const builder = s.machineOptions ?? s.machineOption;
  return typeof builder === 'function' ? (builder as (y: Argv<T>) => Argv<T>)(y) : y;
}

/** Names yargs adds beside the options (positional, script name, camelCase aliases). */
function isOptionName(key: string): boolean {
  return key !== '_' && key !== '$0' && !/[A-Z]/.test(key);
}

export type EncodeArgs = Record<string, unknown>;

/**
 * The settings of parsed arguments: every encode option except the local ones and the
 * command's own (given in `exclude`), kebab-case, undefined values dropped.
 */
export function settingsOf(args: EncodeArgs, exclude: readonly string[]): EncodeArgs {
  const skip = new Set<string>([...LOCAL_KEYS, ...exclude, 'json', 'help', 'version']);
  const out: EncodeArgs = {};
  for (const [k, v] of Object.entries(args)) {
    if (!isOptionName(k) || skip.has(k) || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/**
 * A manifest line's options, checked exactly as on the command line (names, types,
 * choices), merged over the command's settings. Keys may be kebab-case or camelCase.
 */
export function mergeJobOptions(base: EncodeArgs, job: Record<string, unknown>, where: string): EncodeArgs {
  const given = Object.entries(job).map(([k, v]) => [kebab(k), v] as const);
  if (given.length === 0) return base;
  const local = given.find(([k]) => (LOCAL_KEYS as readonly string[]).includes(k));
  if (local) {
    throw new DmvjndError('arguments', where, `the option "${local[0]}" is set by the machine that runs the job, not per job`);
  }
  const tokens: string[] = [];
  for (const [k, v] of given) {
    if (v === null) continue;
    if (typeof v === 'boolean') tokens.push(v ? `--${k}` : `--no-${k}`);
    else if (Array.isArray(v)) for (const item of v) tokens.push(`--${k}`, String(item));
    else if (typeof v === 'object') throw new DmvjndError('arguments', where, `expected the option "${k}" to be a string, number or boolean`);
    else tokens.push(`--${k}`, String(v));
  }
  let parsed: EncodeArgs;
  try {
    parsed = encodeSettingOptions(yargs(tokens))
      .strict()
      .help(false)
      .version(false)
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseSync() as EncodeArgs;
  } catch (err) {
    throw new DmvjndError('arguments', where, (err as Error).message.split('\n')[0] ?? String(err));
  }
  const merged: EncodeArgs = { ...base };
  // --crf and --bitrate exclude each other: a job choosing one drops the other.
  if (given.some(([k]) => k === 'bitrate')) delete merged.crf;
  if (given.some(([k]) => k === 'crf')) delete merged.bitrate;
  for (const [k, v] of given) {
    if (typeof parsed[k] === 'number' && Number.isNaN(parsed[k])) throw new DmvjndError('arguments', where, `expected the option "${k}" to be a number but received ${JSON.stringify(v)}`);
    merged[k] = parsed[k];
  }
  return merged;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Local options of the machine that runs the jobs (batch command or queue worker). */
export interface LocalOptions {
  /** x264 threads per job (0 = x264's own choice). */
  threads?: number;
  modelThreads?: number;
  provider?: string;
  models?: string;
  analysisThread?: 'worker' | 'main';
}

export function localOptionsFromArgs(a: EncodeArgs): LocalOptions {
  return {
    threads: a.threads === undefined ? undefined : Number(a.threads),
    modelThreads: a['model-threads'] === undefined ? undefined : Number(a['model-threads']),
    provider: a.provider === undefined ? undefined : String(a.provider),
    models: a.models === undefined ? undefined : String(a.models),
    analysisThread: a['analysis-thread'] === 'main' ? 'main' : 'worker',
  };
}

export { offsetsFromArg };

/** Does a job with these settings load models (JND analysis or verification)? */
export function needsModels(settings: EncodeArgs): boolean {
  const o = settings.offsets;
  return o === undefined || o === 'jnd' || o === 'jnd-centred' || o === 'jnd-cifar' || settings.verify === true || !/^(none|uniform|split|columns)/.test(String(o));
}

/**
 * The library options for one job: `encode(...)`'s options object, built the way
 * `dmvjnd encode` builds it, from the job's settings and this machine's local options.
 */
export function encodeOptionsFor(settings: EncodeArgs, local: LocalOptions, io: { input: EncodeOptions['input']; output: string }): EncodeOptions {
  const a: EncodeArgs = {
    preset: DEFAULT_X264.preset,
    keyint: DEFAULT_X264.keyint,
    view: DEFAULT_JND.view,
    'jnd-gain': DEFAULT_JND.jndGain,
    pooling: 'mean',
    'offset-range': `${DEFAULT_JND.minOffset},${DEFAULT_JND.maxOffset}`,
    'analysis-max-stride': DEFAULT_JND.analysisMaxStride,
    tau: 0.5,
    ...settings,
    threads: local.threads ?? 0,
  };
  const offsets = offsetsFromArg(a.offsets as string | undefined);
  const opts: EncodeOptions = {
    input: io.input,
    output: io.output,
    offsets,
    x264: shared.x264FromArgs(a as never),
    jnd: shared.jndFromArgs(a as never),
    provider: shared.providerArg(local.provider ?? 'auto'),
    modelThreads: local.modelThreads,
    modelsDir: local.models,
    verify: a.verify === true,
    maxFrames: a.frames === undefined ? undefined : Number(a.frames),
    analysisThread: local.analysisThread ?? 'worker',
    tau: Number(a.tau),
    userClassifiers: shared.userClassifiersFromArgs(a as never),
  };
  // The consumer machine (--machine), once src/cli/shared.ts has the option.
  if (a.machine !== undefined) Object.assign(opts, { machine: Array.isArray(a.machine) ? String(a.machine[0]) : String(a.machine) });
  return opts;
}

/**
 * The settings as the encode will see them, defaults filled in, for the job identity:
 * `--crf 23` and no --crf are the same job; x264 threads are left out (a local choice).
 */
export function normalisedSettings(given: EncodeArgs): Record<string, unknown> {
  const settings = { ...settingDefaults(), ...given };
  const o = encodeOptionsFor(settings, {}, { input: '', output: '' });
  const x264: Partial<X264Settings> = { ...DEFAULT_X264, ...o.x264 };
  delete x264.threads;
  const known = new Set(['crf', 'bitrate', 'preset', 'tune', 'keyint', 'x264-params', 'offsets', 'view', 'tau', 'classifier', 'classifier-input',
    'classifier-mean', 'classifier-std', 'jnd-gain', 'pooling', 'offset-range', 'analysis-stride', 'analysis-max-stride', 'analysis-precision', 'jnd-aq-strength', 'verify', 'frames']);
  const extra = Object.fromEntries(Object.entries(settings).filter(([k]) => !known.has(k) && !(LOCAL_KEYS as readonly string[]).includes(k)));
  return {
    offsets: o.offsets ?? 'default',
    x264,
    jnd: { ...DEFAULT_JND, ...o.jnd },
    verify: o.verify,
    tau: o.verify ? o.tau : undefined,
    frames: o.maxFrames,
    classifiers: o.userClassifiers?.length ? o.userClassifiers : undefined,
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}

let defaults: EncodeArgs | undefined;

/** The settings' defaults as the command line fills them in (any option the shared builders have). */
export function settingDefaults(): EncodeArgs {
  defaults ??= settingsOf(encodeSettingOptions(yargs([])).help(false).version(false).exitProcess(false).parseSync() as EncodeArgs, []);
  return defaults;
}

/** Checks a job's settings the way encode() would, without running it (usage errors up front). */
export function checkSettings(settings: EncodeArgs): void {
  offsetsFromArg(settings.offsets as string | undefined);
  shared.jndFromArgs({
    view: DEFAULT_JND.view,
    'jnd-gain': DEFAULT_JND.jndGain,
    pooling: 'mean',
    'offset-range': `${DEFAULT_JND.minOffset},${DEFAULT_JND.maxOffset}`,
    'analysis-max-stride': DEFAULT_JND.analysisMaxStride,
    ...settings,
  } as never);
  shared.userClassifiersFromArgs(settings as never);
}
