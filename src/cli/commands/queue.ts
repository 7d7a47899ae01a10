import type { Argv } from 'yargs';
import { DmvjndError } from '../../errors.ts';
import { discoverJobs } from '../../batch/discover.ts';
import { checkSettings, encodeSettingOptions, localOptionsFromArgs, settingsOf } from '../../batch/encode-args.ts';
import { jsonSink, textSink } from '../../batch/events.ts';
import { clientConnection, DEFAULT_QUEUE, DEFAULT_REDIS, workerConnection } from '../../queue/connection.ts';
import { queueStatus } from '../../queue/status.ts';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, submitJobs } from '../../queue/submit.ts';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_MAX_STALLED, DEFAULT_STALLED_INTERVAL_MS, runWorker } from '../../queue/worker.ts';
import { fail, note } from '../shared.ts';
import { usageExit } from './batch.ts';

function redisOptions<T>(y: Argv<T>) {
  return y
    .option('redis', { type: 'string', default: DEFAULT_REDIS, group: 'Queue:', defaultDescription: 'DMVJND_REDIS or redis://127.0.0.1:6379', describe: 'Redis URL: redis://[user:password@]host:port[/db]' })
    .option('queue', { type: 'string', default: DEFAULT_QUEUE, group: 'Queue:', describe: 'Queue name (several pipelines can share one Redis)' });
}

const SUBMIT_KEYS = ['inputs', 'out', 'manifest', 'force', 'attempts', 'backoff', 'redis', 'queue'];

const submitCommand = {
  command: 'submit [inputs..]',
  describe: 'Add encode jobs (same inputs, --out and options as batch) to the queue; the same work twice is added once',
  builder: (y: Argv) =>
    redisOptions(encodeSettingOptions(y))
      .hide('threads').hide('model-threads').hide('provider').hide('models').hide('analysis-thread')
      .positional('inputs', { type: 'string', array: true, describe: 'Video files, folders, globs or lavfi:<graph>, on a mount every worker sees at the same path' })
      .option('out', { type: 'string', demandOption: true, group: 'Batch:', describe: 'Output folder on the shared mount (outputs mirror the input folders, reports beside them)' })
      .option('manifest', { type: 'string', group: 'Batch:', describe: 'JSONL file, one job per line (as for batch)' })
      .option('attempts', { type: 'number', default: DEFAULT_ATTEMPTS, group: 'Queue:', describe: 'Tries per job before it is failed' })
      .option('backoff', { type: 'number', default: DEFAULT_BACKOFF_MS, group: 'Queue:', describe: 'Delay before the first retry in ms, doubled each retry' })
      .option('force', { type: 'boolean', default: false, group: 'Queue:', describe: 'Re-add jobs that already completed or failed' })
      .example('$0 queue submit /mnt/media/in --out /mnt/media/out --redis redis://queue-host:6379 --crf 28', 'Every clip under the shared folder, one job each')
      .example('$0 queue submit --manifest jobs.jsonl --out /mnt/media/out --json', 'Jobs from a manifest; prints {"ok":true,"added":N,"existing":M,"jobs":[...]}')
      .epilog('Outputs and inputs are paths: every worker must see them at the same place (a shared mount). Exit 0 when submitted, 1 when Redis is unreachable, 2 for usage errors.'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    let jobs;
    try {
      const settings = settingsOf(a, SUBMIT_KEYS);
      checkSettings(settings);
      jobs = discoverJobs({ inputs: (a.inputs as string[] | undefined) ?? [], manifest: a.manifest as string | undefined, out: String(a.out), settings });
      if (!(Number(a.attempts) >= 1)) throw new DmvjndError('arguments', undefined, `expected --attempts >= 1 but received ${a.attempts}`);
    } catch (err) {
      usageExit(err, a.json);
    }
    try {
      const connection = await clientConnection(String(a.redis));
      try {
        const results = await submitJobs({ connection, queue: String(a.queue), jobs, attempts: Number(a.attempts), backoffMs: Number(a.backoff), force: Boolean(a.force) });
        const added = results.filter((r) => r.status === 'added').length;
        if (a.json) {
          process.stdout.write(`${JSON.stringify({ ok: true, queue: a.queue, added, existing: results.length - added, jobs: results })}\n`);
        } else {
          for (const r of results) process.stdout.write(`${r.status === 'added' ? 'added   ' : `exists (${r.state})`} ${r.id}  ${r.input} -> ${r.output}\n`);
          process.stdout.write(`${added} added, ${results.length - added} already in queue ${a.queue}\n`);
        }
      } finally {
        connection.disconnect();
      }
    } catch (err) {
      if (err instanceof DmvjndError && err.stage === 'arguments') usageExit(err, a.json);
      fail(err, a.json);
    }
  },
};

const workerCommand = {
  command: 'worker',
  describe: 'Run queue jobs on this machine until stopped (SIGTERM releases the running jobs and exits 0)',
  builder: (y: Argv) =>
    redisOptions(y)
      .option('concurrency', { type: 'number', default: 1, group: 'Worker:', describe: 'Jobs at a time on this machine, sharing its cores (as batch --jobs)' })
      .option('stalled-interval', { type: 'number', default: DEFAULT_STALLED_INTERVAL_MS, group: 'Worker:', describe: 'ms between checks for jobs whose worker died (their lock expired)' })
      .option('lock-duration', { type: 'number', default: DEFAULT_LOCK_DURATION_MS, group: 'Worker:', describe: 'ms a job lock lives without renewal: how soon a dead worker\'s job can be taken again' })
      .option('max-stalled', { type: 'number', default: DEFAULT_MAX_STALLED, group: 'Worker:', describe: 'Times a job may lose its worker before it is failed' })
      .option('exit-when-drained', { type: 'boolean', default: false, group: 'Worker:', describe: 'Exit 0 once nothing is waiting, delayed or active in the queue' })
      .option('threads', { type: 'number', group: 'Worker:', describe: 'x264 threads per job [default: the cores split between the jobs]' })
      .option('model-threads', { type: 'number', group: 'Worker:', describe: 'ONNX Runtime threads per job [default: half a job\'s share]' })
      .option('provider', { type: 'string', default: 'auto', choices: ['auto', 'cpu', 'cuda'], group: 'Worker:', describe: 'ONNX Runtime device on this machine' })
      .option('models', { type: 'string', group: 'Worker:', describe: 'Models folder on this machine [default: models/ of this package]' })
      .option('analysis-thread', { type: 'string', choices: ['worker', 'main'], default: 'worker', group: 'Worker:', describe: 'Where the JND analysis runs' })
      .example('$0 queue worker --redis redis://queue-host:6379 --concurrency 2', 'Take jobs until stopped; start one per machine')
      .example('$0 queue worker --redis redis://127.0.0.1:6379 --exit-when-drained --json', 'Drain the queue, NDJSON events on stdout, then exit'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const connection = workerConnection(String(a.redis));
      connection.on('error', () => undefined); // reconnects; the worker notes it once
      const local = localOptionsFromArgs(a);
      const code = await runWorker({
        connection,
        queue: String(a.queue),
        concurrency: Number(a.concurrency),
        local,
        sink: a.json ? jsonSink() : textSink({ tty: false }),
        stalledInterval: Number(a['stalled-interval']),
        lockDuration: Number(a['lock-duration']),
        maxStalledCount: Number(a['max-stalled']),
        exitWhenDrained: Boolean(a['exit-when-drained']),
        onNote: note,
      });
      connection.disconnect();
      process.exit(code);
    } catch (err) {
      if (err instanceof DmvjndError && err.stage === 'arguments') usageExit(err, a.json);
      fail(err, a.json);
    }
  },
};

const statusCommand = {
  command: 'status',
  describe: 'Jobs per state, and why the failed ones failed',
  builder: (y: Argv) =>
    redisOptions(y)
      .example('$0 queue status --redis redis://queue-host:6379', 'Counts per state and failed jobs\' reasons')
      .example('$0 queue status --json', '{"queue":..,"counts":{"waiting","active","completed","failed","delayed"},"failed":[{"id","input","output","reason","attempts"}]}'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const connection = await clientConnection(String(a.redis));
      try {
        const s = await queueStatus(connection, String(a.queue));
        if (a.json) process.stdout.write(`${JSON.stringify({ ok: true, ...s })}\n`);
        else {
          const c = s.counts;
          process.stdout.write(`queue ${s.queue}: ${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed (retry pending), ${c.completed} completed, ${c.failed} failed\n`);
          for (const f of s.failed) process.stdout.write(`failed ${f.id}  ${f.input}: ${f.reason} (${f.attempts} attempts)\n`);
        }
      } finally {
        connection.disconnect();
      }
    } catch (err) {
      fail(err, a.json);
    }
  },
};

export const queueCommand = {
  command: 'queue <command>',
  describe: 'Scale out over machines: submit jobs to a BullMQ queue on Redis, run workers, see the status',
  builder: (y: Argv) =>
    y
      .command(submitCommand as never)
      .command(workerCommand as never)
      .command(statusCommand as never)
      .demandCommand(1, 'Name a queue command: submit, worker or status.')
      .epilog('Inputs and outputs are paths every worker sees at the same place (a shared mount). README: "Batch jobs and the queue".'),
  handler: () => undefined,
};
