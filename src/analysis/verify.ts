/**
 * Verification: do the classifiers still decide the same on the encoded video?
 * Both videos are decoded in lockstep, frames are aligned by presentation time, each
 * classifier's global and regional decisions on the encoded frame are compared with
 * its decisions on the reference frame (RCA, paper Eqs. 16-17), over all decisions and
 * over confident ones (reference top-1 softmax >= tau). PSNR-Y comes along.
 */
import { statSync } from 'node:fs';
import { DmvjndError } from '../errors.ts';
import type { ModelSet } from '../inference/models.ts';
import { decodeVideo, openInput, type DecodedFrame, type InputSpec } from '../media/source.ts';
import { addCounts, emptyCounts, meanFraction, rcaCounts, rcaFraction, type RcaCounts } from '../metrics/rca.ts';
import { FrameAnalyser, type ClassifierDecisions } from './analyser.ts';
import { lumaSquaredError, psnrFromSse } from './psnr.ts';

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

export interface VerifyReport {
  reference: string;
  encoded: string;
  frames: number;
  bytes: number;
  duration: number;
  bitrate_kbps: number;
  psnr_y_db: number;
  rca: {
    tau: number;
    view: { short_side: number; width: number; height: number; windows: number };
    global: RcaSummary;
    regional: RcaSummary;
    heldout: { name: string | null; global: { all: number | null; confident: number | null }; regional: { all: number | null; confident: number | null } };
    user: Record<string, { global: { all: number | null; confident: number | null } }>;
  };
  timings_ms: { total: number };
}

export interface VerifyOptions {
  reference: InputSpec | string;
  encoded: string;
  models: ModelSet;
  view: number;
  tau: number;
  onProgress?: (frames: number, total: number | undefined) => void;
  /** Compare only the first N frames of the reference (when the encode was cut to N). */
  maxFrames?: number;
  /** Skip this many reference frames first (when the encode started mid-clip); default 0. */
  startFrame?: number;
  /**
   * Reuse the reference's decisions across verifications of the same reference (a
   * benchmark verifies many encodes of one clip): halves the classifier work.
   */
  referenceCache?: ReferenceDecisionCache;
}

/** Reference decisions per (reference, view, models) and frame index. */
export class ReferenceDecisionCache {
  private readonly entries = new Map<string, ClassifierDecisions[][]>();

  frames(reference: string, view: number, models: ModelSet, startFrame = 0): ClassifierDecisions[][] {
    const key = `${reference}\u0000${view}\u0000${models.dir}\u0000${models.user.map((m) => m.loaded.path).join(',')}\u0000${startFrame}`;
    let list = this.entries.get(key);
    if (!list) this.entries.set(key, (list = []));
    return list;
  }
}

type Kind = 'global' | 'regional';
type Tally = Map<string, Record<Kind, RcaCounts>>;

export async function verifyVideos(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const analyser = new FrameAnalyser(opts.models, opts.view);
  const ref = await openInput(opts.reference);
  const enc = await openInput(opts.encoded).catch(async (err) => {
    await ref.close();
    throw err;
  });
  const tally: Tally = new Map();
  let sse = 0;
  let count = 0;
  let frames = 0;
  let firstTime: number | undefined;
  let encFirstTime: number | undefined;
  let endTime = 0;
  const startFrame = opts.startFrame ?? 0;
  const refCache = opts.referenceCache?.frames(ref.label, opts.view, opts.models, startFrame);
  const refFrames = decodeVideo(ref);
  const encFrames = decodeVideo(enc);
  const refTb = ref.video.timeBase;
  const encTb = enc.video.timeBase;
  const frameDur = 1 / Math.max(1e-9, rateOf(ref.video.avgFrameRate) || rateOf(enc.video.avgFrameRate) || 25);
  let view = { width: 0, height: 0 };
  let windows = 0;
  try {
    for (let skipped = 0; skipped < startFrame; skipped++) {
      const a = await refFrames.next();
      if (a.done) throw new DmvjndError('verify', ref.label, `the video has ${skipped} frames, fewer than the start frame ${startFrame}`);
      a.value.frame.free();
    }
    for (;;) {
      if (opts.maxFrames !== undefined && frames >= opts.maxFrames) {
        const extra = await encFrames.next();
        if (!extra.done) {
          extra.value.frame.free();
          throw new DmvjndError('verify', opts.encoded, `frame counts differ: this video has more than the ${frames} frames compared`);
        }
        break;
      }
      const [a, b] = await Promise.all([refFrames.next(), encFrames.next()]);
      if (a.done || b.done) {
        if (!a.done) a.value.frame.free();
        if (!b.done) b.value.frame.free();
        if (a.done !== b.done) {
          const more = a.done ? opts.encoded : ref.label;
          throw new DmvjndError('verify', more, `frame counts differ: this video has more than the ${frames} frames of the other`);
        }
        break;
      }
      try {
        const ta = seconds(a.value, refTb);
        const tb = seconds(b.value, encTb);
        firstTime ??= ta;
        encFirstTime ??= tb;
        endTime = ta + frameDur;
        // Timestamps are preserved by our encoder; a shift larger than half a frame
        // (relative to each video's first frame) means the two videos do not line up.
        if (Math.abs(ta - firstTime - (tb - encFirstTime)) > frameDur / 2) {
          throw new DmvjndError('verify', opts.encoded, `frame ${frames} is at ${tb.toFixed(3)} s but the reference frame is at ${ta.toFixed(3)} s: the videos are not aligned`);
        }
        if (a.value.frame.width !== b.value.frame.width || a.value.frame.height !== b.value.frame.height) {
          throw new DmvjndError('verify', opts.encoded, `frame size ${b.value.frame.width}x${b.value.frame.height} differs from the reference ${a.value.frame.width}x${a.value.frame.height}`);
        }
        const e = lumaSquaredError(a.value.frame, b.value.frame);
        sse += e.sse;
        count += e.count;
        const cached = refCache?.[frames];
        const da = cached ?? (await analyser.decisions(a.value.frame));
        if (refCache && !cached) refCache[frames] = da;
        const db = await analyser.decisions(b.value.frame);
        accumulate(tally, da, db, opts.tau);
        const v = analyser.viewFor(a.value.frame.width, a.value.frame.height);
        view = v.view;
        windows = v.windows.count;
      } finally {
        a.value.frame.free();
        b.value.frame.free();
      }
      frames++;
      opts.onProgress?.(frames, undefined);
    }
  } finally {
    await refFrames.return(undefined);
    await encFrames.return(undefined);
    analyser.close();
    await ref.close();
    await enc.close();
  }
  const bytes = statSync(opts.encoded).size;
  const duration = Math.max(0, endTime - (firstTime ?? 0));
  const models = opts.models;
  const jndNames = models.jnd.map((m) => m.name);
  const heldout = models.heldout?.name ?? null;
  const pick = (name: string | null, kind: Kind) => {
    const c = name ? tally.get(name)?.[kind] : undefined;
    return { all: c ? rcaFraction(c.all) : null, confident: c ? rcaFraction(c.confident) : null };
  };
  const user: VerifyReport['rca']['user'] = {};
  for (const m of models.user) user[m.name] = { global: pick(m.name, 'global') };
  return {
    reference: ref.label,
    encoded: opts.encoded,
    frames,
    bytes,
    duration,
    bitrate_kbps: duration > 0 ? (bytes * 8) / duration / 1000 : 0,
    psnr_y_db: psnrFromSse(sse, count),
    rca: {
      tau: opts.tau,
      view: { short_side: opts.view, ...view, windows },
      global: summarise(tally, jndNames, 'global'),
      regional: summarise(tally, jndNames, 'regional'),
      heldout: { name: heldout, global: pick(heldout, 'global'), regional: pick(heldout, 'regional') },
      user,
    },
    timings_ms: { total: performance.now() - t0 },
  };
}

function seconds(d: DecodedFrame, tb: { num: number; den: number }): number {
  return (Number(d.frame.pts) * tb.num) / tb.den;
}

function rateOf(r: { num: number; den: number }): number {
  return r.den ? r.num / r.den : 0;
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
