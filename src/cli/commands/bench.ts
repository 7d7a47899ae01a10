import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_METHODS, parseMethods } from '../../bench/methods.ts';
import { DEFAULT_CRFS, REFERENCE_CRF, runBench, type BenchEvent, type BenchEvents, type BenchPoint } from '../../bench/run-bench.ts';
import { DmvjndError } from '../../errors.ts';
import { X264_PRESETS, type X264Settings } from '../../media/x264-settings.ts';
import { progressLine, type ProgressLine } from '../progress.ts';
import { fail, inputFromArg, jndAqOption, jndFromArgs, jndOptions, loadModelsFromArgs, machineOption, modelOptions, note, providerArg } from '../shared.ts';
import { DETECTOR_BENCH_CRFS, DETECTOR_DEFAULT_METHODS, parseDetectorBenchMethod, runDetectorBench, splitMethodList, type DetectorBenchEvent, type DetectorBenchPoint } from '../../bench/detector-bench.ts';
import { isDetector, loadMachine, parseMachine } from '../../machines/registry.ts';
import type { Machine } from '../../machines/machine.ts';
import type { DetectorMachine } from '../../machines/detector.ts';
import type { ModelSet } from '../../inference/models.ts';
import { DEFAULT_GUIDE_SIZE } from '../../pipeline.ts';
import { usesDetectorJnd } from '../../offsets/detector-methods.ts';

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
  describe: 'Bitrate versus machine agreement: BD-rate at equal detection F1 / mAP@0.5 (or RCA for cifar) against x264 and baselines, with plots',
  builder: (y: Argv) =>
    machineOption(jndAqOption(jndOptions(modelOptions(x264GridOptions(y)))), true)
      .positional('clips', { type: 'string', array: true, describe: 'Clips to benchmark (files, or lavfi:<graph>)' })
      .option('crf', { type: 'string', describe: `CRF grid, comma-separated (above 51: CRF 51 plus that many QP on every macroblock) [default: ${DETECTOR_BENCH_CRFS.join(',')} for a detector, ${DEFAULT_CRFS.join(',')} for cifar]` })
      .option('methods', { type: 'string', describe: `Methods. Detector machines: x264, det-roi[@in,out], det-heat[@in,out], det-roi-shuffled[@in,out], dmv-jnd-cifar[@gain], hvs-jnd[@gain], random[@gain], x264-noaq [default: ${DETECTOR_DEFAULT_METHODS.join(',')}]. cifar: x264, x264-noaq, cam-roi[@strength], hvs-jnd[@gain], random[@gain], dmv-jnd[@gain], dmv-jnd-centred [default: ${DEFAULT_METHODS.join(',')}]` })
      .option('frames', { type: 'number', describe: 'Use only N frames of each clip (the first N, or see --window)' })
      .option('window', { type: 'string', choices: ['first', 'middle', 'last'], default: 'first', describe: 'Detector bench: take the N frames from the start, around the middle or at the end of each clip' })
      .option('out', { type: 'string', default: 'dmvjnd-bench', describe: 'Output folder: bench.json, points.csv, summary.md, plots/' })
      .option('cache', { type: 'string', describe: 'JSON file of finished points: resume an interrupted run (updated after every point)' })
      .option('reference-crf', { type: 'number', default: REFERENCE_CRF, describe: 'Plain x264 at this CRF gives the noise floor of all-decision RCA' })
      .example('$0 bench a.mp4 b.mp4 --frames 60 --out bench-out', 'Detector-guided methods against plain x264, scored by the COCO detector (centernet)')
      .example('$0 bench a.mp4 --machine centernet --machine nanodet --methods x264,det-roi@-2,+12', 'Also scored by the held-out detector')
      .example('$0 bench a.mp4 --machine cifar --frames 30', 'The paper reproduction: every CIFAR method at equal RCA')
      .example('$0 bench a.mp4 --crf 28,33,38,43 --methods x264,dmv-jnd@0.25,dmv-jnd-centred --json', 'NDJSON events for a pipeline'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const machines = [...new Set((a.machine as string[]).map((n) => parseMachine(n).name))];
      if (machines[0] !== 'cifar') return await detectorBench(a, machines);
      if (machines.length > 1) throw new DmvjndError('arguments', undefined, `expected --machine cifar alone (its bench scores RCA) but received ${machines.join(', ')}`);
      const methods = parseMethods(a.methods === undefined ? DEFAULT_METHODS : String(a.methods));
      const crfs = a.crf === undefined ? DEFAULT_CRFS : numberList(String(a.crf), '--crf');
      const clips = (a.clips as string[]).map((c) => inputFromArg(c));
      const needGenerator = methods.some((m) => m.needs === 'generator');
      const models = await loadModelsFromArgs(a, { generator: needGenerator });
      const out = resolve(String(a.out));
      const events = benchEventPrinter<BenchPoint>(a.json, out, (p) => `regional RCA ${fmtFrac(p.rca.regional.confident)} conf / ${fmtFrac(p.rca.regional.all)} all`);
      const onEvent = (e: BenchEvent): void => events.onEvent(e);
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
        events.done();
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

/** `bench --machine <detector>`: bitrate versus detection agreement (bench/detector-bench.ts). */
async function detectorBench(a: Record<string, unknown> & { json: boolean }, names: string[]): Promise<void> {
  for (const n of names) {
    if (!isDetector(parseMachine(n))) throw new DmvjndError('arguments', undefined, `expected detector machines after ${names[0]} (the bench scores them all the same way) but received ${n}`);
  }
  const methods = a.methods === undefined ? DETECTOR_DEFAULT_METHODS : splitMethodList(String(a.methods));
  const parsed = methods.map(parseDetectorBenchMethod);
  const crfs = a.crf === undefined ? DETECTOR_BENCH_CRFS : numberList(String(a.crf), '--crf');
  const common = {
    modelsDir: String(a.models),
    provider: providerArg(String(a.provider)),
    threads: a['model-threads'] === undefined ? undefined : Number(a['model-threads']),
    onNote: note,
  };
  const scorers: Machine[] = [];
  let guide: DetectorMachine | undefined;
  let models: ModelSet | undefined;
  const out = resolve(String(a.out));
  const events = benchEventPrinter<DetectorBenchPoint>(a.json, out, (p) =>
    Object.entries(p.machines).map(([n, sc]) => `${n} F1 ${fmtFrac(sc.f1 as number | null)} mAP ${fmtFrac(sc.map50 as number | null)}`).join(', '),
  );
  const onEvent = (e: DetectorBenchEvent): void => events.onEvent(e);
  try {
    for (const n of names) scorers.push(await loadMachine(n, common));
    // The det-* methods' guide runs as in `encode`: the first machine at the guide size.
    const withJnd = parsed.some((m) => typeof m.offsets === 'object' && m.offsets.kind === 'detector' && usesDetectorJnd(m.offsets));
    guide = (await loadMachine(names[0], { ...common, withJnd, detectorSize: parseMachine(names[0]).kind === 'yolo' ? undefined : DEFAULT_GUIDE_SIZE })) as DetectorMachine;
    if (parsed.some((m) => m.needsGenerator)) models = await loadModelsFromArgs(a, { generator: true });
    const r = await runDetectorBench(
      {
        clips: (a.clips as string[]).map((c) => inputFromArg(c)),
        methods,
        crfs,
        frames: a.frames === undefined ? undefined : Number(a.frames),
        start: a.window === 'middle' || a.window === 'last' ? a.window : 'first',
        scorers,
        guide,
        models,
        x264: x264GridFromArgs(a),
        jnd: jndFromArgs(a as never),
        cacheFile: a.cache === undefined ? undefined : String(a.cache),
        outDir: out,
        modelsDir: String(a.models),
      },
      onEvent,
    );
    events.done();
    if (!a.json) {
      const lines = [
        `BD-rate against plain x264 at equal detection agreement (${names[0]}), mean over the ${r.clips.filter((c) => c.has_objects).length} clips with objects (negative = fewer bits):`,
        `  ${'method'.padEnd(22)} ${'at equal F1'.padStart(12)} ${'at equal mAP@0.5'.padStart(17)}${names.slice(1).map((n) => `  ${`${n} F1`.padStart(14)}`).join('')}`,
        ...r.summary.map(
          (m) => `  ${m.method.padEnd(22)} ${fmtPct(m.bd_rate_mean.f1).padStart(12)} ${fmtPct(m.bd_rate_mean.map50).padStart(17)}${names.slice(1).map((n) => `  ${fmtPct(m.by_machine[n]?.bd_rate_mean.f1 ?? null).padStart(14)}`).join('')}`,
        ),
        `wrote ${r.files.length} files to ${out} (summary.md, bench.json, points.csv, plots/)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } finally {
    for (const m of scorers) await m.release();
    await guide?.release();
    await models?.release();
  }
}

/**
 * Progress of a benchmark on stderr (one bar per point's encode and verify on a terminal,
 * a line per finished point otherwise) and NDJSON points and summary with --json.
 */
function benchEventPrinter<P extends { clip: string; method: string; crf: number; bitrate_kbps: number }>(
  json: boolean,
  out: string,
  scores: (p: P) => string,
): { onEvent: (e: BenchEvents<P, { files: string[]; settings: unknown; clips: unknown; per_clip: unknown; summary: unknown }>) => void; done: () => void } {
  let bar: ProgressLine | undefined;
  let barKey = '';
  return {
    onEvent(e) {
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
        const p = e.point;
        if (json) process.stdout.write(`${JSON.stringify({ type: 'point', done: e.done, points: e.points, cached: e.cached, point: p })}\n`);
        // Without a progress bar, one line per point keeps long runs legible in logs.
        else if (!process.stderr.isTTY) process.stderr.write(`[${e.done}/${e.points}] ${p.clip} ${p.method} CRF ${p.crf}: ${p.bitrate_kbps.toFixed(1)} kbit/s, ${scores(p)}${e.cached ? ' (cached)' : ''}\n`);
      } else if (e.type === 'summary' && json) {
        const r = e.result;
        process.stdout.write(`${JSON.stringify({ type: 'summary', ok: true, out, files: r.files, settings: r.settings, clips: r.clips, per_clip: r.per_clip, summary: r.summary })}\n`);
      }
    },
    done: () => bar?.done(),
  };
}

const fmtPct = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);
const fmtFrac = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
