/**
 * A detector as a machine: frame -> network input (swscale, area filter; squashed or
 * letterboxed) -> DetectorRunner -> detections in frame pixels. Agreement: detections on
 * the encoded frame matched to those on the reference (metrics/detection.ts): F1 (the
 * headline), precision, recall, mAP@0.5 with the reference as pseudo ground truth.
 */
import type { Frame } from 'node-av/lib';
import { FrameRgbScaler } from '../analysis/frame-scaler.ts';
import { DEFAULT_DETECTION_MATCH, DetectionTally, type DetectionMatchOptions } from '../metrics/detection.ts';
import { letterbox } from './detection-decode.ts';
import type { DetectorOutput, DetectorRunner, InputSize, Resize } from './detector-runner.ts';
import type { AgreementTally, Machine, MachineScores } from './machine.ts';
import { boxSaliency } from '../offsets/detector-roi.ts';
import type { SaliencyMap } from './types.ts';

export const DETECTOR_QUALITY_KINDS = ['f1', 'map50', 'map50_weighted', 'precision', 'recall'] as const;

/** Frame -> packed RGB as the detector's input wants it (letterbox padding value 114, as Ultralytics). */
export class DetectorInputScaler {
  private readonly scaler = new FrameRgbScaler();

  constructor(readonly resize: Resize) {}

  // One swscale context: conversions run one at a time (concurrent ones on one context crash).
  private chain: Promise<unknown> = Promise.resolve();

  rgb(frame: Frame): Promise<Uint8Array> {
    const next = this.chain.then(() => this.convert(frame));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async convert(frame: Frame): Promise<Uint8Array> {
    const { size } = this.resize;
    if (this.resize.kind === 'squash') return this.scaler.rgb(frame, size);
    const lb = letterbox(frame.width, frame.height, size.width, size.height);
    const inner = await this.scaler.rgb(frame, { width: lb.newW, height: lb.newH });
    return padInto(inner, lb.newW, lb.newH, size, Math.floor(lb.padX), Math.floor(lb.padY));
  }

  /** Resolves when no conversion is running (closing the context under one crashes the process). */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  close(): void {
    this.scaler.close();
  }
}

function padInto(inner: Uint8Array, w: number, h: number, size: InputSize, x0: number, y0: number): Uint8Array {
  const out = new Uint8Array(size.width * size.height * 3).fill(114);
  for (let y = 0; y < h; y++) out.set(inner.subarray(y * w * 3, (y + 1) * w * 3), ((y + y0) * size.width + x0) * 3);
  return out;
}

export class DetectorMachine implements Machine<DetectorOutput> {
  readonly kind = 'detector' as const;
  readonly qualityKinds = DETECTOR_QUALITY_KINDS;
  private readonly scaler: DetectorInputScaler;
  /** With the detector-trained DMV-JND loaded: its file's identity (the guide of dmv-jnd offsets), else undefined. */
  jndFingerprint: string | undefined;

  constructor(
    readonly name: string,
    readonly runner: DetectorRunner,
    readonly fingerprint: string,
    readonly match: DetectionMatchOptions = DEFAULT_DETECTION_MATCH,
  ) {
    this.scaler = new DetectorInputScaler(runner.resize);
  }

  get provider(): 'cpu' | 'cuda' {
    return this.runner.provider;
  }

  async decide(frame: Frame): Promise<DetectorOutput> {
    return this.runner.run(await this.scaler.rgb(frame), frame.width, frame.height);
  }

  tally(): AgreementTally<DetectorOutput> {
    const t = new DetectionTally(this.match);
    return {
      add: (ref, test) => t.add(ref.detections, test.detections),
      summary: () => ({ ...t.summary(), thresholds: { ...this.match } }) as MachineScores,
    };
  }

  quality(scores: MachineScores, kind: string): number | null {
    const v = scores[kind];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }

  /** The class-max heatmap where the network has one, else the detected boxes' scores. */
  async saliency(frame: Frame): Promise<SaliencyMap> {
    const out = await this.decide(frame);
    return out.heatmap ?? boxSaliency(out.detections, frame.width, frame.height, { minScore: this.match.low });
  }

  async release(): Promise<void> {
    await this.scaler.idle();
    this.scaler.close();
    await this.runner.release();
  }
}
