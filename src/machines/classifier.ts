/**
 * Bring your own classifier (`classifier:<file.onnx>`): its global top-1 on the whole frame
 * resized to its input (ImageNet normalisation unless told otherwise). Agreement: how often
 * its top-1 on the encoded frame equals its top-1 on the reference, over all frames and
 * over confident ones (reference softmax >= tau).
 */
import type { Frame } from 'node-av/lib';
import { FrameRgbScaler } from '../analysis/frame-scaler.ts';
import { normaliseRgb } from '../analysis/machine-view.ts';
import type { ClassifierModel } from '../inference/models.ts';
import { runSession } from '../inference/onnx.ts';
import { addCounts, emptyCounts, rcaCounts, rcaFraction, softmaxTop1, type Decisions } from '../metrics/rca.ts';
import type { AgreementTally, Machine, MachineScores } from './machine.ts';

export class ClassifierMachine implements Machine<Decisions> {
  readonly kind = 'classifier' as const;
  readonly qualityKinds = ['top1_agreement', 'top1_agreement_confident'] as const;
  private readonly scaler = new FrameRgbScaler();

  constructor(
    readonly name: string,
    readonly model: ClassifierModel,
    readonly fingerprint: string,
    readonly tau: number,
  ) {}

  get provider(): 'cpu' | 'cuda' {
    return this.model.loaded.provider;
  }

  async decide(frame: Frame): Promise<Decisions> {
    const m = this.model;
    const size = { width: m.inputSize ?? 224, height: m.inputSize ?? 224 };
    const x = normaliseRgb(await this.scaler.rgb(frame, size), size, m.normalisation);
    const r = await runSession(m.loaded, { [m.inputName]: { data: x, dims: [1, 3, size.height, size.width] } }, [m.logitsName]);
    const logits = r[m.logitsName].data;
    return softmaxTop1(logits, logits.length, 1);
  }

  tally(): AgreementTally<Decisions> {
    let counts = emptyCounts();
    let frames = 0;
    return {
      add: (ref, test) => {
        counts = addCounts(counts, rcaCounts(ref, test, this.tau));
        frames++;
      },
      summary: () => ({
        top1_agreement: rcaFraction(counts.all),
        top1_agreement_confident: rcaFraction(counts.confident),
        tau: this.tau,
        frames,
        confident_frames: counts.confident.total,
      }),
    };
  }

  quality(scores: MachineScores, kind: string): number | null {
    const v = scores[kind];
    return typeof v === 'number' ? v : null;
  }

  async release(): Promise<void> {
    this.scaler.close();
    await this.model.loaded.session.release();
  }
}
