/**
 * Thin typed backend over onnxruntime-node: sessions are created once per run, on
 * CUDA when asked for (or available, with `auto`), on CPU otherwise.
 *
 * Measured platform fact (NOTES.md): asking for ['cuda', 'cpu'] where CUDA is missing
 * throws instead of falling back, so `auto` catches that and retries on CPU.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { DmvjndError, reasonOf } from '../errors.ts';

// Loaded on first use: commands and threads that run no model skip its ~50 ms import.
let ort: typeof Ort;
async function onnxruntime(): Promise<typeof Ort> {
  ort ??= await import('onnxruntime-node');
  return ort;
}

/**
 * Why CUDA cannot work here, when that is certain without trying: onnxruntime-node's default
 * install has no CUDA provider library beside its binding, and asking for CUDA then costs a
 * failed session creation (~60 ms per model and thread) before the CPU one.
 */
function missingCudaProvider(): string | undefined {
  try {
    const bin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    if (!existsSync(bin)) return undefined;
    return readdirSync(bin).some((f) => f.startsWith('libonnxruntime_providers_cuda')) ? undefined : `no CUDA provider library in ${bin}`;
  } catch {
    return undefined;
  }
}

export type Provider = 'auto' | 'cpu' | 'cuda';
export const PROVIDERS: readonly Provider[] = ['auto', 'cpu', 'cuda'];

export interface SessionSpec {
  path: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** The error's reason when the file is missing (default: how to make the float models). */
  missingReason?: string;
}

export interface LoadedSession {
  path: string;
  session: Ort.InferenceSession;
  provider: 'cpu' | 'cuda';
}

/**
 * Model threads default to half the cores: x264's own threads run beside the models
 * during an encode, and oversubscribing the cores slowed both in measurements.
 */
export function defaultModelThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

let fallbackNoted = false;
let cudaUnavailable: string | undefined;

function sessionOptions(provider: 'cpu' | 'cuda', threads: number): Ort.InferenceSession.SessionOptions {
  const options: Ort.InferenceSession.SessionOptions = {
    executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  // onnxruntime-node rejects an explicit undefined; leave the key out for its default.
  return threads > 0 ? { ...options, intraOpNumThreads: threads } : options;
}

/**
 * Create a session and check that the file has the inputs and outputs we expect,
 * so a wrong or stale model file fails here with a sentence, not mid-video.
 */
export async function loadSession(
  spec: SessionSpec,
  opts: { provider: Provider; threads?: number; onNote?: (line: string) => void },
): Promise<LoadedSession> {
  const { path } = spec;
  if (!existsSync(path)) throw new DmvjndError('load model', path, spec.missingReason ?? 'model file not found (run `npm run export` or restore models/)');
  if (statSync(path).size === 0) throw new DmvjndError('load model', path, 'model file is empty');
  await onnxruntime();
  ort.env.logLevel = 'fatal';
  const threads = opts.threads ?? defaultModelThreads();
  let session: Ort.InferenceSession;
  let used: 'cpu' | 'cuda' = opts.provider === 'cpu' ? 'cpu' : 'cuda';
  if (used === 'cuda' && opts.provider === 'auto' && cudaUnavailable === undefined) {
    cudaUnavailable = missingCudaProvider();
    if (cudaUnavailable !== undefined && !fallbackNoted) {
      fallbackNoted = true;
      opts.onNote?.('dmvjnd: CUDA unavailable, running the models on CPU');
    }
  }
  if (used === 'cuda' && cudaUnavailable !== undefined && opts.provider === 'auto') used = 'cpu';
  try {
    session = await ort.InferenceSession.create(path, sessionOptions(used, threads));
  } catch (err) {
    const reason = reasonOf(err);
    const isProviderFailure = used === 'cuda' && /cuda|provider|shared library/i.test(reason);
    if (isProviderFailure && opts.provider === 'cuda') {
      throw new DmvjndError(
        'load model', path,
        `--provider cuda was requested but the CUDA execution provider is unavailable (${reason}); install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA 12 machine, or use --provider cpu`,
        { cause: err },
      );
    }
    if (isProviderFailure && opts.provider === 'auto') {
      cudaUnavailable = reason;
      if (!fallbackNoted) {
        fallbackNoted = true;
        opts.onNote?.('dmvjnd: CUDA unavailable, running the models on CPU');
      }
      used = 'cpu';
      try {
        session = await ort.InferenceSession.create(path, sessionOptions('cpu', threads));
      } catch (err2) {
        throw new DmvjndError('load model', path, `not a loadable ONNX model (${reasonOf(err2)})`, { cause: err2 });
      }
    } else {
      throw new DmvjndError('load model', path, `not a loadable ONNX model (${reason})`, { cause: err });
    }
  }
  const missingIn = spec.inputs.filter((n) => !session.inputNames.includes(n));
  const missingOut = spec.outputs.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length || missingOut.length) {
    await session.release();
    throw new DmvjndError(
      'load model', path,
      `expected inputs [${spec.inputs.join(', ')}] and outputs [${spec.outputs.join(', ')}] but the file has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`,
    );
  }
  return { path, session, provider: used };
}

/** Run one session on named float32 NCHW tensors; returns the named outputs' data and dims. */
export async function runSession(
  loaded: LoadedSession,
  feeds: Record<string, { data: Float32Array; dims: readonly number[] }>,
  outputs: readonly string[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const tensors: Record<string, Ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor('float32', t.data, t.dims);
  let result: Ort.InferenceSession.OnnxValueMapType;
  try {
    result = await loaded.session.run(tensors, outputs as string[]);
  } catch (err) {
    throw new DmvjndError('analyse', loaded.path, `inference failed (${reasonOf(err)})`, { cause: err });
  }
  const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
  for (const name of outputs) {
    const t = result[name] as Ort.Tensor;
    out[name] = { data: t.data as Float32Array, dims: t.dims };
  }
  return out;
}
