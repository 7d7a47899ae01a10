/**
 * Verification: do the machines still decide the same on the encoded video?
 * Both videos are decoded in lockstep, frames are aligned by presentation time, and each
 * machine (machines/machine.ts) compares its decisions on the encoded frame with those on
 * the reference frame: detection F1 and mAP@0.5 for detectors, RCA (paper Eqs. 16-17) for
 * the CIFAR classifiers, top-1 agreement for a user classifier. PSNR-Y comes along.
 */
import { statSync } from 'node:fs';
import { DmvjndError } from '../errors.ts';
import type { ModelSet } from '../inference/models.ts';
import { CifarMachine, type CifarRcaReport } from '../machines/cifar.ts';
import type { AgreementTally, Machine, MachineScores } from '../machines/machine.ts';
import { decodeVideo, openInput, type DecodedFrame, type InputSpec } from '../media/source.ts';
import { lumaSquaredError, psnrFromSse } from './psnr.ts';

export type { RcaByClassifier, RcaSummary } from '../machines/cifar.ts';

export interface VerifyReport {
  reference: string;
  encoded: string;
  frames: number;
  bytes: number;
  duration: number;
  bitrate_kbps: number;
  psnr_y_db: number;
  /** The CIFAR classifiers' RCA (when verified with the model set: the paper reproduction), else null. */
  rca: CifarRcaReport | null;
  /** Every machine's agreement scores, by machine name (the CIFAR set as `cifar`). */
  machines: Record<string, MachineScores>;
  timings_ms: { total: number };
}

export interface VerifyOptions {
  reference: InputSpec | string;
  encoded: string;
  /** The CIFAR model set: RCA as `rca` and `machines.cifar`. Optional when machines are given. */
  models?: ModelSet;
  /** Machines to verify with (their owner releases them). */
  machines?: Machine[];
  view: number;
  tau: number;
  onProgress?: (frames: number, total: number | undefined) => void;
  /** Compare only the first N frames of the reference (when the encode was cut to N). */
  maxFrames?: number;
  /** Skip this many reference frames first (when the encode started mid-clip); default 0. */
  startFrame?: number;
  /**
   * Reuse the reference's decisions across verifications of the same reference (a
   * benchmark verifies many encodes of one clip): halves the machine work.
   */
  referenceCache?: ReferenceDecisionCache;
}

/** Reference decisions per (reference, machine, start frame) and frame index. */
export class ReferenceDecisionCache {
  private readonly entries = new Map<string, unknown[]>();

  frames(reference: string, machine: Pick<Machine, 'fingerprint'>, startFrame = 0): unknown[] {
    const key = `${reference}\u0000${machine.fingerprint}\u0000${startFrame}`;
    let list = this.entries.get(key);
    if (!list) this.entries.set(key, (list = []));
    return list;
  }
}

export async function verifyVideos(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const cifar = opts.models ? new CifarMachine(opts.models, opts.view, opts.tau) : undefined;
  const machines: Machine[] = [...(cifar ? [cifar as Machine] : []), ...(opts.machines ?? []).filter((m) => !(cifar && m.name === cifar.name))];
  if (machines.length === 0) throw new Error('verifyVideos needs a model set or at least one machine');
  const ref = await openInput(opts.reference);
  const enc = await openInput(opts.encoded).catch(async (err) => {
    await ref.close();
    throw err;
  });
  const tallies: AgreementTally<unknown>[] = machines.map((m) => (m as Machine<unknown>).tally());
  let sse = 0;
  let count = 0;
  let frames = 0;
  let firstTime: number | undefined;
  let encFirstTime: number | undefined;
  let endTime = 0;
  const startFrame = opts.startFrame ?? 0;
  const refCaches = machines.map((m) => opts.referenceCache?.frames(ref.label, m, startFrame));
  const refFrames = decodeVideo(ref);
  const encFrames = decodeVideo(enc);
  const refTb = ref.video.timeBase;
  const encTb = enc.video.timeBase;
  const frameDur = 1 / Math.max(1e-9, rateOf(ref.video.avgFrameRate) || rateOf(enc.video.avgFrameRate) || 25);
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
        for (let i = 0; i < machines.length; i++) {
          const cache = refCaches[i];
          const cached = cache?.[frames];
          const da = cached ?? (await machines[i].decide(a.value.frame));
          if (cache && cached === undefined) cache[frames] = da;
          tallies[i].add(da, await machines[i].decide(b.value.frame));
        }
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
    await cifar?.release();
    await ref.close();
    await enc.close();
  }
  const bytes = statSync(opts.encoded).size;
  const duration = Math.max(0, endTime - (firstTime ?? 0));
  const scores: Record<string, MachineScores> = {};
  machines.forEach((m, i) => (scores[m.name] = tallies[i].summary()));
  return {
    reference: ref.label,
    encoded: opts.encoded,
    frames,
    bytes,
    duration,
    bitrate_kbps: duration > 0 ? (bytes * 8) / duration / 1000 : 0,
    psnr_y_db: psnrFromSse(sse, count),
    rca: cifar ? (scores[cifar.name] as unknown as CifarRcaReport) : null,
    machines: scores,
    timings_ms: { total: performance.now() - t0 },
  };
}

function seconds(d: DecodedFrame, tb: { num: number; den: number }): number {
  return (Number(d.frame.pts) * tb.num) / tb.den;
}

function rateOf(r: { num: number; den: number }): number {
  return r.den ? r.num / r.den : 0;
}
