/**
 * Spearman(pooled JND per macroblock, read-back QP) on intra frames of a clip: the JND
 * encode's own settings with every sampled frame coded intra (keyint 1) and analysed
 * (stride 1), then the decoder's per-MB QPs compared with the map that produced them.
 * Shared by bench/jnd-vs-x264.ts (the table's column) and bench/spearman-readback.ts.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalysisMemo } from '../src/analysis/analyser.ts';
import { FrameAnalyser } from '../src/analysis/analyser.ts';
import type { ModelSet } from '../src/inference/models.ts';
import { poolJndPerMacroblock } from '../src/jnd/qp-mapping.ts';
import { encodeVideo } from '../src/media/encode.ts';
import { probeMedia } from '../src/media/probe.ts';
import { readQpMaps } from '../src/media/qp-readback.ts';
import type { X264Settings } from '../src/media/x264-settings.ts';
import { spearman } from '../src/metrics/spearman.ts';
import { jndOffsetProvider, jndX264Settings, type JndSettings } from '../src/pipeline.ts';
import { median } from './common.ts';

/**
 * Which frames of a clip to code intra. 'first': the first n (what this bench measured
 * until 2026-11-26; animation's are a fade from black, 16 -> 19 mean luma). 'spread': the
 * middle frame of each of n equal segments of the clip, so the sample covers the clip.
 */
export type IntraSample = 'first' | 'spread';

/** Decode indices of the n frames a sample takes from a clip of `total` frames (ascending, distinct). */
export function intraSampleIndices(total: number, n: number, sample: IntraSample): number[] {
  if (!(Number.isInteger(total) && total > 0) || !(Number.isInteger(n) && n > 0)) {
    throw new Error(`expected positive integer frame counts but received total ${total}, n ${n}`);
  }
  const k = Math.min(n, total);
  if (sample === 'first') return Array.from({ length: k }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * total) / k));
}

export interface IntraFrameRho {
  /** Decode index of the frame in the clip. */
  index: number;
  /** Over all macroblocks; null where either map is constant. */
  rho: number | null;
  /** Over macroblocks whose read-back QP differs from the previous one in raster order. */
  rhoOwnQp: number | null;
  ownQpShare: number;
  /** p90 - p10 of the frame's JND offsets (QP). */
  offsetSpread: number;
}

export interface IntraSpearman {
  sample: IntraSample;
  frames: IntraFrameRho[];
  /** Medians over the frames (rho: over the frames where it is defined). */
  rho: number | null;
  /** The lowest per-frame rho; null where it is undefined on some frame (a constant map: black frames). */
  rhoMin: number | null;
  rhoOwnQp: number | null;
  ownQpShare: number | null;
  offsetSpread: number | null;
}

export async function intraSpearman(
  clip: string,
  opts: {
    models: ModelSet;
    /** The JND encode's settings (analysis stride is forced to 1). */
    jnd: JndSettings;
    /** The JND encode's x264 settings before its AQ strength is applied (keyint is forced to 1). */
    x264: X264Settings;
    frames?: number;
    sample?: IntraSample;
    memo?: AnalysisMemo;
  },
): Promise<IntraSpearman> {
  const sample = opts.sample ?? 'spread';
  const wanted = intraSampleIndices((await probeMedia(clip)).frames, opts.frames ?? 8, sample);
  const wantedSet = new Set(wanted);
  const analyser = new FrameAnalyser(opts.models, opts.jnd.view, opts.memo?.scope(clip, opts.jnd.view, opts.models));
  const pooled = new Map<number, Float32Array>();
  const spreads = new Map<number, number>();
  const x264 = jndX264Settings({ ...opts.x264, keyint: 1 }, opts.jnd.aqStrength);
  const out = join(tmpdir(), `dmvjnd-intra-spearman-${process.pid}.mp4`);
  const frames: IntraFrameRho[] = [];
  try {
    await encodeVideo({
      input: clip, output: out, x264,
      maxFrames: wanted[wanted.length - 1] + 1,
      selectFrames: (i) => wantedSet.has(i),
      offsets: jndOffsetProvider(analyser, x264, { ...opts.jnd, analysisStride: 1 }, {
        onMap: ({ index, grid, jnd, offsets }) => {
          pooled.set(index, poolJndPerMacroblock(jnd.jnd, jnd.view, grid, opts.jnd.pooling));
          const o = Array.from(offsets).sort((a, b) => a - b);
          spreads.set(index, o[Math.floor(0.9 * (o.length - 1))] - o[Math.floor(0.1 * (o.length - 1))]);
        },
      }),
    });
    // keyint 1: no reordering, so the k-th decoded output frame is the k-th kept frame.
    let k = 0;
    for await (const m of readQpMaps(out)) {
      const index = wanted[k++];
      const j = Array.from(pooled.get(index)!);
      const q = Array.from(m.qp);
      const own = q.map((v, i) => i === 0 || v !== q[i - 1]);
      frames.push({
        index,
        rho: spearman(j, q),
        rhoOwnQp: spearman(j.filter((_, i) => own[i]), q.filter((_, i) => own[i])),
        ownQpShare: own.filter(Boolean).length / own.length,
        offsetSpread: spreads.get(index)!,
      });
    }
    if (k !== wanted.length) throw new Error(`${clip}: expected ${wanted.length} intra frames back but read ${k}`);
  } finally {
    analyser.close();
    rmSync(out, { force: true });
  }
  const med = (xs: Array<number | null>) => median(xs.filter((x): x is number => x !== null));
  return {
    sample,
    frames,
    rho: med(frames.map((f) => f.rho)),
    rhoMin: frames.some((f) => f.rho === null) ? null : Math.min(...frames.map((f) => f.rho!)),
    rhoOwnQp: med(frames.map((f) => f.rhoOwnQp)),
    ownQpShare: med(frames.map((f) => f.ownQpShare)),
    offsetSpread: med(frames.map((f) => f.offsetSpread)),
  };
}
