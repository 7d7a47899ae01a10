import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODELS_DIR } from '../../src/inference/models.ts';
import { DEFAULT_GUIDE_SIZE, detectorWorkerInit, prestartInitFromArgs } from '../../src/machines/detector-prestart.ts';
import { REPO, runCli, tempDir } from '../helpers/env.ts';

const defaultInit = (over: { provider?: 'auto' | 'cpu' | 'cuda'; threads?: number; path?: string } = {}) =>
  detectorWorkerInit({ kind: 'centernet', path: over.path ?? DEFAULT_MODELS_DIR, size: DEFAULT_GUIDE_SIZE }, { provider: over.provider ?? 'auto', threads: over.threads, withJnd: false });

describe('the prestarted guide detector (detector-prestart)', () => {
  it('prestarts only when the encode arguments fix the guide worker: centernet, a box method, plain model options', () => {
    expect(prestartInitFromArgs(['clip.mp4', '-o', 'out.mp4'])).to.deep.equal(defaultInit());
    expect(prestartInitFromArgs(['clip.mp4', '--offsets', 'det-roi@-3,+9', '--provider=cpu', '--model-threads', '2'])).to.deep.equal(defaultInit({ provider: 'cpu', threads: 2 }));
    expect(prestartInitFromArgs(['--machine', 'centernet', '--offsets=det-scale-interp', '--models', '/m'])).to.deep.equal(defaultInit({ path: '/m' }));
    // The encode decides these for itself (another machine, the detector-trained JND, synthetic maps, help).
    for (const args of [['--machine', 'nanodet'], ['--machine', 'cifar'], ['--offsets', 'dmv-jnd'], ['--offsets', 'jnd'], ['--offsets', 'none'], ['--offsets', 'split:-6,+6'], ['--help'], ['--model-threads', 'x'], ['--provider', 'tpu'], ['--offsets', 'det-roi', '--offsets', 'det-scale'], ['--machine']]) {
      expect(prestartInitFromArgs(args), args.join(' ')).to.equal(undefined);
    }
  });

  it('exiting while a worker is inside its session creation neither aborts the process nor hangs', function () {
    if (!existsSync(join(DEFAULT_MODELS_DIR, 'detectors', 'centernet.onnx'))) this.skip();
    // onnxruntime-node aborts the process (exit 134) when torn down inside a session creation;
    // the exit waits for the loading worker instead. Without CUDA the worker's note comes just
    // before it creates the CenterNet session: the script exits 40 ms later.
    const script = `
      const { spawnDetectorWorker, prestartInitFromArgs } = await import(${JSON.stringify(join(REPO, 'src/machines/detector-prestart.ts'))});
      const worker = spawnDetectorWorker(prestartInitFromArgs([]));
      worker.on('message', (m) => { if (m.note) setTimeout(() => process.exit(3), 40); });
      setTimeout(() => process.exit(4), 20000);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    if (r.status === 4) this.skip(); // CUDA here: no note to exit on
    expect(r.stderr).to.not.match(/terminate called/);
    expect(r.status, r.stderr).to.equal(3);
  });

  it('a default CLI encode (its guide worker prestarted): det-scale-interp, the detector every 16th frame', async function () {
    if (!existsSync(join(DEFAULT_MODELS_DIR, 'detectors', 'centernet.onnx'))) this.skip();
    const tmp = tempDir();
    try {
      const clip = 'lavfi:testsrc2=size=160x96:rate=25:duration=1.4';
      const r = await runCli(['encode', clip, '-o', join(tmp.path, 'a.mp4'), '--json', '--provider', 'cpu']);
      expect(r.code, r.stderr).to.equal(0);
      const report = JSON.parse(r.stdout);
      expect(report.settings.offsets).to.equal('det-scale-interp');
      expect(report.settings.jnd.analysisStride).to.equal(16);
      expect(report.frames).to.equal(35);
      expect(report.analysed_frames).to.equal(3); // frames 0, 16, 32
      const strided = JSON.parse((await runCli(['encode', clip, '-o', join(tmp.path, 'b.mp4'), '--json', '--provider', 'cpu', '--analysis-stride', '8'])).stdout);
      expect(strided.settings.jnd.analysisStride).to.equal(8);
      expect(strided.analysed_frames).to.equal(5);
    } finally {
      tmp.cleanup();
    }
  });
});
