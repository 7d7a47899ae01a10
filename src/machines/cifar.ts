/**
 * The paper reproduction's machine: the four CIFAR-10 classifiers the DMV-JND was trained
 * against plus the held-out MobileNet (and any user classifiers), on the frame's 128 px
 * machine view, with global and regional decisions. Agreement is RCA (paper Eqs. 16-17)
 * over all and over confident decisions; its summary is the `rca` object reports have
 * always carried.
 */
import type { Frame } from 'node-av/lib';
import { FrameAnalyser, type ClassifierDecisions } from '../analysis/analyser.ts';
import type { ModelSet } from '../inference/models.ts';
import { addCounts, emptyCounts, meanFraction, rcaCounts, rcaFraction, type RcaCounts } from '../metrics/rca.ts';
import type { AgreementTally, Machine, MachineScores } from './machine.ts';

export interface RcaByClassifier {
  [classifier: string]: number | null;
}

export interface RcaSummary {
  all: number | null;
  confident: number | null;
  /** Per classifier, over all decisions and over confident decisions. */
  per_classifier: { all: RcaByClassifier; confident: RcaByClassifier };
  /** Decisions counted (all, confident), summed over the JND classifiers. */
  decisions: { all: number; confident: number };
}

export interface CifarRcaReport {
  tau: number;
  view: { short_side: number; width: number; height: number; windows: number };
  global: RcaSummary;
  regional: RcaSummary;
  heldout: { name: string | null; global: { all: number | null; confident: number | null }; regional: { all: number | null; confident: number | null } };
  user: Record<string, { global: { all: number | null; confident: number | null } }>;
}

type Kind = 'global' | 'regional';
type Tally = Map<string, Record<Kind, RcaCounts>>;

/** The CIFAR RCA kinds a benchmark plots against, the headline first. */
export const CIFAR_QUALITY_KINDS = ['regional_confident', 'global_confident', 'regional_all'] as const;

export class CifarMachine implements Machine<ClassifierDecisions[]> {
  readonly kind = 'classifier' as const;
  readonly qualityKinds = CIFAR_QUALITY_KINDS;
  readonly analyser: FrameAnalyser;
  private lastView = { view: { width: 0, height: 0 }, windows: 0 };

  constructor(
    readonly models: ModelSet,
    readonly view: number,
    readonly tau: number,
    /** Release the model set with the machine (false when the caller shares it). */
    private readonly ownsModels = false,
    readonly name = 'cifar',
  ) {
    this.analyser = new FrameAnalyser(models, view);
  }

  get provider(): 'cpu' | 'cuda' {
    return this.models.provider;
  }

  get fingerprint(): string {
    return `cifar|${this.view}|${this.models.dir}|${this.models.user.map((m) => m.loaded.path).join(',')}`;
  }

  quality(scores: MachineScores, kind: string): number | null {
    const r = scores as unknown as CifarRcaReport;
    switch (kind) {
      case 'regional_confident':
        return r.regional?.confident ?? null;
      case 'global_confident':
        return r.global?.confident ?? null;
      case 'regional_all':
        return r.regional?.all ?? null;
      default:
        return null;
    }
  }

  async decide(frame: Frame): Promise<ClassifierDecisions[]> {
    const v = this.analyser.viewFor(frame.width, frame.height);
    this.lastView = { view: v.view, windows: v.windows.count };
    return this.analyser.decisions(frame);
  }

  tally(): AgreementTally<ClassifierDecisions[]> {
    const tally: Tally = new Map();
    const models = this.models;
    return {
      add: (ref, test) => accumulate(tally, ref, test, this.tau),
      summary: (): MachineScores => {
        const jndNames = models.jnd.map((m) => m.name);
        const heldout = models.heldout?.name ?? null;
        const pick = (name: string | null, kind: Kind) => {
          const c = name ? tally.get(name)?.[kind] : undefined;
          return { all: c ? rcaFraction(c.all) : null, confident: c ? rcaFraction(c.confident) : null };
        };
        const user: CifarRcaReport['user'] = {};
        for (const m of models.user) user[m.name] = { global: pick(m.name, 'global') };
        const regional = summarise(tally, jndNames, 'regional');
        const global = summarise(tally, jndNames, 'global');
        const report: CifarRcaReport = {
          tau: this.tau,
          view: { short_side: this.view, ...this.lastView.view, windows: this.lastView.windows },
          global,
          regional,
          heldout: { name: heldout, global: pick(heldout, 'global'), regional: pick(heldout, 'regional') },
          user,
        };
        return report as unknown as MachineScores;
      },
    };
  }

  async release(): Promise<void> {
    this.analyser.close();
    if (this.ownsModels) await this.models.release();
  }
}

function accumulate(tally: Tally, ref: ClassifierDecisions[], test: ClassifierDecisions[], tau: number): void {
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i];
    const t = test[i];
    let entry = tally.get(r.name);
    if (!entry) tally.set(r.name, (entry = { global: emptyCounts(), regional: emptyCounts() }));
    entry.global = addCounts(entry.global, rcaCounts(r.global, t.global, tau));
    if (r.regional && t.regional) entry.regional = addCounts(entry.regional, rcaCounts(r.regional, t.regional, tau));
  }
}

/** Mean of per-classifier fractions (paper Eq. 17), plus the per-classifier table. */
function summarise(tally: Tally, names: string[], kind: Kind): RcaSummary {
  const all: RcaByClassifier = {};
  const confident: RcaByClassifier = {};
  let nAll = 0;
  let nConf = 0;
  for (const name of names) {
    const c = tally.get(name)?.[kind];
    all[name] = c ? rcaFraction(c.all) : null;
    confident[name] = c ? rcaFraction(c.confident) : null;
    nAll += c?.all.total ?? 0;
    nConf += c?.confident.total ?? 0;
  }
  // Classifiers with no (confident) decision on these frames have no RCA; average the rest.
  return {
    all: meanFraction(Object.values(all)),
    confident: meanFraction(Object.values(confident)),
    per_classifier: { all, confident },
    decisions: { all: nAll, confident: nConf },
  };
}
