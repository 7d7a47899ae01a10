/**
 * The JND-guided encode, top to bottom:
 *
 *   1. load the models once: the generator and four classifiers on the analysis worker
 *      (analysis/jnd-worker.ts; float32, or their int8 copies with precision 'int8'), the
 *      verification classifiers (always float: they decide RCA) here
 *   2. decode the input frame by frame (media/source.ts, via media/encode.ts), up to two
 *      analysis strides ahead of the encoder (bounded queue)
 *   3. every `analysisStride`-th frame, or on a scene cut: machine view -> merged CAM
 *      -> generator -> per-pixel JND (analysis/analyser.ts), on the worker thread so it
 *      overlaps decoding and x264 instead of stalling them
 *   4. JND -> per-MB QP offsets: step = 2 x JND, QP = 4 + 6 log2(step), minus the base
 *      QP, clamped (jnd/qp-mapping.ts)
 *   5. offsets -> ROI side data -> libx264 -> MP4 (media/encode.ts)
 *   6. optionally decode both videos and report RCA and PSNR (analysis/verify.ts)
 *
 * Detector offsets with `/fix<qp>` make two passes: 2-5 once into a scratch file beside the
 * output, the guide detector on that file's decoded frames where it analysed the source,
 * then 2-5 again with the same detections and the objects the first pass lost coded finer.
 *
 * Memory is bounded: frames stream through; at most MAX_LOOKAHEAD decoded frames wait
 * for the encoder, and only the latest offset map is kept.
 */
import type { Frame } from 'node-av/lib';
import { FrameAnalyser, type AnalysisMemo, type FrameJnd } from './analysis/analyser.ts';
import { WorkerJndAnalyser } from './analysis/jnd-worker-client.ts';
import { FrameRgbScaler } from './analysis/frame-scaler.ts';
import { viewSizeFor } from './analysis/machine-view.ts';
import { ReferenceDecisionCache, verifyVideos, type VerifyReport } from './analysis/verify.ts';
import { DmvjndError } from './errors.ts';
import { ANALYSIS_PRECISIONS, DEFAULT_MODELS_DIR, loadModels, type AnalysisPrecision, type ModelSet, type UserClassifierSpec } from './inference/models.ts';
import type { Provider } from './inference/onnx.ts';
import { placedQpOffsets, type JndPooling } from './jnd/qp-mapping.ts';
import { MAX_LOOKAHEAD, encodeVideo, type EncodeVideoResult, type FrameContext, type OffsetProvider } from './media/encode.ts';
import type { MacroblockGrid } from './media/mb-grid.ts';
import { decodeVideo, openInput, preflightInput, type InputSpec } from './media/source.ts';
import { beginAtomicOutput, checkOutputPath } from './util/atomic-output.ts';
import { DEFAULT_DETECTION_MATCH, frameDisagreements, type FrameDisagreements } from './metrics/detection.ts';
import { checkOutputIsNotInput } from './util/same-file.ts';
import { DEFAULT_X264, checkX264Settings, parseX264Params, type X264Settings } from './media/x264-settings.ts';
import { syntheticOffsetMap, type SyntheticOffsetSpec } from './offsets/synthetic.ts';
import { DEFAULT_BOX_MIN_SCORE, DEFAULT_DETECTOR_OFFSETS, MAX_AQ_STRENGTH, detectorOffsetName, detectorOffsetProvider, parseDetectorOffsets, usesDetectorJnd, type DetectionSource, type DetectorOffsetSpec } from './offsets/detector-methods.ts';
import { DEFAULT_MACHINE, isDetector, loadMachine, parseMachine, type MachineSpec } from './machines/registry.ts';
import type { Machine, MachineScores } from './machines/machine.ts';
import { WorkerDetector } from './machines/detector-worker-client.ts';
import { DEFAULT_GUIDE_SIZE } from './machines/detector-prestart.ts';
import type { DetectorMachine } from './machines/detector.ts';
import { withObjectJndModel, type DetectorOutput, type InputSize } from './machines/detector-runner.ts';
import { lumaThumbnail } from './offsets/static-gate.ts';

export interface JndSettings {
  /** Short side of the machine view in pixels. */
  view: number;
  /** Multiplier on the JND before the 2 x JND rule. */
  jndGain: number;
  pooling: JndPooling;
  minOffset: number;
  maxOffset: number;
  /** Analyse every Nth frame and reuse the offsets in between (refreshed on scene cuts). */
  analysisStride: number;
  /**
   * Detector offsets: on a static scene (no thumbnail block changed since the last analysed
   * frame) due analyses are skipped until they would be this many frames apart (0: never).
   */
  analysisMaxStride: number;
  /** Mean absolute view difference (0-255) that counts as a scene cut. */
  sceneCutThreshold: number;
  /** Precision of the analysis models (int8: models/int8/, `npm run quantize`); RCA always uses float. */
  precision: AnalysisPrecision;
  /**
   * x264's own variance AQ strength in JND-guided encodes (1 = x264's default, left
   * untouched). An `aq-strength` in the encode's x264Params wins.
   */
  aqStrength: number;
}

export const DEFAULT_JND: JndSettings = {
  view: 128,
  // Calibrated on the shipped generator: its JND (mean |e| ~45 in 0-255 units) saturates the
  // +12 clamp on most macroblocks at gain 1 (Spearman JND~QP 0.15 on the 720p dev clip);
  // at 0.2-0.25 the offsets spread (Spearman ~0.6). With float32 analysis and x264's full
  // AQ, 0.2 met the CRF-23 acceptance table (>= 25% smaller, RCA held) on 6 of 14 dev clips
  // in two runs, 0.25 on 5 and 4 (bench/results/jnd-vs-x264-aq10*.md, -gain025*.md).
  jndGain: 0.2,
  pooling: 'mean',
  minOffset: -12,
  maxOffset: 12,
  // On CPU the analysis (~10 frames/s on one core at view 128) is the bottleneck: stride 8
  // made the whole encode 3.5x (720p) to 5x (432p) faster than stride 1 with the same size
  // and RCA within noise on the 14 dev clips (bench/results/encode-speed-*.md and
  // jnd-vs-x264*.md). With CUDA, stride 1 costs little: pass --analysis-stride 1.
  analysisStride: 8,
  // Off by default: on the dev clips something moves in most 8-frame spans (a walking person,
  // film grain), so the gate skipped 21 of 175 analyses on the long indoor clip.
  analysisMaxStride: 0,
  sceneCutThreshold: 30,
  // int8 copies (models/int8/): 0.48x the float32 analysis time, offsets 0.43 QP apart on
  // average; whole encodes 1.17x-1.18x plain x264 instead of 1.32x-1.79x on 2 cores, and the
  // CRF-23 table met on 8 and 8 clips (float32: 7 and 7). Benchmarks pin float32.
  precision: 'int8',
  // x264's variance AQ moves QPs by several steps on its own and masked the JND offsets
  // (read-back Spearman >= 0.5 on 8 intra frames spread over each dev clip: 11 of 14 clips at 1,
  // 14 at 0.3; on each clip's first 8 frames 9 and 12); at 0.3 the CRF-23
  // acceptance table also met on 7 clips instead of 6 in float32 (bench/results/jnd-vs-x264*.md).
  // Plain x264 elsewhere keeps its default AQ.
  aqStrength: 0.3,
};

/**
 * Detector offsets: the detector runs every this many frames, boxes moving linearly between
 * (det-scale-interp). At 16 det-scale-interp saved as much as det-scale's union of boxes at 8
 * (bench/results/detector-bench-stride16-det-scale), at half the detector's CPU: on 2 cores
 * the detector at 8 paced the whole encode (bench/results/encode-vs-ffmpeg*.md).
 */
export const DEFAULT_DETECTOR_STRIDE = 16;

/**
 * The JND settings of a run: the defaults, the detector's stride for detector offsets, then
 * each layer's defined settings in turn (encode, bench and search alike).
 */
export function jndSettingsFor(detectorOffsets: boolean, ...layers: Array<Partial<JndSettings> | undefined>): JndSettings {
  const base: JndSettings = { ...DEFAULT_JND, ...(detectorOffsets ? { analysisStride: DEFAULT_DETECTOR_STRIDE } : {}) };
  // An undefined setting keeps the value below it.
  return Object.assign(base, ...layers.map((l) => Object.fromEntries(Object.entries(l ?? {}).filter(([, v]) => v !== undefined))));
}

export interface CustomOffsetMethod {
  kind: 'custom';
  /** Short name for reports. */
  name: string;
  /** Does the method need the JND generator (or only the classifiers, or nothing)? */
  needs: 'generator' | 'classifiers' | 'nothing';
  /** Called once per run with the run's analyser (undefined when needs is 'nothing'). */
  provider: (analyser: FrameAnalyser | undefined, x264: X264Settings, jnd: JndSettings) => OffsetProvider;
}

export interface EncodeOptions {
  input: InputSpec | string;
  output: string;
  /**
   * Where the per-MB offsets come from: det-scale-interp for a detector machine and the DMV-JND for
   * cifar (the defaults), another detector method, a synthetic map, or any other method
   * (benchmarks' baselines) built from the run's frame analyser.
   */
  offsets?: 'jnd' | 'jnd-cifar' | 'jnd-centred' | SyntheticOffsetSpec | CustomOffsetMethod | DetectorOffsetSpec;
  /**
   * The machine the video is encoded for (machines/registry.ts; default centernet): it
   * guides the detector methods' offsets (det-roi, ...) and verifies. The default offsets
   * follow it: det-scale-interp for a detector, the DMV-JND for cifar.
   */
  machine?: string;
  /** Further machines to verify with (reports carry each under machines.<name>). */
  verifyMachines?: string[];
  /** Already loaded machines by name (benchmarks); others are loaded and released here. */
  loadedMachines?: Machine[];
  /** Detector-guided offsets: the network input the guide runs at (default DEFAULT_GUIDE_SIZE). */
  guideSize?: InputSize;
  /** Share guide detections on the same source frames between runs (benchmarks). */
  detectionMemo?: DetectionMemo;
  /** An already loaded guide detector for the det-* offsets (benchmarks; runs on this thread). */
  guideMachine?: DetectorMachine;
  x264?: Partial<X264Settings>;
  jnd?: Partial<JndSettings>;
  provider?: Provider;
  /** ONNX Runtime intra-op threads (default: half the cores). */
  modelThreads?: number;
  modelsDir?: string;
  /** Decode the result and report RCA and PSNR against the input. */
  verify?: boolean;
  tau?: number;
  userClassifiers?: UserClassifierSpec[];
  onProgress?: (stage: 'encode' | 'verify', frames: number, total: number | undefined) => void;
  onNote?: (line: string) => void;
  /** Encode (and verify) only the first N frames (from `startFrame`). */
  maxFrames?: number;
  /** Start at this 0-based frame of the input (benchmarks measuring a window mid-clip); default 0. */
  startFrame?: number;
  /** Share the reference's decisions between runs on the same input (benchmarks). */
  referenceCache?: ReferenceDecisionCache;
  /** Share the input's CAM/JND analysis between runs on the same frames (benchmarks: one analysis per clip, not per CRF). */
  analysisMemo?: AnalysisMemo;
  /**
   * Where the JND analysis runs: 'worker' (default) on a worker thread beside decoding and
   * x264, 'main' on this thread. Runs given `models` or an `analysisMemo` use this thread.
   */
  analysisThread?: 'worker' | 'main';
  /** Reuse already loaded models (benchmarks); otherwise loaded and released here. */
  models?: ModelSet;
  /** Reuse an already loaded int8 analysis set (benchmarks with jnd.precision 'int8'). */
  int8Models?: ModelSet;
}

export { DEFAULT_GUIDE_SIZE };

/**
 * Multiplier on the detector-trained JND before the 2 x JND rule: 1, since that generator
 * was trained with the codec in the loop to mean "the half step this macroblock tolerates".
 */
export const DETECTOR_JND_GAIN = 1;

/** Guide detections per (input, machine, size) and frame timestamp, shared by runs on the same frames. */
export class DetectionMemo {
  private readonly scopes = new Map<string, Map<string, Promise<import('./machines/detector-runner.ts').DetectorOutput>>>();

  scope(input: string, machine: Machine): Map<string, Promise<import('./machines/detector-runner.ts').DetectorOutput>> {
    const key = `${input}\u0000${machine.fingerprint}\u0000${(machine as { jndFingerprint?: string }).jndFingerprint ?? ''}`;
    let m = this.scopes.get(key);
    if (!m) {
      // One clip at a time: a benchmark finishes a clip before the next.
      this.scopes.clear();
      this.scopes.set(key, (m = new Map()));
    }
    return m;
  }
}

export interface EncodeReport {
  input: string;
  output: string;
  frames: number;
  width: number;
  height: number;
  /** The whole file (video, audio, container). */
  bytes: number;
  bitrate_kbps: number;
  /** The H.264 stream alone: what rate comparisons (bench, search) use. */
  video_bytes: number;
  video_bitrate_kbps: number;
  duration: number;
  psnr_y_db: number | null;
  rca: VerifyReport['rca'] | null;
  /** Every verifying machine's agreement scores (null without --verify). */
  machines: Record<string, MachineScores> | null;
  audio: EncodeVideoResult['audio'];
  analysed_frames: number;
  /** Detector offsets: due analyses skipped because nothing moved (--analysis-max-stride). */
  static_skips: number;
  scene_cuts: number;
  /** A /fix encode's first pass: what the guide detector lost and made up on it at the analysed frames (null: one pass). */
  first_pass: { video_bitrate_kbps: number; checked_frames: number; lost: number; spurious: number } | null;
  timings_ms: { decode: number; analysis: number; analysis_wait: number; encode: number; verify: number; total: number };
  /** Peak resident memory of this process so far, in MiB. */
  peak_rss_mib: number;
  settings: {
    offsets: string;
    /** The machine the encode was made for (and verified with). */
    machine: string;
    /** Which machine placed the offsets: a detector for det-*, cifar for the DMV-JND, none otherwise. */
    guided_by: string;
    x264: X264Settings;
    jnd: JndSettings;
    provider: string;
    models: string | null;
    tau: number;
    /** First input frame encoded (0 unless a benchmark measured a window mid-clip). */
    start_frame: number;
  };
}

export async function encode(opts: EncodeOptions): Promise<EncodeReport> {
  const t0 = performance.now();
  const tau = opts.tau ?? 0.5;
  const startFrame = opts.startFrame ?? 0;
  if (!Number.isInteger(startFrame) || startFrame < 0) {
    throw new DmvjndError('arguments', undefined, `expected the start frame to be an integer >= 0 but received ${startFrame}`);
  }
  const machineSpec = parseMachine(opts.machine ?? DEFAULT_MACHINE);
  const verifyNames = [...new Set([machineSpec.name, ...(opts.verifyMachines ?? []).map((n) => parseMachine(n).name)])];
  // A detector's default is its box ROI graded by object size, boxes moving between detections
  // (det-scale-interp at stride 16; bench/results/detector-bench-stride16-det-scale); det-roi,
  // obj-jnd and the detector-trained DMV-JND lost to det-scale.
  const requested = opts.offsets ?? (isDetector(machineSpec) ? parseDetectorOffsets(DEFAULT_DETECTOR_OFFSETS)! : 'jnd');
  // `jnd` is the machine's own DMV-JND: the detector-trained one for centernet.
  const source =
    requested === 'jnd-cifar' ? 'jnd' : requested === 'jnd' && machineSpec.kind === 'centernet' ? parseDetectorOffsets('dmv-jnd')! : requested;
  const jndSource = source === 'jnd' || source === 'jnd-centred';
  const det = typeof source === 'object' && source.kind === 'detector' ? withObjectJndModel(source, opts.modelsDir ?? DEFAULT_MODELS_DIR) : undefined;
  const detJnd = det !== undefined && usesDetectorJnd(det);
  // The stride's default follows the offsets: the detector's every 16th frame, the CIFAR JND's every 8th.
  const jnd = jndSettingsFor(det !== undefined, opts.jnd);
  checkJndSettings(jnd);
  // det-* offsets are placed by the encode's machine when it is a detector, else by centernet.
  const guideSpec: MachineSpec = isDetector(machineSpec) ? machineSpec : parseMachine(DEFAULT_MACHINE);
  const x264: X264Settings = jndX264Settings({ ...DEFAULT_X264, ...opts.x264 }, encodeAqStrength(det, jndSource || detJnd, jnd.aqStrength));
  // Bad settings, input or output paths fail in milliseconds, before the models load.
  checkX264Settings(x264, { withOffsets: !(typeof source === 'object' && source.kind === 'none') });
  checkOutputPath(opts.output);
  checkOutputIsNotInput(opts.input, opts.output);
  await preflightInput(opts.input);
  const custom = typeof source === 'object' && source.kind === 'custom' ? source : undefined;
  // The JND analysis runs on a worker thread beside decoding and x264, unless the caller
  // shares models or an analysis memo (benchmarks), which live on this thread.
  const inWorker = jndSource && (opts.analysisThread ?? 'worker') === 'worker' && !opts.models && !opts.analysisMemo;
  const int8 = jnd.precision === 'int8';
  if (int8 && custom) {
    throw new DmvjndError('arguments', undefined, `expected analysis precision float32 for the custom offset method ${custom.name} but received int8`);
  }
  // In line, int8 analysis models are a set of their own: the float set decides RCA.
  const int8InLine = jndSource && !inWorker && int8;
  const needGenerator = (jndSource && !inWorker && !int8) || custom?.needs === 'generator';
  const needModels = needGenerator || custom?.needs === 'classifiers' || (opts.verify === true && verifyNames.includes('cifar'));
  const provider = opts.provider ?? 'auto';
  // The worker and this thread each note a CUDA fallback once: say it once.
  const noted = new Set<string>();
  const onNote = (line: string) => {
    if (noted.has(line)) return;
    noted.add(line);
    opts.onNote?.(line);
  };
  // The worker loads its models while this thread loads the verification classifiers.
  const workerStart = inWorker
    ? WorkerJndAnalyser.start({ modelsDir: opts.modelsDir, provider, threads: opts.modelThreads, precision: jnd.precision, onNote })
    : undefined;
  workerStart?.catch(() => undefined); // awaited below
  // The guide detector: on its own worker thread, unless a benchmark shares a loaded one.
  const guideStart =
    det && !opts.guideMachine
      ? WorkerDetector.start({
          spec: guideSpec.kind === 'yolo'
            ? { kind: 'yolo', path: guideSpec.path, size: opts.guideSize }
            : { kind: guideSpec.kind as 'centernet' | 'nanodet', path: opts.modelsDir ?? DEFAULT_MODELS_DIR, size: opts.guideSize ?? DEFAULT_GUIDE_SIZE },
          provider,
          threads: opts.modelThreads,
          withJnd: usesDetectorJnd(det),
          onNote,
        })
      : undefined;
  guideStart?.catch(() => undefined); // awaited below
  let models: ModelSet | undefined;
  let int8Models: ModelSet | undefined;
  const ownMachines: Machine[] = [];
  try {
    models =
      opts.models ??
      (needModels
        ? await loadModels({
            dir: opts.modelsDir,
            provider,
            threads: opts.modelThreads,
            generator: needGenerator,
            userClassifiers: opts.userClassifiers,
            onNote,
          })
        : undefined);
    if (int8InLine) {
      int8Models = opts.int8Models ?? await loadModels({ dir: opts.modelsDir, provider, threads: opts.modelThreads, generator: true, heldout: false, precision: 'int8', onNote });
    }
    if (opts.verify) {
      for (const name of verifyNames) {
        if (name === 'cifar' || opts.loadedMachines?.some((m) => m.name === name)) continue;
        ownMachines.push(await loadMachine(name, { modelsDir: opts.modelsDir, provider, threads: opts.modelThreads, onNote, tau, view: jnd.view }));
      }
    }
  } catch (err) {
    await (await workerStart?.catch(() => undefined))?.close();
    await (await guideStart?.catch(() => undefined))?.close();
    for (const m of ownMachines) await m.release();
    if (!opts.models) await models?.release();
    if (!opts.int8Models) await int8Models?.release();
    throw err;
  }
  const inputLabel = typeof opts.input === 'string' ? opts.input : JSON.stringify(opts.input);
  const analysisSet = int8Models ?? models;
  const memo = analysisSet ? opts.analysisMemo?.scope(inputLabel, jnd.view, analysisSet) : undefined;
  const analyser = analysisSet ? new FrameAnalyser(analysisSet, jnd.view, memo) : undefined;
  // Not awaited here: the input, the encoder and the first frames open while the worker
  // starts (~0.3 s); the first analysis waits for it, and a load failure surfaces there.
  const workerSource = workerStart ? workerJndSource(workerStart, jnd) : undefined;
  const guideDetections = (): DetectionSource => {
    const shared = opts.guideMachine;
    if (shared) {
      const memo = opts.detectionMemo?.scope(inputLabel, shared);
      return {
        detect(frame) {
          const key = String(frame.pts);
          const hit = memo?.get(key);
          if (hit) return hit;
          const p = shared.decide(frame);
          memo?.set(key, p);
          return p;
        },
      };
    }
    return { detect: async (frame) => (await guideStart!).detect(frame) };
  };
  let worker: WorkerJndAnalyser | undefined;
  let guideWorker: WorkerDetector | undefined;
  let analysed = 0;
  let staticSkips = 0;
  let sceneCuts = 0;
  let firstPass: EncodeReport['first_pass'] = null;
  try {
    let offsets: OffsetProvider | undefined;
    if (jndSource) {
      offsets = jndOffsetProvider(
        workerSource ?? analyser!,
        x264,
        jnd,
        { onAnalysed: () => analysed++, onSceneCut: () => sceneCuts++ },
        source === 'jnd-centred' ? 'centred' : 'absolute',
      );
    } else if (det) {
      const detectorOptions = {
        stride: jnd.analysisStride,
        maxStride: jnd.analysisMaxStride || jnd.analysisStride,
        thumbnail: frameThumbnail,
        onSkipped: () => staticSkips++,
        minScore: DEFAULT_BOX_MIN_SCORE,
        onAnalysed: () => analysed++,
        mapping: {
          baseQp: x264.rateControl.mode === 'crf' ? x264.rateControl.crf : undefined,
          gain: DETECTOR_JND_GAIN,
          pooling: jnd.pooling,
          minOffset: jnd.minOffset,
          maxOffset: jnd.maxOffset,
        },
      };
      if (det.fix === undefined) {
        offsets = detectorOffsetProvider(guideDetections(), det, detectorOptions);
      } else {
        // Pass 1 into a scratch file; its analyses are replayed in pass 2, not run again.
        const recorded = new Map<number, Promise<DetectorOutput>>();
        const byPts = new Map<string, Promise<DetectorOutput>>();
        // The report counts the analyses once: pass 2's (replayed) ones.
        const firstOffsets = detectorOffsetProvider(guideDetections(), det, {
          ...detectorOptions,
          onAnalysed: undefined,
          onSkipped: undefined,
          onDetections: (index, frame, p) => (recorded.set(index, p), byPts.set(String(frame.pts), p)),
        });
        // The output's own hidden temp naming, never committed: removed on exit and signals, and batch's stale-temp sweep knows it.
        const scratch = beginAtomicOutput(opts.output);
        try {
          const first = await encodeVideo({
            input: opts.input,
            output: scratch.tempPath,
            x264,
            offsets: firstOffsets,
            maxFrames: opts.maxFrames !== undefined ? startFrame + opts.maxFrames : undefined,
            selectFrames: startFrame > 0 ? (i) => i >= startFrame : undefined,
            onProgress: (p) => opts.onProgress?.('encode', p.frames, p.totalFrames),
          });
          const rawDetect = opts.guideMachine ? (f: Frame) => opts.guideMachine!.decide(f) : async (f: Frame) => (await guideStart!).detect(f);
          const corrections = await firstPassDisagreements(scratch.tempPath, recorded, startFrame, rawDetect);
          const lost = [...corrections.values()].reduce((n, c) => n + c.lost.length, 0);
          const spurious = [...corrections.values()].reduce((n, c) => n + c.spurious.length, 0);
          firstPass = { video_bitrate_kbps: first.videoBitrateKbps, checked_frames: corrections.size, lost, spurious };
          opts.onNote?.(`${detectorOffsetName(det)}: the first pass (${first.videoBitrateKbps.toFixed(1)} kbit/s) lost ${lost} and made up ${spurious} of the detector's objects at ${corrections.size} checked frames; the second pass codes them finer`);
          const replay = guideDetections();
          offsets = detectorOffsetProvider({ detect: (frame) => byPts.get(String(frame.pts)) ?? replay.detect(frame) }, det, { ...detectorOptions, corrections });
        } finally {
          scratch.discard();
        }
      }
    } else if (source.kind === 'custom') {
      offsets = source.provider(analyser, x264, jnd);
    } else if (source.kind !== 'none') {
      const spec = source as SyntheticOffsetSpec;
      offsets = ({ grid }) => syntheticOffsetMap(spec, grid);
    }
    const result = await encodeVideo({
      input: opts.input,
      output: opts.output,
      x264,
      offsets,
      maxFrames: opts.maxFrames !== undefined ? startFrame + opts.maxFrames : undefined,
      selectFrames: startFrame > 0 ? (i) => i >= startFrame : undefined,
      onProgress: (p) => opts.onProgress?.('encode', p.frames, p.totalFrames),
    });
    worker = await workerStart;
    guideWorker = await guideStart;
    // Its work is done: release its session before verification loads the CPU.
    await guideWorker?.close();
    let verified: VerifyReport | undefined;
    const tv = performance.now();
    if (opts.verify) {
      const verifiers = verifyNames
        .filter((n) => n !== 'cifar')
        .map((n) => opts.loadedMachines?.find((m) => m.name === n) ?? ownMachines.find((m) => m.name === n)!);
      verified = await verifyVideos({
        reference: opts.input,
        encoded: result.output,
        models: verifyNames.includes('cifar') ? models : undefined,
        machines: verifiers,
        view: jnd.view,
        tau,
        maxFrames: opts.maxFrames,
        startFrame,
        referenceCache: opts.referenceCache,
        onProgress: (f) => opts.onProgress?.('verify', f, result.frames),
      });
    }
    const verifyMs = opts.verify ? performance.now() - tv : 0;
    const t = result.timingsMs;
    return {
      input: result.input,
      output: result.output,
      frames: result.frames,
      width: result.width,
      height: result.height,
      bytes: result.bytes,
      bitrate_kbps: result.bitrateKbps,
      video_bytes: result.videoBytes,
      video_bitrate_kbps: result.videoBitrateKbps,
      duration: result.duration,
      psnr_y_db: verified ? verified.psnr_y_db : null,
      rca: verified ? verified.rca : null,
      machines: verified ? verified.machines : null,
      audio: result.audio,
      analysed_frames: analysed,
      static_skips: staticSkips,
      scene_cuts: sceneCuts,
      first_pass: firstPass,
      timings_ms: {
        // decode includes demuxing, pixel-format conversion and muxing: what is not analysis or x264.
        decode: Math.max(0, t.total - t.offsets - t.encode),
        // The analysis itself (on the worker: its busy time, beside the encode) ...
        analysis: worker ? worker.busyMs : guideWorker ? guideWorker.busyMs : t.offsets,
        // ... and how long the encoder's thread spent preparing frames and waiting for it.
        analysis_wait: t.offsets,
        encode: t.encode,
        verify: verifyMs,
        total: performance.now() - t0,
      },
      peak_rss_mib: process.resourceUsage().maxRSS / 1024,
      settings: {
        offsets: jndSource ? source : source.kind === 'custom' ? source.name : source.kind === 'detector' ? detectorOffsetName(source) : source.kind,
        machine: machineSpec.name,
        guided_by: jndSource ? 'cifar' : det ? (opts.guideMachine?.name ?? guideSpec.name) : source.kind === 'custom' && source.needs !== 'nothing' ? 'cifar' : 'none',
        x264,
        jnd,
        provider: worker?.provider ?? guideWorker?.provider ?? models?.provider ?? ownMachines[0]?.provider ?? opts.loadedMachines?.[0]?.provider ?? 'none',
        models: worker?.modelsDir ?? models?.dir ?? null,
        tau,
        start_frame: startFrame,
      },
    };
  } finally {
    analyser?.close();
    workerSource?.close();
    await (await workerStart?.catch(() => undefined))?.close();
    await (await guideStart?.catch(() => undefined))?.close();
    for (const m of ownMachines) await m.release();
    if (!opts.models) await models?.release();
    if (!opts.int8Models) await int8Models?.release();
  }
}

/**
 * A /fix encode's first pass checked: the guide detector on the scratch file's frames that it
 * analysed in the source (frame i of the file is input frame startFrame + i), each compared
 * with the source's detections under the agreement's own matching rules.
 */
async function firstPassDisagreements(
  file: string,
  reference: ReadonlyMap<number, Promise<DetectorOutput>>,
  startFrame: number,
  detect: (frame: Frame) => Promise<DetectorOutput>,
): Promise<Map<number, FrameDisagreements>> {
  const out = new Map<number, FrameDisagreements>();
  const input = await openInput(file);
  try {
    for await (const decoded of decodeVideo(input)) {
      try {
        const ref = reference.get(startFrame + decoded.index);
        if (!ref) continue;
        const [a, b] = [await ref, await detect(decoded.frame)];
        out.set(startFrame + decoded.index, frameDisagreements(a.detections, b.detections, DEFAULT_DETECTION_MATCH));
      } finally {
        decoded.frame.free();
      }
    }
  } finally {
    await input.close();
  }
  return out;
}

/**
 * The analysis worker as a JND source: this thread scales each frame to the view (native,
 * cheap); the worker runs the models. The encoder may decode up to two strides ahead
 * (at least 4, at most MAX_LOOKAHEAD frames), which covers one analysis per stride.
 */
function workerJndSource(worker: Promise<WorkerJndAnalyser>, jnd: JndSettings): JndSource & { close(): void } {
  const scaler = new FrameRgbScaler();
  const viewOf = (frame: Frame) => viewSizeFor(frame.width, frame.height, jnd.view);
  const viewRgb = (frame: Frame) => scaler.rgb(frame, viewOf(frame));
  return {
    viewRgb,
    async jnd(frame, rgb) {
      const view = rgb ?? (await viewRgb(frame));
      return (await worker).jnd(view, viewOf(frame));
    },
    lookahead: Math.min(MAX_LOOKAHEAD, Math.max(4, 2 * jnd.analysisStride)),
    close: () => scaler.close(),
  };
}

/**
 * Where the JND of a frame comes from: the main-thread FrameAnalyser (with its memo, for
 * benchmarks) or the analysis worker (analysis/jnd-worker-client.ts). `jnd` may use the
 * view RGB already computed for the scene-cut check.
 */
export interface JndSource {
  jnd(frame: Frame, viewRgb?: Uint8Array): Promise<FrameJnd>;
  viewRgb(frame: Frame): Promise<Uint8Array>;
  /** Frames the encoder may decode ahead of the one it encodes while an analysis runs. */
  lookahead?: number;
}

/**
 * Offsets from the DMV-JND, analysed every `analysisStride` frames and on scene cuts.
 *
 * placement 'absolute' (the paper's rule): each macroblock's target QP follows from its
 * JND alone, so the offsets against the CRF carry a per-frame mean and the JND, not the
 * CRF, sets the rate (the CRF only centres the clamp). 'centred': the same offsets minus
 * their per-frame mean, so the CRF keeps setting the rate and the JND only moves bits
 * between macroblocks (the gain cancels out). In bitrate mode there is no base QP and the
 * offsets are always centred.
 *
 * The encoder calls `prepare` for each frame in decode order as soon as it is decoded
 * (up to `lookahead` frames before encoding it): that is where the analysis of a due
 * frame starts, so a worker can analyse it while x264 encodes the frames before it.
 * Called without `prepare` (tests, wrappers), the provider prepares the frame itself.
 */
export function jndOffsetProvider(
  source: JndSource,
  x264: X264Settings,
  jnd: JndSettings,
  hooks: {
    onAnalysed?: () => void;
    onSceneCut?: () => void;
    /** Every analysed frame's JND and resulting offsets (reports, tests). */
    onMap?: (info: { index: number; grid: MacroblockGrid; jnd: FrameJnd; offsets: Float32Array }) => void;
  } = {},
  placement: 'absolute' | 'centred' = 'absolute',
): OffsetProvider {
  let latest: Promise<Float32Array> | undefined;
  let lastRgb: Uint8Array | undefined;
  let sinceAnalysis = 0;
  // Each prepared frame's map (a promise: its analysis may still be running), until encoded.
  const prepared = new Map<number, Promise<Float32Array>>();
  const baseQp = x264.rateControl.mode === 'crf' && placement === 'absolute' ? x264.rateControl.crf : undefined;
  const offsetsOf = (r: FrameJnd, grid: MacroblockGrid): Float32Array =>
    placedQpOffsets(r.jnd, r.view, grid, { baseQp, gain: jnd.jndGain, pooling: jnd.pooling, minOffset: jnd.minOffset, maxOffset: jnd.maxOffset });
  const prepare = async ({ frame, grid, index }: FrameContext): Promise<void> => {
    let due = !latest || sinceAnalysis >= jnd.analysisStride;
    let rgb: Uint8Array | undefined;
    if (!due && jnd.analysisStride > 1 && lastRgb) {
      rgb = await source.viewRgb(frame);
      if (meanAbsDiff(rgb, lastRgb) > jnd.sceneCutThreshold) {
        due = true;
        hooks.onSceneCut?.();
      }
    }
    if (due) {
      if (jnd.analysisStride > 1) lastRgb = rgb ??= await source.viewRgb(frame);
      latest = source.jnd(frame, rgb).then((r) => {
        const offsets = offsetsOf(r, grid);
        hooks.onMap?.({ index, grid, jnd: r, offsets });
        return offsets;
      });
      // Awaited when the frame is encoded; a failure surfaces there, not as an unhandled rejection.
      latest.catch(() => undefined);
      sinceAnalysis = 0;
      hooks.onAnalysed?.();
    }
    sinceAnalysis++;
    prepared.set(index, latest!);
  };
  const provider: OffsetProvider = async (ctx) => {
    if (!prepared.has(ctx.index)) await prepare(ctx);
    const map = prepared.get(ctx.index)!;
    prepared.delete(ctx.index);
    return map;
  };
  provider.prepare = prepare;
  provider.lookahead = source.lookahead ?? 0;
  return provider;
}

/** The static gate's luma thumbnail of a decoded (yuv420p) frame; undefined without pixel data. */
function frameThumbnail(frame: Frame): Uint8Array | undefined {
  const y = frame.data?.[0];
  return y ? lumaThumbnail(y, frame.linesize[0], frame.width, frame.height) : undefined;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/**
 * x264's variance-AQ strength for an encode's offsets: a detector method's `/aq<strength>`
 * wins; JND-guided offsets take the JND's; box offsets and the rest keep x264's 1.
 */
export function encodeAqStrength(det: DetectorOffsetSpec | undefined, jndGuided: boolean, jndAqStrength: number): number {
  return det?.aqStrength ?? (jndGuided ? jndAqStrength : 1);
}

/**
 * The x264 settings of a JND-guided encode: x264's variance AQ at `aqStrength` unless the
 * caller's x264Params already set aq-strength (1: x264's default, settings untouched).
 */
export function jndX264Settings(x264: X264Settings, aqStrength: number): X264Settings {
  if (aqStrength === 1 || parseX264Params(x264.x264Params).has('aq-strength')) return x264;
  const extra = `aq-strength=${aqStrength}`;
  return { ...x264, x264Params: x264.x264Params ? `${x264.x264Params}:${extra}` : extra };
}

function checkJndSettings(j: JndSettings): void {
  const bad = (what: string) => new DmvjndError('arguments', undefined, what);
  if (!Number.isInteger(j.view) || j.view < 32) throw bad(`expected --view to be an integer >= 32 but received ${j.view}`);
  if (!(j.jndGain >= 0) || !Number.isFinite(j.jndGain)) throw bad(`expected --jnd-gain >= 0 but received ${j.jndGain}`);
  if (!Number.isInteger(j.analysisMaxStride) || (j.analysisMaxStride !== 0 && j.analysisMaxStride < j.analysisStride)) {
    throw bad(`expected --analysis-max-stride to be 0 (off) or an integer >= --analysis-stride (${j.analysisStride}) but received ${j.analysisMaxStride}`);
  }
  if (!Number.isInteger(j.analysisStride) || j.analysisStride < 1) {
    throw bad(`expected --analysis-stride to be an integer >= 1 but received ${j.analysisStride}`);
  }
  if (!(j.aqStrength >= 0 && j.aqStrength <= MAX_AQ_STRENGTH)) {
    throw bad(`expected --jnd-aq-strength between 0 and ${MAX_AQ_STRENGTH} but received ${j.aqStrength}`);
  }
  if (!ANALYSIS_PRECISIONS.includes(j.precision)) {
    throw bad(`expected --analysis-precision to be ${ANALYSIS_PRECISIONS.join(' or ')} but received ${j.precision}`);
  }
  if (!(j.minOffset <= 0 && j.maxOffset >= 0 && j.minOffset >= -51 && j.maxOffset <= 51)) {
    throw bad(`expected an offset range within [-51, 51] that contains 0 but received [${j.minOffset}, ${j.maxOffset}]`);
  }
}
