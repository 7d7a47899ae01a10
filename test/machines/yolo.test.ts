import { expect } from 'chai';
import { join } from 'node:path';
import { verifyVideos } from '../../src/analysis/verify.ts';
import { DmvjndError } from '../../src/errors.ts';
import type { DetectorMachine } from '../../src/machines/detector.ts';
import type { DetectorOutput } from '../../src/machines/detector-runner.ts';
import type { Machine } from '../../src/machines/machine.ts';
import { loadMachine } from '../../src/machines/registry.ts';
import { decodeVideo, openInput, type InputSpec } from '../../src/media/source.ts';
import { encode } from '../../src/pipeline.ts';
import { tempDir } from '../helpers/env.ts';
import { NO_TINY_MODELS_REASON, canMakeTinyModels, makeTinyModels, type TinyModels } from '../helpers/tiny-models.ts';

const LAVFI: InputSpec = { source: 'testsrc2=size=160x120:rate=10:duration=1', lavfi: true, label: 'lavfi' };
const FRAME_W = 160;
const FRAME_H = 120;
const CLASSES = 3;
/** The tiny models' input side: boxes beyond it prove they were mapped back to the frame. */
const INPUT_SIDE = 64;

/** The decisions of `machine` on frame `index` of `spec`. */
async function decideOn<D>(machine: Machine<D>, spec: InputSpec | string, index = 0): Promise<D> {
  const input = await openInput(spec);
  const frames = decodeVideo(input);
  try {
    for (;;) {
      const next = await frames.next();
      if (next.done) throw new Error(`${input.label} has no frame ${index}`);
      try {
        if (next.value.index === index) return await machine.decide(next.value.frame);
      } finally {
        next.value.frame.free();
      }
    }
  } finally {
    await frames.return(undefined);
    await input.close();
  }
}

async function expectLoadError(name: string, file: string): Promise<DmvjndError> {
  let caught: unknown;
  try {
    const m = await loadMachine(name, { provider: 'cpu', threads: 1 });
    await m.release();
  } catch (err) {
    caught = err;
  }
  expect(caught, `loading ${name} should fail`).to.be.instanceOf(DmvjndError);
  const e = caught as DmvjndError;
  expect(e.stage).to.equal('load model');
  expect(e.file).to.equal(file);
  expect(e.message).to.include(file);
  expect(e.message).to.include('[1, 4+C, N] (v8/v11)');
  expect(e.message).to.include('[1, N, 5+C] (v5)');
  expect(e.message.trim().split('\n')).to.have.length(1);
  return e;
}

/**
 * yolo:<file> and classifier:<file> machines on tiny seeded ONNX models made by
 * test/fixtures/make_tiny_models.py (v8/v11 [1,4+C,N] and v5 [1,N,5+C] layouts, C = 3):
 * detections in frame pixels through the letterbox, agreement 1 on identical videos, and
 * a one-sentence load error naming the file for graphs of neither layout.
 */
describe('machines: yolo:<file> and classifier:<file> on tiny ONNX models', function () {
  if (!canMakeTinyModels) {
    it(`skipped: ${NO_TINY_MODELS_REASON}`, function () {
      this.skip();
    });
    return;
  }
  const tmp = tempDir('dmvjnd-yolo-');
  let models: TinyModels;
  let clip = '';

  before(async () => {
    models = makeTinyModels(join(tmp.path, 'models'));
    clip = join(tmp.path, 'clip.mp4');
    const r = await encode({ input: LAVFI, output: clip, offsets: { kind: 'none' }, maxFrames: 10 });
    expect(r.frames).to.equal(10);
  });
  after(() => tmp.cleanup());

  for (const layout of ['v8', 'v5'] as const) {
    describe(`yolo ${layout} layout`, () => {
      let machine: DetectorMachine;
      const file = () => (layout === 'v8' ? models.yoloV8 : models.yoloV5);

      before(async () => {
        machine = (await loadMachine(`yolo:${file()}`, { provider: 'cpu', threads: 1 })) as DetectorMachine;
      });
      after(async () => {
        await machine?.release();
      });

      it('loads as a letterboxed detector with the class count of its output shape', () => {
        expect(machine.kind).to.equal('detector');
        expect(machine.name).to.equal(`yolo:${file()}`);
        expect(machine.runner.resize).to.deep.equal({ kind: 'letterbox', size: { width: INPUT_SIDE, height: INPUT_SIDE } });
        expect(machine.runner.classes).to.deep.equal(['0', '1', '2']);
        expect(machine.qualityKinds[0]).to.equal('f1');
      });

      it('decide() on a decoded lavfi frame: detections in frame pixels, classes < 3, some above 0.35', async () => {
        const out = (await decideOn(machine, LAVFI, 3)) as DetectorOutput;
        expect(out.width).to.equal(FRAME_W);
        expect(out.height).to.equal(FRAME_H);
        expect(out.heatmap).to.equal(undefined);
        expect(out.detections.length).to.be.greaterThan(0);
        for (const d of out.detections) {
          expect(d.cls).to.be.a('number');
          expect(Number.isInteger(d.cls) && d.cls >= 0 && d.cls < CLASSES, `class ${d.cls}`).to.equal(true);
          expect(d.score).to.be.within(0.05, 1);
          const b = d.box;
          expect(b.x1, JSON.stringify(b)).to.be.at.least(0);
          expect(b.y1, JSON.stringify(b)).to.be.at.least(0);
          expect(b.x2, JSON.stringify(b)).to.be.at.most(FRAME_W);
          expect(b.y2, JSON.stringify(b)).to.be.at.most(FRAME_H);
          expect(b.x2, JSON.stringify(b)).to.be.greaterThan(b.x1);
          expect(b.y2, JSON.stringify(b)).to.be.greaterThan(b.y1);
        }
        expect(out.detections.filter((d) => d.score >= 0.35).length, 'detections at the F1 threshold').to.be.greaterThan(0);
        // In input pixels nothing could lie right of 64 or below 56 (64 x 48 frame area + 8 px pad).
        expect(Math.max(...out.detections.map((d) => d.box.x2))).to.be.greaterThan(INPUT_SIDE + 8);
        expect(Math.max(...out.detections.map((d) => d.box.y2))).to.be.greaterThan(INPUT_SIDE);
        // Scores are sorted, highest first.
        const scores = out.detections.map((d) => d.score);
        expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
      });

      it('verifyVideos of a clip against itself: F1 1 (and mAP@0.5 1) over real objects', async () => {
        const r = await verifyVideos({ reference: clip, encoded: clip, machines: [machine], view: 128, tau: 0.5 });
        expect(r.frames).to.equal(10);
        const s = r.machines[machine.name];
        expect(s, JSON.stringify(Object.keys(r.machines))).to.not.equal(undefined);
        expect(s.reference_objects as number, 'reference objects').to.be.greaterThan(0);
        expect(s.f1).to.equal(1);
        expect(s.precision).to.equal(1);
        expect(s.recall).to.equal(1);
        expect(s.map50).to.equal(1);
        expect(s.fp).to.equal(0);
        expect(s.fn).to.equal(0);
      });
    });
  }

  it('classifier:<file>: top-1 agreement 1 on identical videos', async () => {
    const m = await loadMachine(`classifier:${models.classifier}`, { provider: 'cpu', threads: 1 });
    try {
      expect(m.kind).to.equal('classifier');
      const r = await verifyVideos({ reference: clip, encoded: clip, machines: [m], view: 128, tau: 0.5 });
      const s = r.machines[m.name];
      expect(s.frames).to.equal(10);
      expect(s.top1_agreement).to.equal(1);
      expect(m.quality(s, 'top1_agreement')).to.equal(1);
    } finally {
      await m.release();
    }
  });

  // Counterpart of the yolo: layout check. Fails today: loadUserClassifier
  // (src/inference/models.ts) never looks at the output shape, so a detector's [1, 7, 64]
  // is taken for 448 logits and "top-1 agreement" is computed over box coordinates.
  it('classifier:<a YOLO export> (output [1, 7, 64], not [1, K] logits) is refused at load, naming the file', async () => {
    let caught: unknown;
    try {
      const m = await loadMachine(`classifier:${models.yoloV8}`, { provider: 'cpu', threads: 1 });
      await m.release();
    } catch (err) {
      caught = err;
    }
    expect(caught, 'a detector passed as classifier: should not load').to.be.instanceOf(DmvjndError);
    const e = caught as DmvjndError;
    expect(e.stage).to.equal('load model');
    expect(e.message).to.include(models.yoloV8);
    expect(e.message).to.include('expected');
    expect(e.message).to.include('[1, 7, 64]');
  });

  it('yolo:<an image classifier> is refused at load, naming the file and the expected layouts', async () => {
    const e = await expectLoadError(`yolo:${models.classifier}`, models.classifier);
    expect(e.message).to.include('[1, 10]');
  });

  it('yolo:<a graph of neither layout> ([1, 7, 7, 7]) is refused at load, naming the file and the expected layouts', async () => {
    const e = await expectLoadError(`yolo:${models.yoloBad}`, models.yoloBad);
    expect(e.message).to.include('[1, 7, 7, 7]');
  });
});
