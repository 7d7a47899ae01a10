import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { discoverJobs } from '../../src/batch/discover.ts';
import { encodeVideo } from '../../src/media/encode.ts';
import { probeMedia } from '../../src/media/probe.ts';
import { clientConnection } from '../../src/queue/connection.ts';
import { queueStatus } from '../../src/queue/status.ts';
import { submitJobs } from '../../src/queue/submit.ts';
import { CLI, REPO, runCli, tempDir } from '../helpers/env.ts';
import { hasRedis, NO_REDIS_REASON, startRedis, type TestRedis } from '../helpers/redis.ts';

/**
 * The queue for real: a private redis-server on a loopback port, workers as separate
 * `dmvjnd queue worker` processes, killed and stopped with real signals.
 */
interface WorkerProc {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
  waitFor(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function startWorker(url: string, queue: string, extra: string[] = []): WorkerProc {
  const child = spawn(process.execPath, [CLI, 'queue', 'worker', '--redis', url, '--queue', queue, '--json', '--exit-when-drained',
    '--stalled-interval', '500', '--lock-duration', '2000', ...extra], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = [];
  let buf = '';
  const w: WorkerProc = {
    child, events, stderr: '',
    exited: new Promise((r) => child.on('close', (c) => r(c))),
    waitFor(pred, timeoutMs = 60_000) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no such event in time; got ${JSON.stringify(events.map((e) => e.event))}; stderr ${w.stderr}`)), timeoutMs);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
  };
  child.stderr!.on('data', (d) => (w.stderr += d));
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line);
      events.push(e);
      for (const x of [...waiters]) if (x.pred(e)) { waiters.splice(waiters.indexOf(x), 1); x.resolve(e); }
    }
  });
  return w;
}

const temps = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.includes('.tmp')) : []);

describe('queue: BullMQ workers over a private Redis', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let conn: Redis;
  const tmp = tempDir();
  before(async function () {
    if (!hasRedis) this.skip();
    redis = await startRedis({ persist: true });
    conn = await clientConnection(redis.url);
  });
  after(async () => {
    conn?.disconnect();
    await redis?.stop();
    tmp.cleanup();
  });
  if (!hasRedis) it.skip(`skipped: ${NO_REDIS_REASON}`);

  // A slow-preset clip: long enough (1-2 s) to kill a worker in the middle of it.
  const long = (i: number) => `lavfi:testsrc2=size=480x270:rate=25:duration=${4 + i * 0.04}`;
  const settings = { offsets: 'none', preset: 'slow' };

  it('SIGKILL a worker mid-job: its job runs again elsewhere, every output complete once, no temp file; a bad input fails with its reason; re-submission adds nothing', async () => {
    const out = join(tmp.path, 'out1');
    const bad = join(tmp.path, 'bad.mp4');
    writeFileSync(bad, 'not a video at all');
    const inputs = [0, 1, 2, 3].map(long);
    const jobs = discoverJobs({ inputs: [...inputs, bad], out, settings });
    const submitted = await submitJobs({ connection: conn, queue: 'kill', jobs, attempts: 2, backoffMs: 100 });
    expect(submitted.every((s) => s.status === 'added')).to.equal(true);
    const a = startWorker(redis.url, 'kill');
    const b = startWorker(redis.url, 'kill');
    const progress = await a.waitFor((e) => e.event === 'job-progress' && Number(e.frames) > 0);
    a.child.kill('SIGKILL');
    expect(await a.exited).to.equal(null);
    const c = startWorker(redis.url, 'kill');
    expect(await b.exited, b.stderr).to.equal(0);
    expect(await c.exited, c.stderr).to.equal(0);
    // The killed job started again on b or c and finished there.
    const rerun = [...b.events, ...c.events].filter((e) => e.id === progress.id && e.event === 'job-done');
    expect(rerun, 'the killed job is done exactly once').to.have.length(1);
    const s = await queueStatus(conn, 'kill');
    expect(s.counts).to.deep.equal({ waiting: 0, active: 0, completed: 4, failed: 1, delayed: 0 });
    expect(s.failed).to.have.length(1);
    expect(s.failed[0].input).to.equal(bad);
    expect(s.failed[0].reason).to.match(/^Open input failed for .*bad\.mp4: .*\.$/);
    expect(s.failed[0].attempts).to.equal(2);
    // Exactly one complete file per job, nothing else.
    const expected = jobs.slice(0, 4);
    const files = readdirSync(out).sort();
    expect(files).to.deep.equal(expected.flatMap((j) => [j.output, j.report].map((p) => p.split('/').pop()!)).sort());
    for (const [i, j] of expected.entries()) expect((await probeMedia(j.output)).frames, j.input).to.equal(Math.round((4 + i * 0.04) * 25));
    expect(temps(out)).to.deep.equal([]);
    // Submitting the same work again adds nothing (the CLI, as a user would).
    const again = await runCli(['queue', 'submit', ...inputs, bad, '--out', out, '--offsets', 'none', '--preset', 'slow', '--redis', redis.url, '--queue', 'kill', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout)).to.include({ added: 0, existing: 5 });
    const st = await runCli(['queue', 'status', '--redis', redis.url, '--queue', 'kill', '--json']);
    expect(JSON.parse(st.stdout).counts).to.deep.equal({ waiting: 0, active: 0, completed: 4, failed: 1, delayed: 0 });
  });

  it('SIGTERM: the worker puts its running job back to waiting, removes its temp file and exits 0', async () => {
    const out = join(tmp.path, 'out2');
    await submitJobs({ connection: conn, queue: 'term', jobs: discoverJobs({ inputs: ['lavfi:testsrc2=size=480x270:rate=25:duration=30'], out, settings }) });
    const w = startWorker(redis.url, 'term');
    await w.waitFor((e) => e.event === 'job-progress' && Number(e.frames) > 0);
    w.child.kill('SIGTERM');
    expect(await w.exited, w.stderr).to.equal(0);
    const s = await queueStatus(conn, 'term');
    expect(s.counts).to.include({ waiting: 1, active: 0, failed: 0, completed: 0 });
    expect(temps(out)).to.deep.equal([]);
  });

  it('an input that vanished after submission fails at once with a sentence (no retries)', async () => {
    const out = join(tmp.path, 'out3');
    const clip = join(tmp.path, 'gone.mp4');
    await encodeVideo({ input: { source: 'testsrc2=size=160x120:rate=25:duration=1', lavfi: true }, output: clip });
    await submitJobs({ connection: conn, queue: 'gone', jobs: discoverJobs({ inputs: [clip], out, settings }), attempts: 3, backoffMs: 100 });
    rmSync(clip);
    const w = startWorker(redis.url, 'gone');
    expect(await w.exited, w.stderr).to.equal(0);
    const s = await queueStatus(conn, 'gone');
    expect(s.counts.failed).to.equal(1);
    expect(s.failed[0].reason).to.match(/^Open input failed for .*gone\.mp4: the input vanished after the job was submitted \(no such file\)\.$/);
    expect(s.failed[0].attempts).to.equal(1);
  });

  it('Redis restarts mid-run: the worker reconnects and the run completes', async () => {
    const out = join(tmp.path, 'out4');
    const jobs = discoverJobs({ inputs: [0, 1, 2].map((i) => `lavfi:testsrc2=size=480x270:rate=25:duration=${3 + i * 0.04}`), out, settings });
    await submitJobs({ connection: conn, queue: 'restart', jobs });
    const w = startWorker(redis.url, 'restart');
    await w.waitFor((e) => e.event === 'job-progress' && Number(e.frames) > 0);
    conn.disconnect();
    await redis.restart({ downMs: 1500 });
    // Jobs were still to do when Redis went away.
    expect(w.events.filter((e) => e.event === 'job-done').length).to.be.lessThan(3);
    conn = await clientConnection(redis.url);
    expect(await w.exited, w.stderr).to.equal(0);
    expect(w.stderr).to.match(/connected to Redis again/);
    const s = await queueStatus(conn, 'restart');
    expect(s.counts).to.include({ completed: 3, failed: 0, active: 0, waiting: 0 });
    for (const [i, j] of jobs.entries()) expect((await probeMedia(j.output)).frames).to.equal(Math.round((3 + i * 0.04) * 25));
    expect(temps(out)).to.deep.equal([]);
  });
});
