import type { Argv } from 'yargs';
import { DmvjndError, reasonOf } from '../../errors.ts';
import { runBatch } from '../../batch/batch.ts';
import { discoverJobs } from '../../batch/discover.ts';
import { checkSettings, encodeSettingOptions, localOptionsFromArgs, settingsOf } from '../../batch/encode-args.ts';
import { jsonSink, textSink } from '../../batch/events.ts';
import { summaryMarkdown } from '../../batch/summary.ts';
import { DEFAULT_JOBS_RULE } from '../../batch/threads.ts';
import { fail, note } from '../shared.ts';

/** The batch command's own options: not encode settings. */
export const BATCH_KEYS = ['inputs', 'out', 'manifest', 'jobs', 'force'];

/** A usage error: one sentence (JSON too with --json), exit 2. */
export function usageExit(err: unknown, json: boolean): never {
  const e = err instanceof DmvjndError ? err : new DmvjndError('arguments', undefined, reasonOf(err), { cause: err });
  process.stderr.write(`dmvjnd: ${e.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { stage: e.stage, file: e.file ?? null, message: e.message } })}\n`);
  process.exit(2);
}

export const batchCommand = {
  command: 'batch [inputs..]',
  describe: 'Encode many clips (files, folders, globs or a JSONL manifest) into --out: resumable, isolated failures, N at a time',
  builder: (y: Argv) =>
    encodeSettingOptions(y)
      .positional('inputs', { type: 'string', array: true, describe: 'Video files, folders (recursive, video files only), globs (quote them: "clips/**/*.mkv") or lavfi:<graph>' })
      .option('out', { type: 'string', demandOption: true, group: 'Batch:', describe: 'Output folder: each output mirrors its input\'s place under the folder or glob it came from, with <name>.report.json beside it' })
      .option('manifest', { type: 'string', group: 'Batch:', describe: 'JSONL file, one job per line: {"input": "a.mkv", "output": "a/b.mp4", "crf": 30, ...any encode option}; paths relative to the manifest, outputs relative to --out' })
      .option('jobs', { type: 'number', group: 'Batch:', describe: `Jobs at a time, sharing the cores (x264 threads + model threads per job fit the machine) [default: ${DEFAULT_JOBS_RULE}]` })
      .option('force', { type: 'boolean', default: false, group: 'Batch:', describe: 'Redo jobs whose output and report already exist with the same input and settings' })
      .example('$0 batch clips/ --out enc/ --crf 28', 'Every video under clips/ (recursively) into enc/, mirroring its folders')
      .example('$0 batch "clips/**/*.mkv" --out enc/ --offsets none --jobs 1 --json', 'A glob, plain x264 offsets, one job at a time, NDJSON events on stdout')
      .example('$0 batch --manifest jobs.jsonl --out enc/ --verify', 'Jobs from a manifest (per-line options win), each verified against its input')
      .example('$0 batch clips/ --out enc/', 'Run it again after Ctrl-C or a crash: finished jobs are skipped, the rest run')
      .epilog(
        'Exit status: 0 when every job succeeded or was skipped, 1 when any job failed, 2 for usage errors (bad options, missing inputs, ' +
          'two jobs to one output, an output that is an input). A job is skipped when its output and report exist for the same input ' +
          '(size, mtime, SHA-256 of its first and last MiB) and the same settings. The summary table is written to <out>/batch-summary.{md,csv}.',
      ),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    const json = a.json;
    let jobs;
    let settings;
    try {
      settings = settingsOf(a, BATCH_KEYS);
      checkSettings(settings);
      jobs = discoverJobs({ inputs: (a.inputs as string[] | undefined) ?? [], manifest: a.manifest as string | undefined, out: String(a.out), settings });
    } catch (err) {
      usageExit(err, json);
    }
    try {
      const sink = json ? jsonSink() : textSink({ total: jobs.length });
      const result = await runBatch({
        jobs,
        out: String(a.out),
        concurrency: a.jobs === undefined ? undefined : Number(a.jobs),
        local: localOptionsFromArgs(a),
        force: Boolean(a.force),
        sink,
        onNote: note,
      });
      if (!json) {
        process.stdout.write(`\n${summaryMarkdown(result.rows, result.summary.markdown.replace(/\/batch-summary\.md$/, ''))}`);
        const c = result.counts;
        process.stdout.write(`${c.total} jobs: ${c.done} done, ${c.skipped} skipped, ${c.failed} failed; summary in ${result.summary.markdown} and ${result.summary.csv}\n`);
      }
      process.exit(result.counts.failed > 0 ? 1 : 0);
    } catch (err) {
      if (err instanceof DmvjndError && err.stage === 'arguments') usageExit(err, json);
      fail(err, json);
    }
  },
};
