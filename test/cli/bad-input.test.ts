import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeVideo } from '../../src/media/encode.ts';
import { sampleClip } from '../../src/media/sample-clip.ts';
import { CLI, REPO, runCli, tempDir } from '../helpers/env.ts';
import { MODELS_DIR, hasModels } from '../helpers/models.ts';

/**
 * Bad input and interruption, through the real CLI: non-zero exit, one sentence on
 * stderr naming file, stage and cause, and nothing left at (or beside) the output path.
 */
describe('cli: bad input and interruption', function () {
  const tmp = tempDir();
  const out = join(tmp.path, 'out.mp4');
  let goodClip = '';

  before(async () => {
    goodClip = join(tmp.path, 'good.mp4');
    await encodeVideo({ input: sampleClip('testsrc', { seconds: 2, width: 320, height: 240 }), output: goodClip });
  });
  after(() => tmp.cleanup());

  function expectCleanFailure(r: { code: number | null; stderr: string }, file: string, stage: RegExp, cause: RegExp) {
    expect(r.code, r.stderr).to.equal(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.include(file);
    expect(lines[0]).to.match(stage);
    expect(lines[0]).to.match(cause);
    expect(lines[0]).to.match(/\.$/);
    expect(existsSync(out), 'output path must stay empty').to.equal(false);
    expect(readdirSync(tmp.path).filter((f) => f.includes('.tmp')), 'no temp files left').to.deep.equal([]);
  }

  it('nonexistent input', async () => {
    const missing = join(tmp.path, 'missing.mp4');
    expectCleanFailure(await runCli(['encode', missing, '-o', out, '--offsets', 'none']), missing, /Open input/, /no such file/);
  });

  it('zero-byte input', async () => {
    const empty = join(tmp.path, 'empty.mp4');
    writeFileSync(empty, '');
    expectCleanFailure(await runCli(['encode', empty, '-o', out, '--offsets', 'none']), empty, /Open input/, /empty \(0 bytes\)/);
  });

  it('a text file named .mp4', async () => {
    const text = join(tmp.path, 'notes.mp4');
    writeFileSync(text, 'this is not a video\n'.repeat(20));
    expectCleanFailure(await runCli(['encode', text, '-o', out, '--offsets', 'none']), text, /Open input/, /Invalid data/);
  });

  it('truncated MP4 (header intact, media data cut)', async () => {
    const cut = join(tmp.path, 'cut.mp4');
    const bytes = readFileSync(goodClip);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
    expectCleanFailure(await runCli(['encode', cut, '-o', out, '--offsets', 'none']), cut, /Decode/, /corrupt|truncated/);
  });

  it('truncated MP4 (cut inside the header)', async () => {
    const cut = join(tmp.path, 'cut-header.mp4');
    writeFileSync(cut, readFileSync(goodClip).subarray(0, 200));
    expectCleanFailure(await runCli(['encode', cut, '-o', out, '--offsets', 'none']), cut, /Open input/, /no video stream found|Invalid data/);
  });

  it('a stream with zero decodable frames is an error, not a 0-byte file with exit 0', async () => {
    const r = await runCli(['encode', 'lavfi:testsrc2=size=64x64:duration=0', '-o', out, '--offsets', 'none']);
    expectCleanFailure(r, 'lavfi:testsrc2', /Decode/, /no video frame could be decoded/);
  });

  it('output folder that does not exist', async () => {
    const bad = join(tmp.path, 'no-such-dir', 'out.mp4');
    const r = await runCli(['encode', goodClip, '-o', bad, '--offsets', 'none']);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.match(/^dmvjnd: Write output failed for .*no-such-dir\/out\.mp4: the folder .* does not exist\.$/);
    expect(existsSync(bad)).to.equal(false);
  });

  it('output folder that cannot be written (read-only file system)', async function () {
    // chmod does not stop root, so use a file system nobody can create files in.
    if (!existsSync('/proc/self')) this.skip();
    const r = await runCli(['encode', goodClip, '-o', '/proc/dmvjnd-out.mp4', '--offsets', 'none']);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/Write output failed for \/proc\/dmvjnd-out\.mp4: /);
  });

  it('settings under which x264 would ignore the offsets', async () => {
    const r = await runCli(['encode', goodClip, '-o', out, '--offsets', 'split:-6,6', '--x264-params', 'aq-mode=0']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/Arguments failed for input: per-macroblock QP offsets are ignored by x264 with aq-mode=0/);
    expect(existsSync(out)).to.equal(false);
  });

  it('--json reports the error as JSON on stdout too', async () => {
    const missing = join(tmp.path, 'missing.mp4');
    const r = await runCli(['encode', missing, '-o', out, '--json', '--offsets', 'none']);
    expect(r.code).to.equal(1);
    expect(JSON.parse(r.stdout)).to.deep.include({ ok: false });
    expect(JSON.parse(r.stdout).error).to.include({ stage: 'open input', file: missing });
  });

  // The JND run interrupts the analysis worker mid-run too (stride 1 keeps it busy):
  // onnxruntime-node aborts the process if its thread dies inside a model run.
  for (const [label, extra] of [
    ['plain', ['--offsets', 'none']],
    ['JND (analysis worker)', ['--machine', 'cifar', '--analysis-stride', '1', '--provider', 'cpu', '--models', MODELS_DIR]],
    ['det-roi (detector worker)', ['--machine', 'centernet', '--analysis-stride', '1', '--provider', 'cpu', '--models', MODELS_DIR]],
  ] as const) {
    it(`Ctrl-C mid-encode removes the partial output: ${label}`, async function () {
      if (label !== 'plain' && !hasModels) this.skip();
      const target = join(tmp.path, 'interrupted.mp4');
      const child = spawn(process.execPath, [CLI, 'encode', 'lavfi:testsrc2=size=640x360:rate=25:duration=60', '-o', target, ...extra], {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      // Wait until the temp file beside the target exists and has data, then interrupt.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const temp = readdirSync(tmp.path).find((f) => f.startsWith('.interrupted.') && f.includes('.tmp'));
        if (temp) break;
        if (Date.now() > deadline) throw new Error('encode never started writing');
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      child.kill('SIGINT');
      const code = await exited;
      expect(code, stderr).to.equal(130);
      expect(stderr).to.not.match(/terminate called|Aborted|failed/);
      expect(existsSync(target)).to.equal(false);
      expect(readdirSync(tmp.path).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
    });
  }

  it('a clean run leaves only the output', async () => {
    const r = await runCli(['encode', goodClip, '-o', out, '--offsets', 'split:-6,6', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report).to.include({ ok: true, frames: 50 });
    expect(existsSync(out)).to.equal(true);
    expect(readdirSync(tmp.path).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
    copyFileSync(out, join(tmp.path, 'kept.mp4'));
  });
});
