import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { linkSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { encodeVideo } from '../../src/media/encode.ts';
import { isSameFile } from '../../src/util/same-file.ts';
import { runCli, tempDir } from '../helpers/env.ts';

/**
 * Issue 14, item 5: `encode in.mp4 -o in.mp4` used to replace the input with the encode.
 * Now the same path, a symlink to it and a hard link are all refused with one sentence,
 * before anything is written, and the input's bytes stay as they were.
 */
describe('encode guard: the output is the input', function () {
  const tmp = tempDir();
  const input = join(tmp.path, 'in.mp4');
  let original = '';
  const digest = () => createHash('sha256').update(readFileSync(input)).digest('hex');

  before(async () => {
    await encodeVideo({ input: { source: 'testsrc2=size=160x120:rate=25:duration=1', lavfi: true }, output: input });
    symlinkSync(input, join(tmp.path, 'sym.mp4'));
    linkSync(input, join(tmp.path, 'hard.mp4'));
    original = digest();
  });
  after(() => tmp.cleanup());

  for (const [name, out] of [['the same path', 'in.mp4'], ['a symlink to it', 'sym.mp4'], ['a hard link to it', 'hard.mp4']] as const) {
    it(`refuses ${name}, input untouched`, async () => {
      const r = await runCli(['encode', 'in.mp4', '-o', out, '--offsets', 'none', '--frames', '5'], { cwd: tmp.path });
      expect(r.code, r.stderr).to.equal(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^dmvjnd: Write output failed for .*: the output is the input file in\.mp4: choose another output path\.$/);
      expect(digest()).to.equal(original);
      expect(readdirSync(tmp.path).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
    });
  }

  it('--json still answers JSON', async () => {
    const r = await runCli(['encode', 'in.mp4', '-o', 'in.mp4', '--offsets', 'none', '--json'], { cwd: tmp.path });
    expect(r.code).to.equal(1);
    const j = JSON.parse(r.stdout);
    expect(j.ok).to.equal(false);
    expect(j.error.stage).to.equal('write output');
    expect(digest()).to.equal(original);
  });

  it('batch refuses an --out that puts an output on its input (exit 2), input untouched', async () => {
    const r = await runCli(['batch', 'in.mp4', '--out', '.', '--offsets', 'none', '--json'], { cwd: tmp.path });
    expect(r.code, r.stderr).to.equal(2);
    expect(JSON.parse(r.stdout).error.message).to.match(/the output is the input file in\.mp4/);
    expect(digest()).to.equal(original);
  });

  it('isSameFile: a path that does not exist yet is nothing to check', () => {
    expect(isSameFile(input, join(tmp.path, 'new.mp4'))).to.equal(false);
    expect(isSameFile(input, join(tmp.path, 'hard.mp4'))).to.equal(true);
    expect(isSameFile(join(tmp.path, 'sym.mp4'), input)).to.equal(true);
  });
});
