/**
 * Machine names as users write them, and loading them:
 *   centernet            the default: MobileNetV3 + CenterNet, 80 COCO classes (models/detectors/)
 *   nanodet              NanoDet, 80 COCO classes: the held-out detector (never used to choose
 *                        settings or to train)
 *   cifar                the paper reproduction: four CIFAR-10 classifiers + held-out MobileNet, RCA
 *   yolo:<file.onnx>     your own Ultralytics YOLO export (v8/v11 [1,4+C,N] or v5 [1,N,5+C])
 *   classifier:<file>    your own image classifier (global top-1)
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DmvjndError } from '../errors.ts';
import { DEFAULT_MODELS_DIR, loadModels, loadUserClassifier, type ModelSet, type UserClassifierSpec } from '../inference/models.ts';
import type { Provider } from '../inference/onnx.ts';
import { DEFAULT_DETECTION_MATCH, type DetectionMatchOptions } from '../metrics/detection.ts';
import { CifarMachine } from './cifar.ts';
import { ClassifierMachine } from './classifier.ts';
import { DetectorMachine } from './detector.ts';
import { DETECTOR_JND_FILE, loadDetectorRunner, type InputSize } from './detector-runner.ts';
import type { Machine } from './machine.ts';

export const DEFAULT_MACHINE = 'centernet';
export const MACHINE_HELP = 'centernet (default: COCO detector) | nanodet (held-out COCO detector) | cifar (the paper\'s CIFAR-10 classifiers, RCA) | yolo:<file.onnx> (your Ultralytics YOLO export) | classifier:<file.onnx> (your image classifier, global top-1)';

export type MachineSpec =
  | { kind: 'centernet' | 'nanodet' | 'cifar'; name: string }
  | { kind: 'yolo' | 'classifier'; name: string; path: string };

export function parseMachine(text: string): MachineSpec {
  const t = String(text).trim();
  if (t === 'centernet' || t === 'nanodet' || t === 'cifar') return { kind: t, name: t };
  const m = /^(yolo|classifier):(.+)$/.exec(t);
  if (m) {
    const path = m[2];
    if (!existsSync(path)) throw new DmvjndError('load model', path, `the ${m[1]} model file given to --machine does not exist`);
    return { kind: m[1] as 'yolo' | 'classifier', name: t, path };
  }
  throw new DmvjndError('arguments', undefined, `expected --machine to be centernet, nanodet, cifar, yolo:<file.onnx> or classifier:<file.onnx> but received "${t}"`);
}

export function isDetector(spec: MachineSpec): boolean {
  return spec.kind === 'centernet' || spec.kind === 'nanodet' || spec.kind === 'yolo';
}

export interface LoadMachineOptions {
  modelsDir?: string;
  provider?: Provider;
  threads?: number;
  onNote?: (line: string) => void;
  /** cifar: the view and tau of RCA. */
  view?: number;
  tau?: number;
  /** cifar: an already loaded model set to share (released by its owner). */
  cifarModels?: ModelSet;
  userClassifiers?: UserClassifierSpec[];
  /** Detectors: the network input size (default: native). */
  detectorSize?: InputSize;
  match?: DetectionMatchOptions;
  /** Detectors (centernet): also load the detector-trained DMV-JND generator. */
  withJnd?: boolean;
  /** classifier:<file>: input size and normalisation. */
  classifier?: Omit<UserClassifierSpec, 'path'>;
}

export async function loadMachine(spec: MachineSpec | string, opts: LoadMachineOptions = {}): Promise<Machine> {
  const s = typeof spec === 'string' ? parseMachine(spec) : spec;
  const dir = resolve(opts.modelsDir ?? DEFAULT_MODELS_DIR);
  const provider = opts.provider ?? 'auto';
  const common = { provider, threads: opts.threads, onNote: opts.onNote };
  switch (s.kind) {
    case 'cifar': {
      const models = opts.cifarModels ?? (await loadModels({ dir, ...common, generator: false, userClassifiers: opts.userClassifiers }));
      return new CifarMachine(models, opts.view ?? 128, opts.tau ?? 0.5, opts.cifarModels === undefined);
    }
    case 'classifier': {
      const model = await loadUserClassifier({ path: s.path, ...opts.classifier }, common);
      return new ClassifierMachine(s.name, model, `${s.name}|${fileHash(s.path)}|${model.inputSize}`, opts.tau ?? 0.5);
    }
    case 'centernet':
    case 'nanodet':
    case 'yolo': {
      const runner = await loadDetectorRunner(
        s.kind === 'yolo' ? { kind: 'yolo', path: s.path, size: opts.detectorSize } : { kind: s.kind, path: dir, size: opts.detectorSize },
        { ...common, withJnd: opts.withJnd },
      );
      const match = opts.match ?? DEFAULT_DETECTION_MATCH;
      const size = runner.resize.size;
      const fingerprint = [s.name, ...runner.files.map(fileHash), `${runner.resize.kind}:${size.width}x${size.height}`, JSON.stringify(match)].join('|');
      const machine = new DetectorMachine(s.name, runner, fingerprint, match);
      if (opts.withJnd) machine.jndFingerprint = `jnd:${fileHash(join(dir, 'detectors', DETECTOR_JND_FILE))}`;
      return machine;
    }
  }
}

/** Size and content hash of a model file (not its mtime, which a fresh clone resets). */
export function fileHash(path: string): string {
  try {
    return `${statSync(path).size}:${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`;
  } catch {
    return 'missing';
  }
}
