import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { DetectorMachine } from '../../src/machines/detector.ts';
import { loadMachine } from '../../src/machines/registry.ts';
import { encodeVideo } from '../../src/media/encode.ts';
import { sampleClip } from '../../src/media/sample-clip.ts';
import { decodeVideo, openInput } from '../../src/media/source.ts';
import { STREET_HEIGHT, STREET_WIDTH, ensureStreetScene, streetScenePath, streetSceneSvg } from '../../src/media/street-scene.ts';
import { runCli, tempDir } from '../helpers/env.ts';
import { MODELS_DIR } from '../helpers/models.ts';

const hasDetector = existsSync(join(MODELS_DIR, 'detectors', 'centernet.onnx'));

/**
 * The embedded default of `encode` (no input): a drawn street the COCO detector must
 * recognise, or the main job would show nothing of what the product is for.
 */
describe('media: the embedded street sample', function () {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('renders one deterministic panorama, named by its SVG hash', async () => {
    expect(streetSceneSvg()).to.equal(streetSceneSvg());
    const path = await ensureStreetScene();
    expect(path).to.equal(streetScenePath());
    expect(await ensureStreetScene()).to.equal(path);
    const meta = await sharp(path).metadata();
    expect({ width: meta.width, height: meta.height }).to.deep.equal({ width: STREET_WIDTH, height: STREET_HEIGHT });
  });

  it('is a 640x360 clip whose camera pans', async () => {
    const out = join(tmp.path, 'street.mp4');
    const r = await encodeVideo({ input: sampleClip('street', { seconds: 0.4 }), output: out });
    expect({ frames: r.frames, width: r.width, height: r.height }).to.deep.equal({ frames: 10, width: 640, height: 360 });
    // The first and last frames differ by the pan (6.4 px a frame), not only by the grain.
    const input = await openInput(out);
    const lumas: Buffer[] = [];
    for await (const f of decodeVideo(input)) {
      lumas.push(Buffer.from(f.frame.data![0]!.subarray(0, 640 * 360)));
      f.frame.free();
    }
    await input.close();
    let diff = 0;
    for (let i = 0; i < 640 * 360; i++) diff += Math.abs(lumas[0]![i]! - lumas[9]![i]!);
    expect(diff / (640 * 360), 'mean luma change between frame 0 and 9').to.be.above(5);
  });

  it('shows CenterNet a clock and a stop sign', async function () {
    if (!hasDetector) return this.skip();
    const machine = (await loadMachine('centernet', { modelsDir: MODELS_DIR, provider: 'cpu' })) as DetectorMachine;
    const input = await openInput(sampleClip('street', { seconds: 0.2 }));
    const frames = decodeVideo(input);
    try {
      const first = await frames.next();
      const out = await machine.decide(first.value!.frame);
      first.value!.frame.free();
      const best = (name: string) => Math.max(0, ...out.detections.filter((d) => machine.runner.classes[d.cls] === name).map((d) => d.score));
      expect(best('clock'), 'clock score').to.be.at.least(0.35);
      expect(best('stop sign'), 'stop sign score').to.be.at.least(0.35);
    } finally {
      await frames.return(undefined);
      await input.close();
      await machine.release();
    }
  });

  it('encode --compare: fewer video bits than plain x264 at the same CRF, both scored, nothing left behind', async function () {
    if (!hasDetector) return this.skip();
    const out = join(tmp.path, 'compare.mp4');
    const scratch = join(tmp.path, 'tmpdir');
    mkdirSync(scratch);
    const r = await runCli(['encode', '-o', out, '--frames', '12', '--verify', '--compare', '--json'], { env: { TMPDIR: scratch } });
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.compare.offsets).to.equal('none');
    expect(report.compare.video_bytes).to.be.above(report.video_bytes);
    expect(report.compare.video_saving).to.be.closeTo(1 - report.video_bytes / report.compare.video_bytes, 1e-9);
    expect(report.compare.machines.centernet.f1).to.be.within(0, 1);
    expect(report.machines.centernet.reference_objects).to.equal(report.compare.machines.centernet.reference_objects);
    expect(readdirSync(scratch).filter((f) => f.startsWith('dmvjnd-compare-')), 'compare scratch left in TMPDIR').to.deep.equal([]);
    const human = await runCli(['encode', '-o', out, '--frames', '12', '--compare'], { env: { TMPDIR: scratch } });
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout).to.match(/against plain x264 at the same settings: video [\d.]+ -> [\d.]+ kbit\/s \(-[\d.]+%\)/);
  });

  it('encode --offsets det-roi/fix6: a second pass codes what the first lost finer; no scratch file stays', async function () {
    if (!hasDetector) return this.skip();
    const folder = join(tmp.path, 'fix');
    mkdirSync(folder);
    const out = join(folder, 'fix.mp4');
    // CRF 51: the first pass loses some of the street's objects.
    const r = await runCli(['encode', '-o', out, '--frames', '12', '--crf', '51', '--analysis-stride', '2', '--offsets', 'det-roi/fix6', '--verify', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.settings.offsets).to.equal('det-roi/fix6');
    expect(report.analysed_frames).to.equal(6);
    expect(report.first_pass.checked_frames).to.equal(6);
    expect(report.first_pass.lost, 'objects lost by the first pass').to.be.above(0);
    expect(report.video_bitrate_kbps).to.be.above(report.first_pass.video_bitrate_kbps);
    expect(readdirSync(folder)).to.deep.equal(['fix.mp4']);
  });
});
