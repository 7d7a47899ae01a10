import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/env.ts';
import { NO_TINY_MODELS_REASON, PYTHON } from '../helpers/tiny-models.ts';
import { encode } from '../../src/pipeline.ts';
import { loadMachine } from '../../src/machines/registry.ts';
import type { DetectorMachine } from '../../src/machines/detector.ts';
import { upsampleBilinear } from '../../src/machines/detector-runner.ts';

const DETECTORS = join(REPO, 'models', 'detectors');
const SAMPLE = { source: 'testsrc2=size=192x128:rate=10:duration=1', lavfi: true, label: 'lavfi testsrc2' };

describe('dmv-jnd under a detector machine (the generator on the detector worker)', function () {
  let dir: string;
  before(function () {
    if (NO_TINY_MODELS_REASON) this.skip();
    if (!existsSync(join(DETECTORS, 'centernet.onnx'))) this.skip();
    // A models folder with the real CenterNet and a stand-in generator of the contract.
    dir = mkdtempSync(join(tmpdir(), 'dmvjnd-detjnd-'));
    mkdirSync(join(dir, 'detectors'));
    for (const f of ['centernet.onnx', 'detectors.json']) copyFileSync(join(DETECTORS, f), join(dir, 'detectors', f));
    const r = spawnSync(PYTHON, [join(REPO, 'test', 'fixtures', 'make_stub_dmv_jnd.py'), join(dir, 'detectors', 'dmv_jnd.onnx')], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('upsamples the heatmap with half-pixel centres (torch interpolate, align_corners=False)', () => {
    const up = upsampleBilinear({ width: 2, height: 1, data: Float32Array.from([0, 1]) }, { width: 4, height: 1 });
    expect([...up]).to.deep.equal([0, 0.25, 0.75, 1]);
  });

  it('the runner loaded with the JND returns a per-pixel JND at its input size', async () => {
    const m = (await loadMachine('centernet', { modelsDir: dir, withJnd: true, detectorSize: { width: 128, height: 96 } })) as DetectorMachine;
    try {
      const { openInput, decodeVideo } = await import('../../src/media/source.ts');
      const input = await openInput(SAMPLE);
      for await (const { frame } of decodeVideo(input)) {
        const out = await m.decide(frame);
        frame.free();
        expect(out.jnd).to.include({ width: 128, height: 96 });
        const v = [...out.jnd!.data];
        expect(Math.min(...v)).to.be.at.least(2 - 1e-4);
        expect(Math.max(...v)).to.be.at.most(42 + 1e-4);
        break;
      }
      await input.close();
    } finally {
      await m.release();
    }
  });

  it('encode --offsets jnd with centernet uses it (absolute placement: offsets follow the JND, not the CRF)', async () => {
    const out = join(dir, 'out.mp4');
    const r = await encode({ input: SAMPLE, output: out, machine: 'centernet', offsets: 'jnd', modelsDir: dir, maxFrames: 6, x264: { rateControl: { mode: 'crf', crf: 23 } } });
    expect(r.settings.offsets).to.equal('dmv-jnd');
    expect(r.settings.guided_by).to.equal('centernet');
    expect(r.frames).to.equal(6);
    expect(r.analysed_frames).to.be.at.least(1);
  });

  it('a missing generator file fails with a sentence naming it, and nothing is written', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'dmvjnd-detjnd-bare-'));
    try {
      mkdirSync(join(bare, 'detectors'));
      for (const f of ['centernet.onnx', 'detectors.json']) copyFileSync(join(DETECTORS, f), join(bare, 'detectors', f));
      const out = join(bare, 'out.mp4');
      let error: Error | undefined;
      try {
        await encode({ input: SAMPLE, output: out, machine: 'centernet', offsets: 'jnd', modelsDir: bare, maxFrames: 3 });
      } catch (err) {
        error = err as Error;
      }
      expect(error?.message).to.match(/dmv_jnd\.onnx.*detector-trained DMV-JND model file is missing/);
      expect(existsSync(out)).to.equal(false);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
