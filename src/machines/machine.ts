/**
 * A machine: the consumer dmvjnd encodes for. One interface for detectors and classifiers,
 * so a new machine is one file (registry.ts names them):
 *   decide(frame)      its decisions on a decoded frame (detections, top-1 labels, ...)
 *   tally()            an accumulator comparing reference and test decisions frame by frame
 *                      into agreement scores (F1 and mAP@0.5 for detectors, RCA for the
 *                      CIFAR classifiers, top-1 agreement for a user classifier)
 *   saliency(frame)    where it looks, per pixel in [0, 1] (baselines, pictures, guidance)
 * Sessions are loaded once, on CUDA or CPU as the provider says.
 */
import type { Frame } from 'node-av/lib';
import type { SaliencyMap } from './types.ts';

/** One machine's agreement scores on a pair of videos (`machines.<name>` in reports). */
export type MachineScores = Record<string, unknown>;

export interface AgreementTally<D> {
  /** Compare one frame's decisions on the encoded video with those on the reference. */
  add(reference: D, test: D): void;
  summary(): MachineScores;
}

export interface Machine<D = unknown> {
  /** As given on the command line: centernet, nanodet, cifar, yolo:<file>, classifier:<file>. */
  readonly name: string;
  readonly kind: 'detector' | 'classifier';
  /**
   * The scores a benchmark can plot bitrate against (keys of the summary holding a number
   * in [0, 1]), the headline first.
   */
  readonly qualityKinds: readonly string[];
  /** Where the sessions run. */
  readonly provider: 'cpu' | 'cuda';
  /** What makes cached decisions valid: model file hashes and settings. */
  readonly fingerprint: string;
  /** The value of one of qualityKinds in a summary of this machine (null: nothing counted). */
  quality(scores: MachineScores, kind: string): number | null;
  decide(frame: Frame): Promise<D>;
  tally(): AgreementTally<D>;
  saliency?(frame: Frame): Promise<SaliencyMap>;
  release(): Promise<void>;
}

/** A number-valued score of a summary, or null. */
export function scoreOf(scores: MachineScores | undefined, kind: string): number | null {
  const v = scores?.[kind];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
