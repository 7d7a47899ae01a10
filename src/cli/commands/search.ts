import type { Argv } from 'yargs';
import { DEFAULT_SEARCH_CACHE, SEARCH_KINDS, searchTarget, type SearchEvent, type SearchKind } from '../../bench/search.ts';
import { DmvjndError } from '../../errors.ts';
import { progressLine, type ProgressLine } from '../progress.ts';
import { defaultOutputFor, fail, inputFromArg, jndAqOption, jndFromArgs, jndOptions, loadModelsFromArgs, modelOptions, print } from '../shared.ts';
import { describeReport } from './encode.ts';
import { numberList, x264GridFromArgs, x264GridOptions } from './bench.ts';

export const searchCommand = {
  command: 'search <input>',
  describe: 'Find the cheapest CRF and JND gain whose classifier agreement meets a target on sampled segments',
  builder: (y: Argv) =>
    jndAqOption(jndOptions(modelOptions(x264GridOptions(y))))
      .positional('input', { type: 'string', demandOption: true, describe: 'Input video (or lavfi:<graph>)' })
      .option('min-rca', { type: 'number', default: 0.99, describe: 'Target RCA (fraction) every sample must reach' })
      .option('kind', { type: 'string', default: 'regional-confident', choices: SEARCH_KINDS as unknown as string[], describe: 'Which RCA the target applies to' })
      .option('samples', { type: 'number', default: 4, describe: 'Number of sampled segments' })
      .option('sample-frames', { type: 'number', default: 24, describe: 'Frames per sampled segment' })
      .option('gains', { type: 'string', default: '0.15,0.25,0.5', describe: 'JND gains to search (plain x264 is always searched for comparison)' })
      .option('crf-range', { type: 'string', default: '12,51', describe: 'Lowest and highest CRF to consider' })
      .option('encode', { type: 'boolean', default: false, describe: 'Encode the whole clip with the winning setting' })
      .option('output', { alias: 'o', type: 'string', describe: 'Output MP4 for --encode [default: <input>.dmvjnd.mp4]' })
      .option('verify', { type: 'boolean', default: false, describe: 'With --encode: verify the whole encode too' })
      .option('cache-dir', { type: 'string', default: DEFAULT_SEARCH_CACHE, describe: 'Where sample results are cached' })
      .option('cache', { type: 'boolean', default: true, describe: 'Read and write the sample cache (--no-cache: neither)' })
      .example('$0 search clip.mp4 --min-rca 0.99', 'Cheapest setting keeping 99% of confident regional decisions')
      .example('$0 search clip.mp4 --min-rca 0.98 --kind regional-all --encode -o out.mp4', 'Search, then encode the whole clip'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const range = numberList(String(a['crf-range']), '--crf-range');
      if (range.length !== 2) throw new DmvjndError('arguments', undefined, `expected --crf-range as lo,hi but received "${a['crf-range']}"`);
      const gains = numberList(String(a.gains), '--gains');
      const input = inputFromArg(a.input as string);
      const output = a.encode ? ((a.output as string | undefined) ?? defaultOutputFor(a.input as string)) : undefined;
      if (a.output !== undefined && !a.encode) throw new DmvjndError('arguments', undefined, '-o/--output needs --encode');
      const models = await loadModelsFromArgs(a, { generator: true });
      let bar: ProgressLine | undefined;
      let label = '';
      const tty = Boolean(process.stderr.isTTY);
      const onEvent = (e: SearchEvent): void => {
        switch (e.type) {
          case 'segments':
            if (!a.json) process.stderr.write(`sampling ${e.samples.length} segment(s) of ${e.samples[0].frames} frames from ${e.clip_frames}: starts ${e.samples.map((s) => s.start).join(', ')}\n`);
            break;
          case 'evaluate':
            bar?.done();
            label = `${e.method} CRF ${e.crf} sample ${e.sample + 1}/${e.samples}${e.cached ? ' (cached)' : ''}`;
            bar = progressLine(label);
            break;
          case 'progress':
            bar?.update(e.frames, e.total, e.stage);
            break;
          case 'evaluated':
            bar?.done();
            bar = undefined;
            if (!a.json || tty) {
              const v = e.evaluation;
              process.stderr.write(`${e.method} CRF ${v.crf}: lowest sample RCA ${v.rca_min === null ? 'n/a' : `${(100 * v.rca_min).toFixed(2)}%`}, ${v.kbps.toFixed(1)} kbit/s -> ${v.meets ? 'meets' : 'fails'}\n`);
            }
            break;
          case 'final-encode':
            bar?.done();
            bar = progressLine(`encode ${e.method} CRF ${e.crf}`);
            break;
        }
      };
      try {
        const r = await searchTarget(
          {
            input,
            minRca: Number(a['min-rca']),
            kind: String(a.kind) as SearchKind,
            samples: Number(a.samples),
            sampleFrames: Number(a['sample-frames']),
            gains,
            crfRange: [range[0], range[1]],
            models,
            x264: x264GridFromArgs(a),
            jnd: jndFromArgs(a as never),
            tau: Number(a.tau),
            cacheDir: a.cache === false ? null : String(a['cache-dir']),
            encode: output ? { output, verify: Boolean(a.verify) } : undefined,
          },
          onEvent,
        );
        bar?.done();
        print(a.json, { ok: true, ...r }, () => [r.message, ...(r.encode ? [describeReport(r.encode)] : [])].join('\n'));
      } finally {
        bar?.done();
        await models.release();
      }
    } catch (err) {
      fail(err, a.json);
    }
  },
};
