/**
 * Clips the project makes itself from FFmpeg's synthetic sources (lavfi; the street pans
 * across a picture drawn here), so the main command and the tests need no input file.
 * Each is a lavfi graph; sampleClip() wraps it as an InputSpec for openInput/encodeVideo.
 */
import { DmvjndError } from '../errors.ts';
import type { InputSpec } from './source.ts';
import { STREET_HEIGHT, STREET_WIDTH, ensureStreetScene, streetScenePath } from './street-scene.ts';

export interface SampleClipOptions {
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
}

export const SAMPLE_CLIPS = {
  /**
   * The embedded street (what `encode` with no input uses): a drawn street with a clock, a
   * stop sign and a traffic light (street-scene.ts), the camera panning across it, with a
   * little temporal noise like a real camera's.
   */
  street: (o: SampleClipOptions = {}) => {
    const fps = o.fps ?? 25;
    const seconds = o.seconds ?? 4;
    const frames = Math.max(1, Math.round(fps * seconds));
    const view = Math.round((STREET_HEIGHT * 16) / 9);
    const speed = ((STREET_WIDTH - view) / Math.max(1, frames - 1)) * fps;
    const size = `${o.width ?? 640}x${o.height ?? 360}`;
    return (
      `movie=${lavfiPath(streetScenePath())},loop=loop=${frames - 1}:size=1:start=0,settb=1/${fps},setpts=N,` +
      `crop=${view}:${STREET_HEIGHT}:x='min(${STREET_WIDTH - view},t*${speed.toFixed(3)})':y=0,scale=${size.replace('x', ':')},` +
      `noise=alls=4:allf=t,format=yuv420p`
    );
  },
  /** A moving test pattern with gradients, text and a sweeping clock (no COCO objects in it). */
  testsrc: (o: SampleClipOptions = {}) =>
    `testsrc2=size=${o.width ?? 640}x${o.height ?? 360}:rate=${o.fps ?? 25}:duration=${o.seconds ?? 4}`,
  /** Per-pixel noise: every macroblock has residual, so read-back QPs are exact. */
  noise: (o: SampleClipOptions = {}) =>
    `nullsrc=size=${o.width ?? 320}x${o.height ?? 240}:rate=${o.fps ?? 25}:duration=${o.seconds ?? 1},geq=lum='random(1)*255':cb=128:cr=128,format=yuv420p`,
  /** Cellular automaton texture scrolling up: textured and moving. */
  cellauto: (o: SampleClipOptions = {}) =>
    `cellauto=size=${o.width ?? 320}x${o.height ?? 240}:rate=${o.fps ?? 25}:rule=110:random_fill_ratio=0.5:random_seed=1:scroll=1,trim=duration=${o.seconds ?? 2},format=yuv420p`,
} as const;

export type SampleClipName = keyof typeof SAMPLE_CLIPS;

export function sampleClip(name: SampleClipName = 'street', o: SampleClipOptions = {}): InputSpec {
  return { source: SAMPLE_CLIPS[name](o), lavfi: true, label: `<sample:${name}>`, ...(name === 'street' ? { prepare: async () => void (await ensureStreetScene()) } : {}) };
}

/** A file path as a lavfi `movie=` argument; the few characters the two levels of lavfi escaping would need are refused. */
function lavfiPath(path: string): string {
  if (/[\\':,;[\]=\s]/.test(path)) {
    throw new DmvjndError('open input', '<sample:street>', `the temp folder path ${path} has characters a lavfi graph cannot take (set TMPDIR to a plain path)`);
  }
  return path;
}
