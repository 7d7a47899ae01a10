/**
 * Benchmark (not a test): encode speed with per-MB QP offsets on every frame versus
 * the same encode without ROI side data. Same clip, same settings, runs interleaved
 * (A B A B ...) in one process so machine noise hits both; the result is a ratio.
 * Target: ratio >= 0.95.
 *
 *   npm run bench:roi [-- <clip> [--preset medium] [--rounds 3] [--json]]
 *
 * The offset map changes every frame and has no two equal neighbours (worst case for
 * the ROI list), with zero mean so the rate control does not shift the overall QP.
 */
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeVideo, type OffsetProvider } from '../src/media/encode.ts';
import { sampleClip } from '../src/media/sample-clip.ts';
import type { InputSpec } from '../src/media/source.ts';
import type { X264Preset } from '../src/media/x264-settings.ts';
import { VIDEOS_DIR, median } from './common.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const json = args.includes('--json');
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--') && args[i - 1] !== '--json'));
const devClip = join(VIDEOS_DIR, 'traffic_toronto_highway_720p.mp4');
const input: InputSpec | string = (
  positional[0] ?? (existsSync(devClip) ? devClip : sampleClip('testsrc', { width: 1280, height: 720, seconds: 6 }))) as InputSpec | string;
const preset = flag('preset', 'medium') as X264Preset;
const rounds = Number(flag('rounds', '3'));

const checkerboardOffsets: OffsetProvider = ({ grid, index }) => {
  const m = new Float32Array(grid.count);
  for (let i = 0; i < m.length; i++) {
    const r = Math.floor(i / grid.cols);
    const c = i % grid.cols;
    m[i] = ((r + c + index) % 2 === 0 ? 1 : -1) * (1 + ((c * 7 + r * 3 + index) % 5));
  }
  return m;
};

const out = join(tmpdir(), `dmvjnd-bench-roi-${process.pid}.mp4`);
const fps: Record<'plain' | 'offsets', number[]> = { plain: [], offsets: [] };
let frames = 0;
try {
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 === 0 ? (['plain', 'offsets'] as const) : (['offsets', 'plain'] as const)) {
      const r = await encodeVideo({
        input,
        output: out,
        x264: { preset },
        offsets: mode === 'offsets' ? checkerboardOffsets : undefined,
      });
      frames = r.frames;
      fps[mode].push((r.frames * 1000) / r.timingsMs.total);
      if (!json) process.stderr.write(`round ${round + 1} ${mode}: ${fps[mode].at(-1)!.toFixed(1)} fps\n`);
    }
  }
} finally {
  rmSync(out, { force: true });
}
const result = {
  input: typeof input === 'string' ? input : (input as InputSpec).label,
  frames,
  preset,
  rounds,
  fps_plain: median(fps.plain)!,
  fps_offsets: median(fps.offsets)!,
  ratio: median(fps.offsets)! / median(fps.plain)!,
  target: 0.95,
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`${result.input}: ${frames} frames, preset ${preset}, ${rounds} interleaved rounds`);
  console.log(`  plain   ${result.fps_plain.toFixed(1)} fps (median)`);
  console.log(`  offsets ${result.fps_offsets.toFixed(1)} fps (median)`);
  console.log(`  ratio   ${result.ratio.toFixed(3)} (target >= ${result.target}: ${result.ratio >= result.target ? 'met' : 'MISSED'})`);
}
