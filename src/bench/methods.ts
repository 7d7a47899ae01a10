/**
 * The benchmark's methods (issue 5). Every method runs through the same encoder with the
 * same settings; only the per-macroblock QP offsets differ:
 *
 *   x264          plain x264, default adaptive quantisation, no ROI side data at all
 *                 (the real-world baseline and the BD-rate anchor)
 *   x264-noaq     the offsets path with all-zero offsets: isolates our settings from our
 *                 offsets (with today's settings zero offsets give QP maps identical to
 *                 plain x264; the method is there to catch drift)
 *   cam-roi[@s]   merged CAM per macroblock -> camRoiOffsets (strength s, default 6 QP from
 *                 CAM 0 to 1, mean zero): the saliency/ROI baseline of coding for machines
 *   hvs-jnd[@g]   Yang/Chou-Li pixel-domain HVS JND on the luma plane, pooled per MB, the
 *                 same 2 x JND -> QP rule as ours (view = the full frame), gain g
 *   random[@g]    our DMV-JND offsets (gain g) for the frame at shuffled macroblock positions
 *                 (seeded PRNG): the same per-frame values, so the same mean and variance
 *   dmv-jnd[@g]   ours, at --jnd-gain g (default: the run's gain): the paper's absolute
 *                 rule, so the JND (through g), not the CRF, sets the rate
 *   dmv-jnd-centred  ours with each frame's offsets centred on zero: the CRF sets the rate
 *                 as for x264 and the JND only moves bits between macroblocks (g cancels)
 *
 * The offset generators are pure functions (unit-tested without models); the providers
 * wrap them for pipeline.encode's CustomOffsetMethod.
 */
import { DmvjndError } from '../errors.ts';
import type { FrameAnalyser } from '../analysis/analyser.ts';
import { placedQpOffsets, poolJndPerMacroblock, type JndPooling, type ViewSize } from '../jnd/qp-mapping.ts';
import type { OffsetProvider } from '../media/encode.ts';
import type { MacroblockGrid } from '../media/mb-grid.ts';
import type { X264Settings } from '../media/x264-settings.ts';
import { camRoiOffsets, shuffledOffsets } from '../offsets/controls.ts';
import { hvsJnd } from '../offsets/hvs-jnd.ts';
import { jndOffsetProvider, type CustomOffsetMethod, type EncodeOptions, type JndSettings } from '../pipeline.ts';

export const METHOD_FAMILIES = ['x264', 'x264-noaq', 'cam-roi', 'hvs-jnd', 'random', 'dmv-jnd', 'dmv-jnd-centred'] as const;
export type MethodFamily = (typeof METHOD_FAMILIES)[number];

/** The BD-rate anchor: every method is compared against it. */
export const ANCHOR_METHOD = 'x264';

export const DEFAULT_METHODS = ['x264', 'x264-noaq', 'cam-roi', 'hvs-jnd', 'random', 'dmv-jnd@0.15', 'dmv-jnd@0.25', 'dmv-jnd@0.5', 'dmv-jnd-centred'];

/** Default CAM-ROI strength: QP difference between a macroblock with CAM 0 and one with CAM 1. */
export const DEFAULT_CAM_ROI_STRENGTH = 6;
/** Base seed of the `random` control (frame i uses seed + i). */
export const RANDOM_SEED = 20210601;

export interface BenchMethod {
  /** The name as written (e.g. `dmv-jnd@0.5`): the key in every report. */
  name: string;
  family: MethodFamily;
  /** The number after @, if any (gain or strength). */
  param: number | undefined;
  offsets: NonNullable<EncodeOptions['offsets']>;
  /** JND settings this method overrides (e.g. the gain). */
  jnd: Partial<JndSettings>;
  /** What the method needs loaded to compute its offsets. */
  needs: 'generator' | 'classifiers' | 'nothing';
  describe: string;
}

/** Parse one method name such as `x264`, `cam-roi@4` or `dmv-jnd@0.5`. */
export function parseMethod(text: string): BenchMethod {
  const name = text.trim();
  const at = name.indexOf('@');
  const family = (at < 0 ? name : name.slice(0, at)) as MethodFamily;
  const paramText = at < 0 ? undefined : name.slice(at + 1);
  if (!METHOD_FAMILIES.includes(family)) {
    throw new DmvjndError('arguments', undefined, `expected a method among ${METHOD_FAMILIES.join(', ')} (optionally @<number>) but received "${name}"`);
  }
  let param: number | undefined;
  if (paramText !== undefined) {
    param = Number(paramText);
    if (paramText.trim() === '' || !Number.isFinite(param) || param < 0) {
      throw new DmvjndError('arguments', undefined, `expected a non-negative number after @ in method "${name}" but received "${paramText}"`);
    }
    if (family === 'x264' || family === 'x264-noaq' || family === 'dmv-jnd-centred') {
      throw new DmvjndError('arguments', undefined, `method ${family} takes no @ parameter but received "${name}"`);
    }
  }
  const gain = param === undefined ? {} : { jndGain: param };
  switch (family) {
    case 'x264':
      return { name, family, param, offsets: { kind: 'none' }, jnd: {}, needs: 'nothing', describe: 'plain x264 (default AQ, no ROI)' };
    case 'x264-noaq':
      return { name, family, param, offsets: { kind: 'uniform', delta: 0 }, jnd: {}, needs: 'nothing', describe: 'offsets path with all-zero offsets' };
    case 'cam-roi': {
      const strength = param ?? DEFAULT_CAM_ROI_STRENGTH;
      return { name, family, param, offsets: camRoiMethod(strength), jnd: {}, needs: 'classifiers', describe: `merged-CAM ROI offsets, strength ${strength} QP` };
    }
    case 'hvs-jnd':
      return { name, family, param, offsets: hvsJndMethod(param ?? 1), jnd: {}, needs: 'nothing', describe: `HVS JND (NAMM, luma) with the 2 x JND rule, gain ${param ?? 1}` };
    case 'random':
      return { name, family, param, offsets: randomMethod(RANDOM_SEED), jnd: gain, needs: 'generator', describe: `DMV-JND offsets${param === undefined ? '' : ` (gain ${param})`} at shuffled positions` };
    case 'dmv-jnd':
      return { name, family, param, offsets: 'jnd', jnd: gain, needs: 'generator', describe: `DMV-JND offsets${param === undefined ? '' : `, gain ${param}`}` };
    case 'dmv-jnd-centred':
      return { name, family, param, offsets: 'jnd-centred', jnd: {}, needs: 'generator', describe: 'DMV-JND offsets centred per frame (bits moved, not removed)' };
  }
}

/** Parse a comma-separated method list; duplicates are an error. */
export function parseMethods(list: string | readonly string[]): BenchMethod[] {
  const names = (typeof list === 'string' ? list.split(',') : [...list]).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new DmvjndError('arguments', undefined, 'expected at least one method');
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new DmvjndError('arguments', undefined, `method "${n}" is listed twice`);
    seen.add(n);
  }
  return names.map(parseMethod);
}

// ---------------------------------------------------------------------------------------
// Pure offset generators

export interface OffsetLimits {
  minOffset: number;
  maxOffset: number;
}

/**
 * CAM-ROI offsets for one frame: the view-resolution merged CAM pooled per macroblock
 * (area-weighted mean, the same resampling rule as the JND), then camRoiOffsets (high CAM
 * -> finer; mean zero), clamped to the offset limits.
 */
export function camRoiMacroblockOffsets(
  mergedCam: Float32Array,
  view: ViewSize,
  grid: MacroblockGrid,
  opts: { strength?: number } & Partial<OffsetLimits> = {},
): Float32Array {
  const pooled = poolJndPerMacroblock(mergedCam, view, grid, 'mean');
  const offsets = camRoiOffsets(pooled, { strength: opts.strength ?? DEFAULT_CAM_ROI_STRENGTH, meanZero: true });
  return clampOffsets(offsets, opts.minOffset ?? -51, opts.maxOffset ?? 51);
}

export interface HvsJndOffsetOptions extends OffsetLimits {
  /** The encode's base QP (CRF); undefined in bitrate mode (offsets are then centred). */
  baseQp: number | undefined;
  gain: number;
  pooling: JndPooling;
}

/**
 * HVS-JND offsets for one frame: per-pixel NAMM JND of the 8-bit luma plane (full frame
 * resolution, so the "view" is the frame itself), pooled per macroblock and mapped with the
 * same 2 x JND -> QP rule as the DMV-JND (jnd/qp-mapping.ts).
 */
export function hvsJndMacroblockOffsets(
  luma: Uint8Array,
  width: number,
  height: number,
  stride: number,
  grid: MacroblockGrid,
  opts: HvsJndOffsetOptions,
): Float32Array {
  const jnd = hvsJnd(luma, width, height, stride);
  return placedQpOffsets(jnd, { width, height }, grid, opts);
}

/**
 * Wrap a provider so that its maps come out spatially shuffled (frame i with seed + i).
 * A map the inner provider reuses (analysis stride) keeps its shuffled copy, so the control
 * changes exactly when ours does. Shuffling permutes values: per-frame mean and variance
 * are those of the inner map.
 */
export function shuffledProvider(inner: OffsetProvider, seed: number): OffsetProvider {
  let lastIn: Float32Array | null = null;
  let lastOut: Float32Array | null = null;
  return async (ctx) => {
    const map = await inner(ctx);
    if (map === null) return null;
    if (map !== lastIn) {
      lastIn = map;
      lastOut = shuffledOffsets(map, seed + ctx.index);
    }
    return lastOut;
  };
}

export function clampOffsets(offsets: Float32Array, lo: number, hi: number): Float32Array {
  return offsets.map((v) => Math.min(hi, Math.max(lo, v)));
}

// ---------------------------------------------------------------------------------------
// Providers (CustomOffsetMethod for pipeline.encode)

/**
 * Analyse every `stride` frames, reuse the map in between (no scene-cut check: the
 * baselines run at stride 1 unless the run asks otherwise).
 */
function strided(stride: number, compute: OffsetProvider): OffsetProvider {
  let last: Float32Array | null = null;
  let since = 0;
  return async (ctx) => {
    if (last === null || since >= stride) {
      last = await compute(ctx);
      since = 0;
    }
    since++;
    return last;
  };
}

export function camRoiMethod(strength = DEFAULT_CAM_ROI_STRENGTH): CustomOffsetMethod {
  return {
    kind: 'custom',
    name: 'cam-roi',
    needs: 'classifiers',
    provider: (analyser: FrameAnalyser | undefined, _x264: X264Settings, jnd: JndSettings) => {
      if (!analyser) throw new Error('cam-roi needs the classifiers (a model set)');
      return strided(jnd.analysisStride, async ({ frame, grid }) => {
        const r = await analyser.mergedCam(frame);
        return camRoiMacroblockOffsets(r.mergedCam, r.view, grid, { strength, minOffset: jnd.minOffset, maxOffset: jnd.maxOffset });
      });
    },
  };
}

export function hvsJndMethod(gain = 1): CustomOffsetMethod {
  return {
    kind: 'custom',
    name: 'hvs-jnd',
    needs: 'nothing',
    provider: (_analyser, x264, jnd) => {
      const baseQp = x264.rateControl.mode === 'crf' ? x264.rateControl.crf : undefined;
      return strided(jnd.analysisStride, ({ frame, grid }) => {
        const planes = frame.data;
        const luma = planes?.[0];
        if (!luma) throw new Error('hvs-jnd: the frame has no luma plane');
        return hvsJndMacroblockOffsets(luma, frame.width, frame.height, frame.linesize[0], grid, {
          baseQp,
          gain,
          pooling: jnd.pooling,
          minOffset: jnd.minOffset,
          maxOffset: jnd.maxOffset,
        });
      });
    },
  };
}

/** Our offsets at shuffled positions; the gain comes from the run's JND settings. */
export function randomMethod(seed = RANDOM_SEED): CustomOffsetMethod {
  return {
    kind: 'custom',
    name: 'random',
    needs: 'generator',
    provider: (analyser, x264, jnd) => {
      if (!analyser) throw new Error('random needs the generator (a model set)');
      return shuffledProvider(jndOffsetProvider(analyser, x264, jnd), seed);
    },
  };
}
