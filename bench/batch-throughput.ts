/**
 * Batch and queue throughput on this machine, in one run (issue 14):
 *
 *   - jobs per minute of `dmvjnd batch --jobs 1` and `--jobs 2` on the same jobs (their ratio
 *     picks the default --jobs);
 *   - the queue with one and two local `dmvjnd queue worker` processes on the same jobs,
 *     against batch --jobs 1 (same process start-up counted in both);
 *   - queue overhead per job: submit to start (BullMQ's processedOn - timestamp) on an idle worker.
 *
 * Every run is a real CLI run (wall time, process start-up included) into a fresh --out;
 * Redis is a private redis-server on a loopback port.
 *
 *   npx tsx bench/batch-throughput.ts [--clips 6] [--frames 48] [--offsets jnd] [--overhead-jobs 8]
 *
 * Writes bench/results/batch-throughput.{json,md}.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { discoverJobs } from '../src/batch/discover.ts';
import { clientConnection } from '../src/queue/connection.ts';
import { submitJobs } from '../src/queue/submit.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { CLI, REPO, VIDEOS_DIR } from '../test/helpers/env.ts';

const { values } = parseArgs({
  options: {
    clips: { type: 'string', default: '6' },
    frames: { type: 'string', default: '48' },
    offsets: { type: 'string', default: 'jnd' },
    'overhead-jobs': { type: 'string', default: '8' },
  },
});
const nClips = Number(values.clips);
const frames = Number(values.frames);
const offsets = String(values.offsets);

const work = join(tmpdir(), `dmvjnd-bench-batch-${process.pid}`);
mkdirSync(work, { recursive: true });
// The jobs: the first N frames of the dev clips (smallest first), or lavfi clips without them.
const clips = existsSync(VIDEOS_DIR)
  ? readdirSync(VIDEOS_DIR).filter((f) => /\.(mp4|mkv)$/.test(f) && !/1080p/.test(f)).sort().slice(0, nClips).map((f) => join(VIDEOS_DIR, f))
  : Array.from({ length: nClips }, (_, i) => `lavfi:testsrc2=size=640x360:rate=25:duration=${(frames / 25 + i * 0.04).toFixed(2)}`);
const encodeArgs = ['--offsets', offsets, '--frames', String(frames)];

function cli(args: string[], onLine?: (line: string) => void, onSpawn?: (pid: number) => void): Promise<{ code: number | null; ms: number; stderr: string }> {
  const t0 = performance.now();
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) onSpawn?.(child.pid);
    let buf = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine?.(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => res({ code, ms: performance.now() - t0, stderr }));
  });
}

async function batch(jobs: number): Promise<number> {
  const out = join(work, `batch-${jobs}`);
  rmSync(out, { recursive: true, force: true });
  const r = await cli(['batch', ...clips, '--out', out, ...encodeArgs, '--jobs', String(jobs), '--json']);
  if (r.code !== 0) throw new Error(`batch --jobs ${jobs} failed: ${r.stderr}`);
  return r.ms;
}

const workersOnly: Record<number, number> = {};

async function queueRun(url: string, workers: number): Promise<number> {
  const name = `bench-${workers}`;
  const out = join(work, `queue-${workers}`);
  rmSync(out, { recursive: true, force: true });
  const t0 = performance.now();
  const conn = await clientConnection(url);
  // What `dmvjnd queue submit` does (settings as the CLI parses them).
  const r = await cli(['queue', 'submit', ...clips, '--out', out, ...encodeArgs, '--redis', url, '--queue', name, '--json']);
  if (r.code !== 0) throw new Error(`submit failed: ${r.stderr}`);
  const tw = performance.now();
  const runs = await Promise.all(Array.from({ length: workers }, () => cli(['queue', 'worker', '--redis', url, '--queue', name, '--exit-when-drained', '--json'])));
  const ms = performance.now() - t0;
  workersOnly[workers] = performance.now() - tw;
  for (const w of runs) if (w.code !== 0) throw new Error(`worker failed: ${w.stderr}`);
  const q = new Queue(name, { connection: conn });
  const c = await q.getJobCounts('completed', 'failed');
  await q.close();
  conn.disconnect();
  if (c.completed !== clips.length) throw new Error(`queue with ${workers} workers completed ${c.completed} of ${clips.length}`);
  return ms;
}

/** Submit to start on an idle worker: one tiny job at a time, BullMQ's own timestamps. */
async function overhead(url: string, n: number): Promise<number[]> {
  const name = 'bench-overhead';
  const out = join(work, 'overhead');
  const conn = await clientConnection(url);
  const q = new Queue(name, { connection: conn });
  let workerPid = 0;
  const worker = cli(['queue', 'worker', '--redis', url, '--queue', name, '--json'], undefined, (pid) => (workerPid = pid));
  await new Promise((r) => setTimeout(r, 5000)); // worker started and blocked waiting for jobs
  const waits: number[] = [];
  for (let i = 0; i < n; i++) {
    const jobs = discoverJobs({ inputs: [`lavfi:testsrc2=size=160x120:rate=25:duration=0.${i + 2}`], out, settings: { offsets: 'none' } });
    const [s] = await submitJobs({ connection: conn, queue: name, jobs });
    for (;;) {
      const job = await q.getJob(s.id);
      if (job?.finishedOn) {
        waits.push(job.processedOn! - job.timestamp);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await q.close();
  conn.disconnect();
  // Stop the (idle) worker: SIGTERM, it exits 0.
  process.kill(workerPid, 'SIGTERM');
  await worker;
  return waits;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const jpm = (ms: number) => (clips.length * 60_000) / ms;

const redis = await startRedis();
try {
  console.error(`${clips.length} jobs (${frames} frames each, --offsets ${offsets}) on ${availableParallelism()} cores`);
  const b1 = await batch(1);
  console.error(`batch --jobs 1: ${(b1 / 1000).toFixed(1)} s`);
  const b2 = await batch(2);
  console.error(`batch --jobs 2: ${(b2 / 1000).toFixed(1)} s`);
  const q1 = await queueRun(redis.url, 1);
  console.error(`queue, 1 worker: ${(q1 / 1000).toFixed(1)} s`);
  const q2 = await queueRun(redis.url, 2);
  console.error(`queue, 2 workers: ${(q2 / 1000).toFixed(1)} s`);
  const waits = await overhead(redis.url, Number(values['overhead-jobs']));
  const result = {
    command: `npx tsx bench/batch-throughput.ts --clips ${nClips} --frames ${frames} --offsets ${offsets} --overhead-jobs ${values['overhead-jobs']}`,
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown' },
    jobs: clips.map((c) => c.replace(resolve(VIDEOS_DIR), '<videos>')),
    frames_per_job: frames,
    offsets,
    wall_s: {
      batch_jobs1: b1 / 1000, batch_jobs2: b2 / 1000, queue_workers1: q1 / 1000, queue_workers2: q2 / 1000,
      queue_workers1_without_submit: workersOnly[1] / 1000, queue_workers2_without_submit: workersOnly[2] / 1000,
    },
    jobs_per_minute: { batch_jobs1: jpm(b1), batch_jobs2: jpm(b2), queue_workers1: jpm(q1), queue_workers2: jpm(q2) },
    ratios: {
      batch_jobs2_over_jobs1: b1 / b2,
      queue_workers1_over_batch_jobs1: b1 / q1,
      queue_workers2_over_batch_jobs2: b2 / q2,
      queue_workers2_over_workers1: q1 / q2,
    },
    queue_overhead_ms: { submit_to_start_median: median(waits), submit_to_start_max: Math.max(...waits), samples: waits },
  };
  mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO, 'bench', 'results', 'batch-throughput.json'), `${JSON.stringify(result, null, 1)}\n`);
  const f = (n: number, d = 2) => n.toFixed(d);
  const md = [
    '# Batch and queue throughput',
    '',
    `\`${result.command}\` on ${result.machine.cores} cores (${result.machine.cpu}): ${clips.length} jobs, the first ${frames} frames of each, \`--offsets ${offsets}\`; wall time of the CLI runs, process start-up included.`,
    '',
    '| run | wall s | jobs/min | ratio |',
    '|---|---|---|---|',
    `| batch --jobs 1 | ${f(b1 / 1000, 1)} | ${f(jpm(b1), 1)} | 1.00 |`,
    `| batch --jobs 2 | ${f(b2 / 1000, 1)} | ${f(jpm(b2), 1)} | ${f(b1 / b2)} vs --jobs 1 |`,
    `| queue, 1 worker | ${f(q1 / 1000, 1)} | ${f(jpm(q1), 1)} | ${f(b1 / q1)} vs batch --jobs 1 |`,
    `| queue, 2 workers | ${f(q2 / 1000, 1)} | ${f(jpm(q2), 1)} | ${f(b2 / q2)} vs batch --jobs 2, ${f(q1 / q2)} vs 1 worker |`,
    `| queue, 1 worker, without the submit run | ${f(workersOnly[1] / 1000, 1)} | ${f(jpm(workersOnly[1]), 1)} | ${f(b1 / workersOnly[1])} vs batch --jobs 1 |`,
    `| queue, 2 workers, without the submit run | ${f(workersOnly[2] / 1000, 1)} | ${f(jpm(workersOnly[2]), 1)} | ${f(b2 / workersOnly[2])} vs batch --jobs 2 |`,
    '',
    `Queue overhead per job, submit to start on an idle worker (BullMQ's processedOn - timestamp, ${waits.length} jobs): median ${f(median(waits), 0)} ms, max ${f(Math.max(...waits), 0)} ms.`,
    '',
  ].join('\n');
  writeFileSync(join(REPO, 'bench', 'results', 'batch-throughput.md'), md);
  process.stdout.write(md);
} finally {
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
}
