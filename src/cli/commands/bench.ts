import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_METHODS, parseMethods } from '../../bench/methods.ts';
import { DEFAULT_CRFS, REFERENCE_CRF, runBench, type BenchEvent } from '../../bench/run-bench.ts';
import { DmvjndError } from '../../errors.ts';
import { X264_PRESETS, type X264Settings } from '../../media/x264-settings.ts';
import { progressLine, type ProgressLine } from '../progress.ts';
import { fail, inputFromArg, jndAqOption, jndFromArgs, jndOptions, loadModelsFromArgs, modelOptions } from '../shared.ts';

/** x264 options shared by bench and search (the rate control is what they vary). */
export function x264GridOptions<T>(y: Argv<T>) {
  return y
    .option('preset', { type: 'string', group: 'x264:', default: 'medium', choices: X264_PRESETS as unknown as string[] })
    .option('tune', { type: 'string', group: 'x264:', describe: 'x264 tune (film, animation, ...)' })
    .option('keyint', { type: 'number', group: 'x264:', default: 250, describe: 'Maximum GOP length in frames (1 = all intra)' })
    .option('threads', { type: 'number', group: 'x264:', default: 0, describe: 'x264 threads (0 = auto)' })
    .option('x264-params', { type: 'string', group: 'x264:', describe: 'Extra x264 options, key=value:key=value' });
}

export function x264GridFromArgs(a: Record<string, unknown>): Partial<Omit<X264Settings, 'rateControl'>> {
  return {
    preset: a.preset as X264Settings['preset'],
    tune: a.tune as string | undefined,
    keyint: Number(a.keyint),
    threads: Number(a.threads),
    x264Params: a['x264-params'] as string | undefined,
  };
}

/** "18,23,28" -> [18, 23, 28]. */
export function numberList(text: string, what: string): number[] {
  const values = String(text)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new DmvjndError('arguments', undefined, `expected ${what} as comma-separated numbers but received "${text}"`);
  }
  return values;
}

export const benchCommand = {
  command: 'bench <clips..>',
  describe: 'Bitrate versus classifier agreement: BD-rate at equal RCA against x264 and baselines, with plots',
  builder: (y: Argv) =>
    jndAqOption(jndOptions(modelOptions(x264GridOptions(y))))
      .positional('clips', { type: 'string', array: true, describe: 'Clips to benchmark (files, or lavfi:<graph>)' })
      .option('crf', { type: 'string', default: DEFAULT_CRFS.join(','), describe: 'CRF grid, comma-separated (above 51: CRF 51 plus that many QP on every macroblock)' })
      .option('methods', { type: 'string', default: DEFAULT_METHODS.join(','), describe: 'Methods: x264, x264-noaq, cam-roi[@strength], hvs-jnd[@gain], random[@gain], dmv-jnd[@gain], dmv-jnd-centred' })
      .option('frames', { type: 'number', describe: 'Use only the first N frames of each clip' })
      .option('out', { type: 'string', default: 'dmvjnd-bench', describe: 'Output folder: bench.json, points.csv, summary.md, plots/' })
      .option('cache', { type: 'string', describe: 'JSON file of finished points: resume an interrupted run (updated after every point)' })
      .option('reference-crf', { type: 'number', default: REFERENCE_CRF, describe: 'Plain x264 at this CRF gives the noise floor of all-decision RCA' })
      .example('$0 bench a.mp4 b.mp4 --frames 60 --out bench-out', 'Every method at CRF 18-48 on two clips')
      .example('$0 bench a.mp4 --crf 28,33,38,43 --methods x264,dmv-jnd@0.25,dmv-jnd-centred --json', 'NDJSON events for a pipeline'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const methods = parseMethods(String(a.methods));
      const crfs = numberList(String(a.crf), '--crf');
      const clips = (a.clips as string[]).map((c) => inputFromArg(c));
      const needGenerator = methods.some((m) => m.needs === 'generator');
      const models = await loadModelsFromArgs(a, { generator: needGenerator });
      const out = resolve(String(a.out));
      let bar: ProgressLine | undefined;
      let barKey = '';
      const onEvent = (e: BenchEvent): void => {
        if (e.type === 'progress') {
          const key = `${e.done}|${e.stage}`;
          if (key !== barKey) {
            bar?.done();
            barKey = key;
            bar = progressLine(`[${e.done + 1}/${e.points}] ${e.clip} ${e.method} CRF ${e.crf} ${e.stage}`);
          }
          bar!.update(e.frames, e.total);
        } else if (e.type === 'point') {
          bar?.done();
          bar = undefined;
          barKey = '';
          if (a.json) {
            process.stdout.write(`${JSON.stringify({ type: 'point', done: e.done, points: e.points, cached: e.cached, point: e.point })}\n`);
          } else if (!process.stderr.isTTY) {
            // Without a progress bar, one line per point keeps long runs legible in logs.
            const p = e.point;
            process.stderr.write(`[${e.done}/${e.points}] ${p.clip} ${p.method} CRF ${p.crf}: ${p.bitrate_kbps.toFixed(1)} kbit/s, regional RCA ${fmtFrac(p.rca.regional.confident)} conf / ${fmtFrac(p.rca.regional.all)} all${e.cached ? ' (cached)' : ''}\n`);
          }
        } else if (e.type === 'summary') {
          const r = e.result;
          if (a.json) {
            process.stdout.write(
              `${JSON.stringify({ type: 'summary', ok: true, out, files: r.files, settings: r.settings, clips: r.clips, per_clip: r.per_clip, summary: r.summary })}\n`,
            );
          }
        }
      };
      try {
        const r = await runBench(
          {
            clips,
            crfs,
            methods,
            frames: a.frames === undefined ? undefined : Number(a.frames),
            models,
            x264: x264GridFromArgs(a),
            jnd: jndFromArgs(a as never),
            tau: Number(a.tau),
            referenceCrf: Number(a['reference-crf']),
            cacheFile: a.cache === undefined ? undefined : String(a.cache),
            outDir: out,
          },
          onEvent,
        );
        bar?.done();
        if (!a.json) {
          const lines = [
            `BD-rate against plain x264 at equal RCA, mean over ${r.clips.length} clip${r.clips.length === 1 ? '' : 's'} (negative = fewer bits):`,
            `  ${'method'.padEnd(14)} ${'regional conf.'.padStart(15)} ${'global conf.'.padStart(13)} ${'regional all'.padStart(13)}`,
            ...r.summary.map(
              (m) =>
                `  ${m.method.padEnd(14)} ${fmtPct(m.bd_rate_mean.regional_confident).padStart(15)} ${fmtPct(m.bd_rate_mean.global_confident).padStart(13)} ${fmtPct(m.bd_rate_mean.regional_all).padStart(13)}`,
            ),
            `wrote ${r.files.length} files to ${out} (summary.md, bench.json, points.csv, plots/)`,
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
        }
      } finally {
        await models.release();
      }
    } catch (err) {
      fail(err, a.json);
    }
  },
};

const fmtPct = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);
const fmtFrac = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
