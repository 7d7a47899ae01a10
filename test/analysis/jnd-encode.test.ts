import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { AnalysisMemo, FrameAnalyser, type FrameJnd } from '../../src/analysis/analyser.ts';
import { verifyVideos } from '../../src/analysis/verify.ts';
import { JND_CLASSIFIERS, loadModels, type ModelSet } from '../../src/inference/models.ts';
import { poolJndPerMacroblock } from '../../src/jnd/qp-mapping.ts';
import { encodeVideo } from '../../src/media/encode.ts';
import { decodeVideo, openInput } from '../../src/media/source.ts';
import { readAllQpMaps } from '../../src/media/qp-readback.ts';
import { sampleClip } from '../../src/media/sample-clip.ts';
import { spearman } from '../../src/metrics/spearman.ts';
import { DEFAULT_JND, DEFAULT_X264, encode, jndOffsetProvider } from '../../src/index.ts';
import { probeMedia } from '../../src/media/probe.ts';
import { jndX264Settings } from '../../src/pipeline.ts';
import { intraSpearman } from '../../bench/intra-spearman.ts';
import { VIDEOS_DIR, hasVideos, runCli, tempDir } from '../helpers/env.ts';
import { MODELS_DIR, NO_MODELS_REASON, hasModels } from '../helpers/models.ts';

describe('JND-guided encode (needs the ONNX models)', function () {
  if (!hasModels) {
    it(`skipped: ${NO_MODELS_REASON}`, function () {
      this.skip();
    });
    return;
  }
  const tmp = tempDir();
  let models: ModelSet;
  let reference = '';
  before(async () => {
    models = await loadModels({ dir: MODELS_DIR, provider: 'cpu', generator: true, threads: 1 });
    reference = join(tmp.path, 'ref.mp4');
    await encodeVideo({ input: sampleClip('testsrc', { width: 320, height: 240, seconds: 0.6 }), output: reference, x264: { rateControl: { mode: 'crf', crf: 12 } } });
  });
  after(async () => {
    await models?.release();
    tmp.cleanup();
  });

  it('the read-back QP map follows the JND (Spearman >= 0.5 per intra frame, 720p dev clip)', async function () {
    if (!hasVideos) this.skip();
    const analyser = new FrameAnalyser(models, 128);
    const pooled = new Map<number, Float32Array>();
    // The encode's own settings for JND offsets (x264's AQ at DEFAULT_JND.aqStrength).
    const x264 = jndX264Settings({ ...DEFAULT_X264, keyint: 1 }, DEFAULT_JND.aqStrength);
    const out = join(tmp.path, 'jnd-intra.mp4');
    try {
      await encodeVideo({
        input: join(VIDEOS_DIR, 'traffic_toronto_highway_720p.mp4'),
        output: out,
        x264,
        maxFrames: 4,
        offsets: jndOffsetProvider(analyser, x264, { ...DEFAULT_JND, analysisStride: 1 }, {
          onMap: ({ index, grid, jnd }) => pooled.set(index, poolJndPerMacroblock(jnd.jnd, jnd.view, grid)),
        }),
      });
    } finally {
      analyser.close();
    }
    const maps = await readAllQpMaps(out);
    expect(maps.length).to.equal(4);
    for (const m of maps) {
      expect(m.type).to.equal('I');
      expect(spearman(Array.from(pooled.get(m.index)!), Array.from(m.qp)), `frame ${m.index}`).to.be.at.least(0.5);
    }
  });

  it('the bench figure: Spearman >= 0.5 on 8 intra frames spread over the animation clip (int8 default)', async function () {
    if (!hasVideos) this.skip();
    // The clip whose first 8 frames (a fade from black) gave 0.25; the helper behind the
    // README's Spearman column (bench/intra-spearman.ts) at the encode's defaults.
    const int8 = await loadModels({ dir: MODELS_DIR, provider: 'cpu', generator: true, heldout: false, precision: 'int8', threads: 1 });
    try {
      const r = await intraSpearman(join(VIDEOS_DIR, 'animation_big_buck_bunny_480p_30s.mp4'), { models: int8, jnd: DEFAULT_JND, x264: DEFAULT_X264, sample: 'spread' });
      expect(r.frames.map((f) => f.index)).to.deep.equal([45, 135, 225, 315, 405, 495, 585, 675]);
      for (const f of r.frames) expect(f.rho, `frame ${f.index}`).to.be.at.least(0.5);
    } finally {
      await int8.release();
    }
  });

  it('verify: a video against itself agrees on every decision', async () => {
    const r = await verifyVideos({ reference, encoded: reference, models, view: 96, tau: 0.5 });
    expect(r.frames).to.equal(15);
    expect(r.psnr_y_db).to.equal(Number.POSITIVE_INFINITY);
    expect(r.rca!.regional.all).to.equal(1);
    expect(r.rca!.global.all).to.equal(1);
    expect(r.rca!.heldout.regional.all).to.equal(1);
    expect(Object.keys(r.rca!.regional.per_classifier.all)).to.deep.equal([...JND_CLASSIFIERS]);
    expect(r.rca!.view).to.deep.include({ width: 128, height: 96, windows: 12 });
  });

  it('encode --verify --report writes the documented JSON report', async () => {
    const out = join(tmp.path, 'cli.mp4');
    const report = join(tmp.path, 'report.json');
    const r = await runCli(['encode', reference, '-o', out, '--machine', 'cifar', '--models', MODELS_DIR, '--provider', 'cpu', '--verify', '--report', report, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    for (const key of ['frames', 'bytes', 'bitrate_kbps', 'psnr_y_db', 'settings']) expect(j).to.have.property(key);
    for (const key of ['tau', 'global', 'regional', 'heldout']) expect(j.rca).to.have.property(key);
    for (const key of ['all', 'confident', 'per_classifier']) expect(j.rca.global).to.have.property(key);
    for (const key of ['decode', 'analysis', 'encode', 'total']) expect(j.timings_ms).to.have.property(key);
    expect(j.rca.regional.all).to.be.within(0, 1);
    expect(j.settings.jnd).to.include({ view: 128, jndGain: DEFAULT_JND.jndGain, precision: DEFAULT_JND.precision, aqStrength: DEFAULT_JND.aqStrength });
    // The JND encode ran x264's own AQ at the JND setting, and the report says so.
    expect(j.settings.x264.x264Params).to.equal(`aq-strength=${DEFAULT_JND.aqStrength}`);
    expect(existsSync(report)).to.equal(true);
  });

  it('a window mid-clip (startFrame) is encoded from that frame and verified against the same reference frames', async () => {
    const out = join(tmp.path, 'window.mp4');
    const r = await encode({ input: reference, output: out, models, analysisThread: 'main', jnd: { precision: 'float32' }, startFrame: 5, maxFrames: 6, verify: true, machine: 'cifar' });
    expect(r.frames).to.equal(6);
    expect(r.settings.start_frame).to.equal(5);
    const fps = (await probeMedia(reference)).frameRate;
    expect((await readAllQpMaps(out))[0].time, 'first frame time (s)').to.be.closeTo(5 / fps, 0.001);
    // Against the reference's frames 5-10 the window is a close copy; against frames 0-5
    // (the wrong frames of this moving clip) it is not.
    const wrong = await verifyVideos({ reference, encoded: out, models, view: 128, tau: 0.5, maxFrames: 6 });
    expect(r.psnr_y_db!, 'PSNR-Y, right frames').to.be.above(wrong.psnr_y_db! + 5);
    const past = await verifyVideos({ reference, encoded: out, models, view: 128, tau: 0.5, startFrame: 100 }).catch((e: Error) => e);
    expect(String(past)).to.match(/fewer than the start frame 100/);
  });

  it('verify exits non-zero with a sentence when frame counts differ', async () => {
    const short = join(tmp.path, 'short.mp4');
    await encodeVideo({ input: sampleClip('testsrc', { width: 320, height: 240, seconds: 0.4 }), output: short });
    const r = await runCli(['verify', reference, short, '--machine', 'cifar', '--models', MODELS_DIR, '--provider', 'cpu']);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.match(/^dmvjnd: Verify failed for .*: frame counts differ/);
  });

  it('an AnalysisMemo gives the same JND as a fresh analysis, once per frame, and forgets a clip when the input changes', async () => {
    const jndOf = async (analyser: FrameAnalyser): Promise<FrameJnd[]> => {
      const input = await openInput(reference);
      const out: FrameJnd[] = [];
      try {
        for await (const { frame } of decodeVideo(input)) {
          out.push(await analyser.jnd(frame));
          frame.free();
        }
      } finally {
        await input.close();
        analyser.close();
      }
      return out;
    };
    const fresh = await jndOf(new FrameAnalyser(models, 64));
    const memo = new AnalysisMemo();
    const first = await jndOf(new FrameAnalyser(models, 64, memo.scope(reference, 64, models)));
    const second = await jndOf(new FrameAnalyser(models, 64, memo.scope(reference, 64, models)));
    expect(first.length).to.equal(fresh.length).and.to.be.greaterThan(1);
    for (let i = 0; i < fresh.length; i++) {
      expect(Array.from(first[i].jnd)).to.deep.equal(Array.from(fresh[i].jnd));
      expect(second[i], `frame ${i} analysed twice`).to.equal(first[i]);
    }
    expect(memo.scope(reference, 64, models).size).to.equal(fresh.length);
    expect(memo.scope('another.mp4', 64, models).size).to.equal(0);
    expect(memo.scope(reference, 64, models).size).to.equal(0);
  });

  it('jnd draws frame, CAM, JND and QP offsets side by side as a PNG', async () => {
    const png = join(tmp.path, 'jnd.png');
    const r = await runCli(['jnd', reference, '--machine', 'cifar', '--frame', '3', '-o', png, '--models', MODELS_DIR, '--provider', 'cpu']);
    expect(r.code, r.stderr).to.equal(0);
    const meta = await sharp(png).metadata();
    expect(meta.format).to.equal('png');
    expect(meta.width).to.be.greaterThan(4 * 360);
    const missing = await runCli(['jnd', reference, '--machine', 'cifar', '--frame', '99', '-o', join(tmp.path, 'no.png'), '--models', MODELS_DIR, '--provider', 'cpu']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/--frame 99 does not exist \(the input has 15 frames\)/);
    expect(existsSync(join(tmp.path, 'no.png'))).to.equal(false);
  });

  describe('execution providers and model files', () => {
    it('--provider cuda without CUDA fails with a clear sentence; auto falls back to CPU with one note', async function () {
      const notes: string[] = [];
      let cudaError: Error | undefined;
      try {
        const m = await loadModels({ dir: MODELS_DIR, provider: 'cuda', generator: false });
        await m.release();
      } catch (err) {
        cudaError = err as Error;
      }
      if (!cudaError) this.skip(); // this machine has CUDA: nothing to fall back from
      expect(cudaError!.message).to.match(/--provider cuda was requested but the CUDA execution provider is unavailable/);
      const m = await loadModels({ dir: MODELS_DIR, provider: 'auto', generator: false, onNote: (l) => notes.push(l) });
      expect(m.provider).to.equal('cpu');
      await m.release();
      expect(notes.length).to.be.at.most(1);
    });

    it('through the CLI (analysis worker plus verification models): cuda fails with the sentence, auto notes the fallback once', async function () {
      const clip = `lavfi:${'testsrc2=size=128x96:rate=25:duration=0.2'}`;
      const cuda = await runCli(['encode', clip, '-o', join(tmp.path, 'cuda.mp4'), '--machine', 'cifar', '--provider', 'cuda', '--models', MODELS_DIR]);
      if (cuda.code === 0) this.skip(); // this machine has CUDA
      expect(cuda.code).to.equal(1);
      expect(cuda.stderr.trim().split('\n')).to.have.length(1);
      expect(cuda.stderr).to.match(/--provider cuda was requested but the CUDA execution provider is unavailable/);
      expect(existsSync(join(tmp.path, 'cuda.mp4'))).to.equal(false);
      const auto = await runCli(['encode', clip, '-o', join(tmp.path, 'auto.mp4'), '--machine', 'cifar', '--provider', 'auto', '--verify', '--models', MODELS_DIR]);
      expect(auto.code, auto.stderr).to.equal(0);
      expect(auto.stderr.split('\n').filter((l) => l.includes('CUDA unavailable'))).to.have.length(1);
    });

    it('a missing model file is an error naming the file', async () => {
      const dir = join(tmp.path, 'partial-models');
      mkdirSync(dir);
      for (const f of readdirSync(MODELS_DIR).filter((f) => f.endsWith('.onnx') && !f.startsWith('vgg'))) copyFileSync(join(MODELS_DIR, f), join(dir, f));
      let message = '';
      await loadModels({ dir, provider: 'cpu' }).catch((e: Error) => (message = e.message));
      expect(message).to.match(/^Load model failed for .*partial-models\/vgg\.onnx: model file not found/);
    });

    it('encode: a model file missing on the analysis worker fails naming the file and leaves no output', async () => {
      const dir = join(tmp.path, 'worker-partial-models');
      const outDir = join(tmp.path, 'worker-partial-out');
      mkdirSync(dir);
      mkdirSync(outDir);
      for (const f of readdirSync(MODELS_DIR).filter((f) => f.endsWith('.onnx') && !f.startsWith('jnd_generator'))) copyFileSync(join(MODELS_DIR, f), join(dir, f));
      // The worker starts while the encoder already opens its output: nothing may remain of it.
      const r = await runCli(['encode', `lavfi:testsrc2=size=128x96:rate=25:duration=0.4`, '-o', join(outDir, 'out.mp4'), '--machine', 'cifar', '--provider', 'cpu', '--analysis-precision', 'float32', '--models', dir]);
      expect(r.code).to.equal(1);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/worker-partial-models\/jnd_generator\.onnx: model file not found/);
      expect(readdirSync(outDir)).to.deep.equal([]);
    });

    it('a model with the wrong inputs/outputs is an error saying what was expected', async () => {
      const dir = join(tmp.path, 'swapped-models');
      mkdirSync(dir);
      for (const f of readdirSync(MODELS_DIR).filter((f) => f.endsWith('.onnx'))) copyFileSync(join(MODELS_DIR, f), join(dir, f));
      copyFileSync(join(MODELS_DIR, 'resnet.onnx'), join(dir, 'jnd_generator.onnx'));
      let message = '';
      await loadModels({ dir, provider: 'cpu', generator: true }).catch((e: Error) => (message = e.message));
      expect(message).to.match(/jnd_generator\.onnx: expected inputs \[x, cam\] and outputs \[x_hat, e\] but the file has inputs \[x\] and outputs \[logits, cam\]/);
    });
  });
});
