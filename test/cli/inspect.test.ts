import { expect } from 'chai';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/env.ts';

describe('cli: encode, inspect and help', function () {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('encodes the embedded sample with split offsets and inspect reads the QP maps back', async () => {
    const out = join(tmp.path, 'sample.mp4');
    const enc = await runCli(['encode', '-o', out, '--offsets', 'split:-6,+6', '--keyint', '1', '--json']);
    expect(enc.code, enc.stderr).to.equal(0);
    const report = JSON.parse(enc.stdout);
    expect(report).to.include({ ok: true, frames: 100, width: 640, height: 360, audio: 'none' });
    expect(report.settings.x264).to.deep.include({ keyint: 1, preset: 'medium' });
    expect(report.settings.offsets).to.equal('split');

    const ins = await runCli(['inspect', out, '--json', '--maps']);
    expect(ins.code, ins.stderr).to.equal(0);
    const info = JSON.parse(ins.stdout);
    expect(info).to.include({ frames: 100, width: 640, height: 360 });
    expect(info.mb_grid).to.deep.equal({ cols: 40, rows: 23 });
    expect(info.qp_frames).to.have.length(100);
    const f0 = info.qp_frames[0];
    expect(f0.qp).to.have.length(40 * 23);
    expect(f0.type).to.equal('I');
    expect(f0.min).to.be.at.most(f0.mean);
    expect(f0.max).to.be.at.least(f0.mean);

    const human = await runCli(['inspect', out]);
    expect(human.stdout).to.match(/h264 640x360 \(MB grid 40x23\), 100 frames, 4\.000 s/);
    expect(human.stdout.trim().split('\n')).to.have.length(102);
  });

  it('--help teaches: commands, offsets syntax and examples', async () => {
    const top = await runCli(['--help']);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.match(/encode \[input\]/).and.match(/inspect <file>/);
    const enc = await runCli(['encode', '--help']);
    expect(enc.stdout).to.match(/split:<left>,<right>/).and.match(/Examples:/);
  });

  it('an unknown command fails with usage and exit 2', async () => {
    const r = await runCli(['transmogrify']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/Unknown argument|Did you mean/);
  });
});
