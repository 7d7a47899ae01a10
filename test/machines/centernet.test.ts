import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ReferenceDecisionCache, verifyVideos } from '../../src/analysis/verify.ts';
import type { DetectorMachine } from '../../src/machines/detector.ts';
import type { DetectorOutput } from '../../src/machines/detector-runner.ts';
import { loadMachine } from '../../src/machines/registry.ts';
import { decodeVideo, openInput } from '../../src/media/source.ts';
import { encode } from '../../src/pipeline.ts';
import { DATA_DIR, NO_VIDEOS_REASON, VIDEOS_DIR, hasVideos, runCli, tempDir } from '../helpers/env.ts';
import { MODELS_DIR } from '../helpers/models.ts';

const DETECTORS_DIR = join(MODELS_DIR, 'detectors');
const missingDetectors = ['centernet.onnx', 'nanodet.onnx', 'detectors.json'].filter((f) => !existsSync(join(DETECTORS_DIR, f)));
const hasDetectors = missingDetectors.length === 0;
const NO_DETECTORS_REASON = `detector models missing (${missingDetectors.join(', ')} in ${DETECTORS_DIR}; run npm run import:detectors)`;

const IMAGES_DIR = join(DATA_DIR, 'images');
/** Each still, and the COCO classes a detector should find on it (the F1 threshold 0.35, or the band's low edge 0.25). */
const STILLS: Array<{ file: string; expect: Array<{ cls: string; min: number }> }> = [
  { file: 'skimage/astronaut.png', expect: [{ cls: 'person', min: 0.35 }] },
  { file: 'skimage/coffee.png', expect: [{ cls: 'cup', min: 0.35 }] },
  // CenterNet's surfboard scores 0.32 on our swscale squash (0.34 with PIL's, model card):
  // inside the hysteresis band [0.25, 0.35), not above it.
  { file: 'mdn-cc0/Wave_and_Surfer--1280x699.jpg', expect: [{ cls: 'person', min: 0.35 }, { cls: 'surfboard', min: 0.25 }] },
];
const missingImages = STILLS.map((s) => join(IMAGES_DIR, s.file)).filter((p) => !existsSync(p));
const hasImages = missingImages.length === 0;
const NO_IMAGES_REASON = `shared stills not found (${missingImages.join(', ')}; set DMVJND_DATA)`;

const DEV_CLIP = 'nature_hikers_480p.mp4';
const CLIP_FRAMES = 24;

/** The decisions of a detector on the first frame of an image or video file. */
async function detectOnFirstFrame(machine: DetectorMachine, path: string): Promise<DetectorOutput> {
  const input = await openInput(path);
  const frames = decodeVideo(input);
  try {
    const first = await frames.next();
    if (first.done) throw new Error(`${path}: no frame`);
    try {
      return await machine.decide(first.value.frame);
    } finally {
      first.value.frame.free();
    }
  } finally {
    await frames.return(undefined);
    await input.close();
  }
}

function describeDetections(machine: DetectorMachine, out: DetectorOutput, floor = 0.2): string {
  const found = out.detections.filter((d) => d.score >= floor).map((d) => `${machine.runner.classes[d.cls]} ${d.score.toFixed(2)}`);
  return found.length > 0 ? found.join(', ') : `nothing >= ${floor}`;
}

function expectValidBoxes(out: DetectorOutput): void {
  for (const d of out.detections) {
    const b = d.box;
    const text = JSON.stringify(d);
    expect(Number.isInteger(d.cls) && d.cls >= 0 && d.cls < 80, text).to.equal(true);
    expect(d.score, text).to.be.within(0, 1);
    expect(b.x1, text).to.be.at.least(0);
    expect(b.y1, text).to.be.at.least(0);
    expect(b.x2, text).to.be.at.most(out.width);
    expect(b.y2, text).to.be.at.most(out.height);
    expect(b.x2, text).to.be.at.least(b.x1);
    expect(b.y2, text).to.be.at.least(b.y1);
  }
}

/** The best score of class `name` among the detections (0 when absent). */
function bestScore(machine: DetectorMachine, out: DetectorOutput, name: string): number {
  const k = machine.runner.classes.indexOf(name);
  expect(k, `class ${name} in the detector's class list`).to.be.at.least(0);
  return Math.max(0, ...out.detections.filter((d) => d.cls === k).map((d) => d.score));
}

/**
 * The bundled COCO detectors find what is there: CenterNet (the analysis machine) and
 * NanoDet (held out) on the shared stills; CenterNet's agreement is 1 on a video against
 * itself (through the CLI) and falls with the quality of a plain x264 encode of a dev clip.
 */
describe('machines: the bundled detectors (centernet, nanodet) on stills and a dev clip', function () {
  if (!hasDetectors) {
    it(`skipped: ${NO_DETECTORS_REASON}`, function () {
      this.skip();
    });
    return;
  }

  for (const name of ['centernet', 'nanodet'] as const) {
    describe(`${name} on the shared stills`, () => {
      if (!hasImages) {
        it(`skipped: ${NO_IMAGES_REASON}`, function () {
          this.skip();
        });
        return;
      }
      let machine: DetectorMachine;
      before(async () => {
        machine = (await loadMachine(name, { provider: 'cpu' })) as DetectorMachine;
      });
      after(async () => {
        await machine?.release();
      });

      it('uses the 80 COCO class names of detectors.json', () => {
        expect(machine.runner.classes).to.have.length(80);
        expect(machine.runner.classes[0]).to.equal('person');
        expect(machine.runner.classes).to.include.members(['cup', 'surfboard']);
      });

      for (const still of STILLS) {
        const wanted = still.expect.map((e) => `a ${e.cls} (>= ${e.min})`).join(' and ');
        it(`${still.file}: ${wanted}`, async () => {
          const out = await detectOnFirstFrame(machine, join(IMAGES_DIR, still.file));
          // One log line of what it found (the held-out machine's findings are reported, not tuned for).
          console.log(`      ${name} on ${still.file.replace(/^.*\//, '')} (${out.width}x${out.height}): ${describeDetections(machine, out)}`);
          expect(out.detections.length).to.be.greaterThan(0);
          expectValidBoxes(out);
          for (const e of still.expect) expect(bestScore(machine, out, e.cls), `${name}: best ${e.cls} on ${still.file}`).to.be.at.least(e.min);
        });
      }
    });
  }

  describe(`centernet agreement on ${DEV_CLIP} (first ${CLIP_FRAMES} frames)`, () => {
    const source = join(VIDEOS_DIR, DEV_CLIP);
    if (!hasVideos || !existsSync(source)) {
      it(`skipped: ${hasVideos ? `${source} not found (set DMVJND_DATA)` : NO_VIDEOS_REASON}`, function () {
        this.skip();
      });
      return;
    }
    const tmp = tempDir('dmvjnd-centernet-');
    let machine: DetectorMachine;
    before(async () => {
      machine = (await loadMachine('centernet', { provider: 'cpu' })) as DetectorMachine;
    });
    after(async () => {
      await machine?.release();
      tmp.cleanup();
    });

    it('dmvjnd verify a.mp4 a.mp4 --machine centernet --json: machines.centernet.f1 === 1', async () => {
      const a = join(tmp.path, 'a.mp4');
      await encode({ input: source, output: a, offsets: { kind: 'none' }, maxFrames: 8 });
      const r = await runCli(['verify', a, a, '--machine', 'centernet', '--provider', 'cpu', '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const report = JSON.parse(r.stdout);
      expect(report.ok).to.equal(true);
      expect(report.frames).to.equal(8);
      expect(Object.keys(report.machines)).to.deep.equal(['centernet']);
      expect(report.machines.centernet.reference_objects).to.be.greaterThan(0);
      expect(report.machines.centernet.f1).to.equal(1);
      expect(report.machines.centernet.map50).to.equal(1);
    });

    it('plain x264: F1 against the source at CRF 51 is lower than at CRF 23, which is >= 0.9', async () => {
      const cache = new ReferenceDecisionCache();
      const f1: Record<number, number> = {};
      for (const crf of [23, 51]) {
        const out = join(tmp.path, `crf${crf}.mp4`);
        await encode({ input: source, output: out, offsets: { kind: 'none' }, maxFrames: CLIP_FRAMES, x264: { rateControl: { mode: 'crf', crf } } });
        const r = await verifyVideos({ reference: source, encoded: out, machines: [machine], view: 128, tau: 0.5, maxFrames: CLIP_FRAMES, referenceCache: cache });
        expect(r.frames).to.equal(CLIP_FRAMES);
        const s = r.machines.centernet;
        expect(s.reference_objects as number, 'reference objects on the source').to.be.greaterThan(CLIP_FRAMES);
        f1[crf] = s.f1 as number;
        console.log(`      centernet F1 at CRF ${crf}: ${f1[crf].toFixed(3)} (mAP@0.5 ${(s.map50 as number).toFixed(3)}, PSNR-Y ${r.psnr_y_db.toFixed(1)} dB, ${r.bitrate_kbps.toFixed(0)} kbit/s)`);
      }
      expect(f1[23]).to.be.at.least(0.9);
      expect(f1[51]).to.be.lessThan(f1[23]);
    });
  });
});
