/**
 * Clips the project makes itself from FFmpeg's synthetic sources (lavfi), so the
 * main command and the tests need no input file. Each is a lavfi graph; pass it to
 * openInput/encodeVideo as { source, lavfi: true }.
 */
import type { InputSpec } from './source.ts';

export interface SampleClipOptions {
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
}

export const SAMPLE_CLIPS = {
  /** The embedded default: moving test pattern with gradients, text and a sweeping clock. */
  default: (o: SampleClipOptions = {}) =>
    `testsrc2=size=${o.width ?? 640}x${o.height ?? 360}:rate=${o.fps ?? 25}:duration=${o.seconds ?? 4}`,
  /** Per-pixel noise: every macroblock has residual, so read-back QPs are exact. */
  noise: (o: SampleClipOptions = {}) =>
    `nullsrc=size=${o.width ?? 320}x${o.height ?? 240}:rate=${o.fps ?? 25}:duration=${o.seconds ?? 1},geq=lum='random(1)*255':cb=128:cr=128,format=yuv420p`,
  /** Cellular automaton texture scrolling up: textured and moving. */
  cellauto: (o: SampleClipOptions = {}) =>
    `cellauto=size=${o.width ?? 320}x${o.height ?? 240}:rate=${o.fps ?? 25}:rule=110:random_fill_ratio=0.5:random_seed=1:scroll=1,trim=duration=${o.seconds ?? 2},format=yuv420p`,
} as const;

export type SampleClipName = keyof typeof SAMPLE_CLIPS;

export function sampleClip(name: SampleClipName = 'default', o: SampleClipOptions = {}): InputSpec {
  return { source: SAMPLE_CLIPS[name](o), lavfi: true, label: `<sample:${name}>` };
}
