import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runBatch } from '../../src/batch/batch.ts';
import { discoverJobs, expandGlob } from '../../src/batch/discover.ts';
import { mergeJobOptions, normalisedSettings } from '../../src/batch/encode-args.ts';
import { jsonSink, type BatchEvent } from '../../src/batch/events.ts';
import { settingsHash } from '../../src/batch/identity.ts';
import { planThreads } from '../../src/batch/threads.ts';
import { encodeVideo } from '../../src/media/encode.ts';
import { probeMedia } from '../../src/media/probe.ts';
import { CLI, REPO, runCli, tempDir } from '../helpers/env.ts';

const lavfi = (graph: string) => ({ source: graph, lavfi: true });
const settings = { offsets: 'none', preset: 'ultrafast' };

/** Every file below `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? visit(join(d, e.name)) : out.push(relative(dir, join(d, e.name))));
  };
  visit(dir);
  return out.sort();
}

describe('batch: discovery, identity and thread budget', function () {
  const tmp = tempDir();
  before(() => {
    mkdirSync(join(tmp.path, 'clips', 'day1'), { recursive: true });
    for (const f of ['clips/a.mp4', 'clips/day1/b.mkv', 'clips/day1/notes.txt', 'clips/.hidden.mp4', 'clips/a.mov']) writeFileSync(join(tmp.path, f), 'x');
  });
  after(() => tmp.cleanup());

  it('a folder: video files only, recursive, outputs mirror it; an .mp4 and a .mov of one name collide before anything runs', () => {
    const out = join(tmp.path, 'out');
    expect(() => discoverJobs({ inputs: [join(tmp.path, 'clips')], out, settings })).to.throw(/two jobs write this output/);
    const jobs = discoverJobs({ inputs: [join(tmp.path, 'clips/day1'), join(tmp.path, 'clips/a.mp4')], out, settings });
    expect(jobs.map((j) => relative(out, j.output))).to.deep.equal(['b.mp4', 'a.mp4']);
    expect(jobs[0].report).to.equal(join(out, 'b.report.json'));
  });

  it('globs (** and {a,b}) expand from their literal folder and keep the relative layout', () => {
    const base = join(tmp.path, 'clips');
    expect(expandGlob(`${base}/**/*.{mp4,mkv}`, '/nowhere').map((m) => m.rel)).to.deep.equal(['a.mp4', 'day1/b.mkv']);
    expect(expandGlob(`${base}/*`, '/nowhere').map((m) => m.rel)).to.deep.equal(['a.mov', 'a.mp4']);
    expect(expandGlob(`${base}/day1/*.txt`, '/nowhere').map((m) => m.rel)).to.deep.equal(['notes.txt']);
  });

  it('a manifest: per-line options checked like the command line and merged over it; relative paths', () => {
    const m = join(tmp.path, 'jobs.jsonl');
    writeFileSync(m, `{"input": "clips/a.mp4", "output": "x/a.mp4", "crf": 30}\n\n{"input": "lavfi:testsrc2", "jndGain": 0.3, "bitrate": 500}\n`);
    const jobs = discoverJobs({ inputs: [], manifest: m, out: join(tmp.path, 'o'), settings: { ...settings, crf: 23 } });
    expect(jobs.map((j) => relative(join(tmp.path, 'o'), j.output))).to.deep.equal(['x/a.mp4', jobs[1].output.split('/').pop()]);
    expect(jobs[0].input).to.equal(join(tmp.path, 'clips/a.mp4'));
    expect(jobs[0].settings.crf).to.equal(30);
    expect(jobs[1].settings).to.include({ 'jnd-gain': 0.3, bitrate: 500 }).and.not.have.property('crf');
    expect(() => mergeJobOptions({}, { crf: 'abc' }, 'm:1')).to.throw(/expected the option "crf" to be a number/);
    expect(() => mergeJobOptions({}, { nonsense: 1 }, 'm:1')).to.throw(/m:1.*nonsense/i);
    expect(() => mergeJobOptions({}, { threads: 4 }, 'm:1')).to.throw(/set by the machine that runs the job/);
  });

  it('the settings identity fills defaults in and ignores local choices (threads)', () => {
    const h = (s: Record<string, unknown>) => settingsHash(normalisedSettings(s));
    expect(h({ offsets: 'none' })).to.equal(h({ offsets: 'none', crf: 23, preset: 'medium' }));
    expect(h({ offsets: 'none', threads: 1 })).to.equal(h({ offsets: 'none' }));
    expect(h({ offsets: 'none', crf: 24 })).to.not.equal(h({ offsets: 'none' }));
  });

  it('one thread budget: N jobs never take more than the cores; explicit threads must fit', () => {
    expect(planThreads({ jobs: 2, usesModels: false, cores: 2 })).to.include({ jobs: 2, x264: 1 });
    expect(planThreads({ jobs: 1, usesModels: true, cores: 8 })).to.include({ x264: 4, model: 4 });
    expect(planThreads({ usesModels: true, cores: 2 })).to.include({ jobs: 1, x264: 1, model: 1 });
    expect(planThreads({ jobs: 2, usesModels: true, cores: 8 })).to.include({ x264: 2, model: 2 });
    const p = planThreads({ jobs: 5, usesModels: false, cores: 2 });
    expect(p.jobs).to.equal(2);
    expect(p.note).to.match(/reduced to 2/);
    expect(() => planThreads({ jobs: 2, x264Threads: 4, usesModels: false, cores: 4 })).to.throw(/<= 4 cores/);
  });
});

describe('batch: runs, skips, isolates failures, resumes after Ctrl-C', function () {
  const tmp = tempDir();
  const clips = join(tmp.path, 'clips');
  const out = join(tmp.path, 'out');
  before(async () => {
    mkdirSync(join(clips, 'sub'), { recursive: true });
    await encodeVideo({ input: lavfi('testsrc2=size=160x120:rate=25:duration=1'), output: join(clips, 'a.mp4') });
    await encodeVideo({ input: lavfi('mandelbrot=size=160x120:rate=25'), output: join(clips, 'sub', 'b.mp4'), maxFrames: 12 });
    writeFileSync(join(clips, 'sub', 'broken.mp4'), 'not a video');
  });
  after(() => tmp.cleanup());

  const run = async (force = false) => {
    const events: BatchEvent[] = [];
    const jobs = discoverJobs({ inputs: [clips], out, settings });
    const r = await runBatch({ jobs, out, concurrency: 2, local: {}, force, sink: jsonSink((l) => events.push(JSON.parse(l))) });
    return { r, events };
  };

  it('two jobs at a time: outputs mirror the folders with reports; the bad input fails alone with its sentence', async () => {
    const { r, events } = await run();
    expect(r.counts).to.deep.equal({ total: 3, done: 2, skipped: 0, failed: 1 });
    expect(tree(out)).to.deep.equal(['a.mp4', 'a.report.json', 'batch-summary.csv', 'batch-summary.md', 'sub/b.mp4', 'sub/b.report.json']);
    expect((await probeMedia(join(out, 'a.mp4'))).frames).to.equal(25);
    expect((await probeMedia(join(out, 'sub/b.mp4'))).frames).to.equal(12);
    const kinds = events.map((e) => e.event);
    expect(kinds[0]).to.equal('batch-start');
    expect(kinds.at(-1)).to.equal('batch-done');
    expect(kinds.filter((k) => k === 'job-start')).to.have.length(3);
    const failed = events.find((e) => e.event === 'job-failed') as Extract<BatchEvent, { event: 'job-failed' }>;
    expect(failed.input).to.match(/broken\.mp4$/);
    expect(failed.reason).to.match(/^Open input failed for .*broken\.mp4: .*\.$/);
    const done = events.find((e) => e.event === 'job-done') as Extract<BatchEvent, { event: 'job-done' }>;
    expect(done.frames).to.be.greaterThan(0);
    expect(done.video_kbps).to.be.greaterThan(0);
    expect(done.saving).to.be.a('number');
    const report = JSON.parse(readFileSync(join(out, 'a.report.json'), 'utf8'));
    expect(report.batch.input_identity).to.include({ kind: 'file' });
    expect(report.batch.settings_hash).to.match(/^[0-9a-f]{64}$/);
    const md = readFileSync(join(out, 'batch-summary.md'), 'utf8');
    expect(md).to.match(/\| input \| output \| frames \| video kbit\/s \| saving \| agreement \| time s \| status \|/);
    expect(md).to.match(/failed: Open input failed/);
    expect(readFileSync(join(out, 'batch-summary.csv'), 'utf8').split('\n')[0]).to.equal('input,output,frames,video_kbps,saving,agreement,time_s,status,reason');
  });

  it('run again: finished jobs are skipped (same input and settings), --force redoes them', async () => {
    const again = await run();
    expect(again.r.counts).to.include({ done: 0, skipped: 2, failed: 1 });
    const forced = await run(true);
    expect(forced.r.counts).to.include({ done: 2, skipped: 0, failed: 1 });
  });

  it('the CLI: exit 1 when a job failed, 2 for usage errors (JSON too)', async () => {
    const r = await runCli(['batch', clips, '--out', out, '--offsets', 'none', '--preset', 'ultrafast', '--json']);
    expect(r.code, r.stderr).to.equal(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.at(-1)).to.include({ event: 'batch-done' });
    expect(events.at(-1).counts).to.deep.equal({ total: 3, done: 0, skipped: 2, failed: 1 });
    const u = await runCli(['batch', join(tmp.path, 'missing.mp4'), '--out', out, '--json']);
    expect(u.code).to.equal(2);
    expect(JSON.parse(u.stdout).error.message).to.match(/missing\.mp4: no such file or folder\.$/);
  });

  it('Ctrl-C stops the running job, removes its temp file, keeps finished outputs; the same command finishes the rest', async () => {
    const out2 = join(tmp.path, 'out2');
    const args = [CLI, 'batch', join(clips, 'a.mp4'), 'lavfi:testsrc2=size=640x360:rate=25:duration=60', '--out', out2, '--offsets', 'none', '--preset', 'slow', '--jobs', '1', '--json'];
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let interrupted = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      // the long job has started and written frames: interrupt it
      if (!interrupted && /"event":"job-progress","job":2/.test(stdout)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(interrupted, stdout).to.equal(true);
    expect(code).to.equal(130);
    expect(stdout).to.match(/"interrupted":true/);
    const left = tree(out2);
    expect(left.filter((f) => f.includes('.tmp')), 'no temp files').to.deep.equal([]);
    expect(left).to.include('a.mp4').and.include('a.report.json');
    expect(left.some((f) => f.startsWith('lavfi-'))).to.equal(false);
    // The rest: the finished job is skipped (shortened here so the test stays quick).
    const r = await runCli(['batch', join(clips, 'a.mp4'), 'lavfi:testsrc2=size=160x120:rate=25:duration=1', '--out', out2, '--offsets', 'none', '--preset', 'slow', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).at(-1).counts).to.include({ done: 1, skipped: 1, failed: 0 });
    expect(existsSync(join(out2, 'batch-summary.md'))).to.equal(true);
  });
});
