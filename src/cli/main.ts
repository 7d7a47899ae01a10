/**
 * The dmvjnd command line: parses arguments, calls the library, prints results.
 * No media logic lives here.
 */
import { basename, extname } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DmvjndError, reasonOf } from '../errors.ts';
import { encodeVideo } from '../media/encode.ts';
import { probeMedia } from '../media/probe.ts';
import { readQpMaps, type FrameQp } from '../media/qp-readback.ts';
import { SAMPLE_CLIPS, sampleClip, type SampleClipName } from '../media/sample-clip.ts';
import type { InputSpec } from '../media/source.ts';
import { X264_PRESETS, type X264Settings } from '../media/x264-settings.ts';
import { SYNTHETIC_OFFSET_HELP, parseSyntheticOffsets, syntheticOffsetMap } from '../offsets/synthetic.ts';
import { progressLine } from './progress.ts';

interface CommonArgs {
  json: boolean;
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
}

function fail(err: unknown, json: boolean): never {
  const e = err instanceof DmvjndError ? err : new DmvjndError('arguments', undefined, reasonOf(err), { cause: err });
  if (process.env.DMVJND_DEBUG === '1' && e.cause) console.error(e.cause);
  process.stderr.write(`dmvjnd: ${e.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { stage: e.stage, file: e.file ?? null, message: e.message } })}\n`);
  process.exit(1);
}

function x264FromArgs(a: {
  crf?: number; bitrate?: number; preset: string; tune?: string; keyint: number; threads: number; 'x264-params'?: string;
}): Partial<X264Settings> {
  return {
    rateControl: a.bitrate !== undefined ? { mode: 'bitrate', kbps: a.bitrate } : { mode: 'crf', crf: a.crf ?? 23 },
    preset: a.preset as X264Settings['preset'],
    tune: a.tune,
    keyint: a.keyint,
    threads: a.threads,
    x264Params: a['x264-params'],
  };
}

/** A path, `lavfi:<graph>` for any FFmpeg synthetic source, or nothing for the sample clip. */
function inputFromArg(arg: string | undefined): InputSpec | string {
  if (arg === undefined) return sampleClip('default');
  if (arg.startsWith('lavfi:')) return { source: arg.slice(6), lavfi: true, label: arg };
  return arg;
}

function defaultOutputFor(input: string | undefined): string {
  if (!input || input.startsWith('lavfi:')) return 'dmvjnd-sample.mp4';
  return `${basename(input, extname(input))}.dmvjnd.mp4`;
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

await yargs(hideBin(process.argv))
  .scriptName('dmvjnd')
  .usage(
    '$0 <command> [options]\n\n' +
      'Encode video for machine vision: per-macroblock QP offsets steer x264 bits to where classifiers look.',
  )
  .option('json', { type: 'boolean', default: false, describe: 'Machine-readable JSON on stdout (errors too)' })
  .command(
    'encode [input]',
    'Encode a video to H.264/MP4 with per-macroblock QP offsets',
    (y) =>
      y
        .positional('input', {
          type: 'string',
          describe: 'Input video (any format FFmpeg reads), or lavfi:<graph> for a synthetic source; omitted: the embedded sample clip',
        })
        .option('output', { alias: 'o', type: 'string', describe: 'Output MP4 path [default: <input>.dmvjnd.mp4]' })
        .option('crf', { type: 'number', describe: 'x264 constant rate factor (0-51, lower is better quality) [default: 23]' })
        .option('bitrate', { type: 'number', describe: 'Target bitrate in kbit/s (ABR mode instead of CRF)' })
        .option('preset', { type: 'string', default: 'medium', choices: X264_PRESETS as unknown as string[] })
        .option('tune', { type: 'string', describe: 'x264 tune (e.g. film, animation)' })
        .option('keyint', { type: 'number', default: 250, describe: 'Maximum GOP length in frames (1 = all intra)' })
        .option('threads', { type: 'number', default: 0, describe: 'x264 threads (0 = auto)' })
        .option('x264-params', { type: 'string', describe: 'Extra x264 options, key=value:key=value' })
        .option('offsets', {
          type: 'string',
          default: 'none',
          describe: `Per-MB QP offset source: ${SYNTHETIC_OFFSET_HELP}`,
        })
        .example('$0 encode -o sample.mp4 --offsets split:-6,+6', 'Encode the embedded sample, left half 6 QP finer, right half 6 coarser')
        .example('$0 encode clip.mkv -o out.mp4 --crf 28 --preset fast', 'Plain encode through the same path')
        .example("$0 encode 'lavfi:testsrc2=size=1280x720:duration=10' -o t.mp4", 'Any FFmpeg synthetic source as input')
        .conflicts('bitrate', 'crf'),
    async (a) => {
      try {
        const input = inputFromArg(a.input);
        const output = a.output ?? defaultOutputFor(a.input);
        const spec = parseSyntheticOffsets(a.offsets);
        const progress = progressLine('encode');
        const result = await encodeVideo({
          input,
          output,
          x264: x264FromArgs(a),
          offsets: spec.kind === 'none' ? undefined : ({ grid }) => syntheticOffsetMap(spec, grid),
          onProgress: (p) => progress.update(p.frames, p.totalFrames),
        });
        progress.done();
        print(a.json, { ok: true, ...result, offsets: a.offsets }, () =>
          [
            `wrote ${result.output}`,
            `  frames ${result.frames}  ${result.width}x${result.height}  ${fmt(result.duration, 3)} s`,
            `  ${result.bytes} bytes  ${fmt(result.bitrateKbps)} kbit/s  audio: ${result.audio}`,
            `  offsets ${a.offsets}  ${fmt((result.frames * 1000) / result.timingsMs.total)} fps overall`,
            ...(result.interlacedInput ? ['  note: interlaced input was coded as progressive frames'] : []),
            ...(result.timestampsRepaired ? [`  note: ${result.timestampsRepaired} non-increasing timestamps were moved forward`] : []),
          ].join('\n'),
        );
      } catch (err) {
        fail(err, a.json);
      }
    },
  )
  .command(
    'inspect <file>',
    'Read back frame count, bitrate and per-macroblock QPs of an H.264 file',
    (y) =>
      y
        .positional('file', { type: 'string', demandOption: true })
        .option('maps', { type: 'boolean', default: false, describe: 'Include the full per-MB QP map of every frame' })
        .example('$0 inspect out.mp4', 'Per-frame mean/min/max QP')
        .example('$0 inspect out.mp4 --json --maps > qp.json', 'Everything, for scripts'),
    async (a) => {
      try {
        const info = await probeMedia(a.file);
        const frames: Array<Omit<FrameQp, 'qp' | 'grid'> & { qp?: number[] }> = [];
        for await (const f of readQpMaps(a.file)) {
          frames.push({ index: f.index, time: f.time, type: f.type, mean: f.mean, min: f.min, max: f.max, ...(a.maps ? { qp: [...f.qp] } : {}) });
        }
        const mbCols = Math.ceil(info.width / 16);
        const mbRows = Math.ceil(info.height / 16);
        const meanQp = frames.reduce((s, f) => s + f.mean, 0) / Math.max(1, frames.length);
        print(a.json, { ok: true, ...info, mb_grid: { cols: mbCols, rows: mbRows }, mean_qp: meanQp, qp_frames: frames }, () =>
          [
            `${info.path}: ${info.codec} ${info.width}x${info.height} (MB grid ${mbCols}x${mbRows}), ${info.frames} frames, ${fmt(info.duration, 3)} s, ${fmt(info.frameRate, 3)} fps, ${fmt(info.bitrateKbps)} kbit/s, mean QP ${fmt(meanQp, 2)}`,
            'frame  type  time(s)   meanQP  minQP  maxQP',
            ...frames.map((f) => `${String(f.index).padStart(5)}  ${f.type.padStart(4)}  ${fmt(f.time, 3).padStart(7)}  ${fmt(f.mean, 2).padStart(7)}  ${String(f.min).padStart(5)}  ${String(f.max).padStart(5)}`),
          ].join('\n'),
        );
      } catch (err) {
        fail(err, a.json);
      }
    },
  )
  .command(
    'sample',
    'Write one of the built-in synthetic clips to a file (plain x264, CRF 18)',
    (y) =>
      y
        .option('output', { alias: 'o', type: 'string', default: 'dmvjnd-sample-source.mp4' })
        .option('kind', { type: 'string', default: 'default', choices: Object.keys(SAMPLE_CLIPS) })
        .option('seconds', { type: 'number', default: 4 })
        .option('size', { type: 'string', describe: 'WxH, e.g. 640x360' }),
    async (a) => {
      try {
        const m = a.size ? /^(\d+)x(\d+)$/.exec(a.size) : null;
        if (a.size && !m) throw new DmvjndError('arguments', undefined, `expected --size as WxH but received "${a.size}"`);
        const r = await encodeVideo({
          input: sampleClip(a.kind as SampleClipName, { seconds: a.seconds, ...(m ? { width: +m[1], height: +m[2] } : {}) }),
          output: a.output,
          x264: { rateControl: { mode: 'crf', crf: 18 } },
        });
        print(a.json, { ok: true, ...r }, () => `wrote ${r.output} (${r.frames} frames, ${r.width}x${r.height})`);
      } catch (err) {
        fail(err, a.json);
      }
    },
  )
  .demandCommand(1, 'Name a command: encode, inspect or sample (see --help).')
  .strict()
  .recommendCommands()
  .fail((msg, err, y) => {
    if (err) fail(err, process.argv.includes('--json'));
    process.stderr.write(`${y.help()}\n\ndmvjnd: ${msg}\n`);
    process.exit(2);
  })
  .help()
  .version()
  .wrap(Math.min(110, process.stdout.columns || 100))
  .parseAsync();
