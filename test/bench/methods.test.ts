import { expect } from 'chai';
import type { Frame } from 'node-av/lib';
import type { FrameAnalyser, FrameJnd } from '../../src/analysis/analyser.ts';
import {
  DEFAULT_METHODS,
  RANDOM_SEED,
  camRoiMacroblockOffsets,
  camRoiMethod,
  hvsJndMacroblockOffsets,
  hvsJndMethod,
  parseMethod,
  parseMethods,
  randomMethod,
  shuffledProvider,
} from '../../src/bench/methods.ts';
import { qpOffsetsFromJnd, targetQpForStep } from '../../src/jnd/qp-mapping.ts';
import type { FrameContext } from '../../src/media/encode.ts';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import { DEFAULT_X264, type X264Settings } from '../../src/media/x264-settings.ts';
import { hvsJnd, luminanceAdaptation } from '../../src/offsets/hvs-jnd.ts';
import { DEFAULT_JND, jndOffsetProvider, type CustomOffsetMethod } from '../../src/pipeline.ts';

const meanOf = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const varianceOf = (a: ArrayLike<number>) => {
  const m = meanOf(a);
  return Array.from(a).reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
};
const crf = (c: number): X264Settings => ({ ...DEFAULT_X264, rateControl: { mode: 'crf', crf: c } });

/** A stand-in for a node-av yuv420p Frame: only what the providers read. */
function fakeFrame(width: number, height: number, luma: (x: number, y: number) => number, stride = width + 8): Frame {
  const plane = new Uint8Array(stride * height).fill(255); // padding bytes must be ignored
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) plane[y * stride + x] = luma(x, y);
  return { width, height, data: [Buffer.from(plane.buffer)], linesize: [stride] } as unknown as Frame;
}

describe('bench methods: names', () => {
  it('parses every default method with the offsets, overrides and needs the issue defines', () => {
    const ms = parseMethods(DEFAULT_METHODS.join(','));
    expect(ms.map((m) => m.name)).to.deep.equal(DEFAULT_METHODS);
    const by = Object.fromEntries(ms.map((m) => [m.name, m]));
    expect(by['x264'].offsets).to.deep.equal({ kind: 'none' });
    expect(by['x264-noaq'].offsets).to.deep.equal({ kind: 'uniform', delta: 0 });
    expect(by['dmv-jnd@0.5'].offsets).to.equal('jnd');
    expect(by['dmv-jnd@0.5'].jnd).to.deep.equal({ jndGain: 0.5 });
    expect(by['dmv-jnd@0.15'].jnd).to.deep.equal({ jndGain: 0.15 });
    expect(by['dmv-jnd-centred'].offsets).to.equal('jnd-centred');
    expect(by['dmv-jnd-centred'].needs).to.equal('generator');
    expect((by['cam-roi'].offsets as CustomOffsetMethod).name).to.equal('cam-roi');
    expect(by['cam-roi'].needs).to.equal('classifiers');
    expect(by['hvs-jnd'].needs).to.equal('nothing');
    expect(by['random'].needs).to.equal('generator');
    expect(by['random'].jnd).to.deep.equal({});
    expect(parseMethod('random@2').jnd).to.deep.equal({ jndGain: 2 });
    expect(parseMethod('dmv-jnd').jnd).to.deep.equal({});
  });

  it('rejects unknown methods, bad parameters and duplicates with a sentence', () => {
    expect(() => parseMethod('x265')).to.throw(/expected a method among x264, x264-noaq/);
    expect(() => parseMethod('dmv-jnd@fast')).to.throw(/non-negative number after @/);
    expect(() => parseMethod('dmv-jnd@-1')).to.throw(/non-negative number after @/);
    expect(() => parseMethod('dmv-jnd-centred@2')).to.throw(/takes no @ parameter/);
    expect(() => parseMethod('x264@2')).to.throw(/takes no @ parameter/);
    expect(() => parseMethods('x264,x264')).to.throw(/listed twice/);
    expect(() => parseMethods(' , ')).to.throw(/at least one method/);
  });
});

describe('bench methods: cam-roi offsets', () => {
  it('codes the CAM hot spot finer and the rest coarser, mean zero, strength from CAM 0 to 1', () => {
    // Frame 64x32 = 4x2 macroblocks; view 32x16 (half size): each MB covers 8x8 view pixels.
    const grid = macroblockGrid(64, 32);
    const view = { width: 32, height: 16 };
    const cam = new Float32Array(32 * 16);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) cam[y * 32 + x] = 1; // MB (0,0) only
    const off = camRoiMacroblockOffsets(cam, view, grid, { strength: 6 });
    expect(off.length).to.equal(8);
    expect(off[0]).to.be.closeTo(-6 * (1 - 1 / 8), 1e-6);
    for (let i = 1; i < 8; i++) expect(off[i]).to.be.closeTo(6 / 8, 1e-6);
    expect(meanOf(off)).to.be.closeTo(0, 1e-6);
  });

  it('pools the CAM with the area-weighted mean and clamps to the offset range', () => {
    const grid = macroblockGrid(32, 16); // 2x1 MBs
    const view = { width: 4, height: 2 }; // each MB covers 2x2 view pixels
    const cam = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0]); // MB 0: mean 0.5; MB 1: 0
    const off = camRoiMacroblockOffsets(cam, view, grid, { strength: 20, minOffset: -3, maxOffset: 3 });
    // unclamped: -20 * (0.5 - 0.25) = -5 and +5
    expect(Array.from(off)).to.deep.equal([-3, 3]);
  });

  it('runs through its provider on the analyser merged CAM, analysed once per frame', async () => {
    let calls = 0;
    const analyser = {
      mergedCam: async () => {
        calls++;
        const cam = new Float32Array(8 * 4);
        cam[0] = 1;
        return { view: { width: 8, height: 4 }, rgb: new Uint8Array(8 * 4 * 3), mergedCam: cam };
      },
    } as unknown as FrameAnalyser;
    const provider = camRoiMethod(6).provider(analyser, crf(30), { ...DEFAULT_JND, analysisStride: 1 });
    const grid = macroblockGrid(32, 16);
    const frame = fakeFrame(32, 16, () => 0);
    const a = await provider({ index: 0, frame, grid, time: 0 });
    await provider({ index: 1, frame, grid, time: 0.04 });
    expect(calls).to.equal(2);
    expect(a!.length).to.equal(2);
    expect(a![0]).to.be.lessThan(0);
    expect(a![1]).to.be.greaterThan(0);
  });
});

describe('bench methods: hvs-jnd offsets', () => {
  it('is exactly qpOffsetsFromJnd(hvsJnd(luma)) with the full frame as the view, whatever the stride', () => {
    const w = 48;
    const h = 32;
    const frame = fakeFrame(w, h, (x, y) => (x * 37 + y * 11) % 256, w + 16);
    const luma = (frame.data as Buffer[])[0];
    const grid = macroblockGrid(w, h);
    const opts = { baseQp: 30, gain: 1.5, pooling: 'mean' as const, minOffset: -12, maxOffset: 12 };
    const got = hvsJndMacroblockOffsets(luma, w, h, w + 16, grid, opts);
    const packed = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) packed[y * w + x] = luma[y * (w + 16) + x];
    const want = qpOffsetsFromJnd(hvsJnd(packed, w, h), { width: w, height: h }, grid, opts);
    expect(Array.from(got)).to.deep.equal(Array.from(want));
  });

  it('flat mid-grey: every MB gets the 2 x JND target QP of the luminance threshold minus the CRF', () => {
    const w = 32;
    const h = 32;
    const plane = new Uint8Array(w * h).fill(127);
    const grid = macroblockGrid(w, h);
    const off = hvsJndMacroblockOffsets(plane, w, h, w, grid, { baseQp: 20, gain: 1, pooling: 'mean', minOffset: -12, maxOffset: 12 });
    const jnd = luminanceAdaptation(127); // 3: no texture, so NAMM adds nothing
    for (const v of off) expect(v).to.be.closeTo(targetQpForStep(2 * jnd) - 20, 1e-4);
  });

  it('textured macroblocks tolerate more (coarser) than flat ones; bitrate mode centres the offsets', () => {
    const w = 32;
    const h = 16;
    // Left MB flat grey, right MB a strong checkerboard.
    const plane = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) plane[y * w + x] = x < 16 ? 128 : (x + y) % 2 ? 40 : 220;
    const grid = macroblockGrid(w, h);
    const crfMode = hvsJndMacroblockOffsets(plane, w, h, w, grid, { baseQp: 26, gain: 1, pooling: 'mean', minOffset: -12, maxOffset: 12 });
    expect(crfMode[1]).to.be.greaterThan(crfMode[0] + 1);
    const abr = hvsJndMacroblockOffsets(plane, w, h, w, grid, { baseQp: undefined, gain: 1, pooling: 'mean', minOffset: -12, maxOffset: 12 });
    expect(meanOf(abr)).to.be.closeTo(0, 1e-5);
    expect(abr[1] - abr[0]).to.be.closeTo(crfMode[1] - crfMode[0], 1e-4);
  });

  it('runs through its provider on the frame luma plane, using the CRF as base QP', async () => {
    const frame = fakeFrame(32, 16, () => 127);
    const grid = macroblockGrid(32, 16);
    const at20 = await hvsJndMethod(1).provider(undefined, crf(20), DEFAULT_JND)({ index: 0, frame, grid, time: 0 });
    const at30 = await hvsJndMethod(1).provider(undefined, crf(30), DEFAULT_JND)({ index: 0, frame, grid, time: 0 });
    expect(at20![0] - at30![0]).to.be.closeTo(10, 1e-4);
  });
});

describe('bench methods: random control', () => {
  const grid = macroblockGrid(160, 96); // 10x6 MBs
  const ctx = (index: number): FrameContext => ({ index, frame: fakeFrame(16, 16, () => 0), grid, time: index / 25 });
  const ramp = (k: number) => Float32Array.from({ length: grid.count }, (_, i) => (i * 7 + k) % 13 - 6);

  it('keeps each frame values (same mean and variance) at shuffled positions, deterministically', async () => {
    let frame = 0;
    const inner = () => ramp(frame++);
    const a = shuffledProvider(inner, RANDOM_SEED);
    frame = 0;
    const first = (await a(ctx(0)))!;
    const source = ramp(0);
    expect(first).to.not.deep.equal(source);
    expect(Array.from(first).sort((x, y) => x - y)).to.deep.equal(Array.from(source).sort((x, y) => x - y));
    expect(meanOf(first)).to.be.closeTo(meanOf(source), 1e-9);
    expect(varianceOf(first)).to.be.closeTo(varianceOf(source), 1e-9);
    frame = 0;
    const again = (await shuffledProvider(inner, RANDOM_SEED)(ctx(0)))!;
    expect(Array.from(again)).to.deep.equal(Array.from(first));
  });

  it('reshuffles when ours changes and reuses the shuffle while ours reuses its map (analysis stride)', async () => {
    const maps = [ramp(1), ramp(1)];
    let call = 0;
    const shared = maps[0];
    const inner = () => (call++ < 2 ? shared : maps[1]);
    const p = shuffledProvider(inner, 7);
    const f0 = await p(ctx(0));
    const f1 = await p(ctx(1));
    const f2 = await p(ctx(2)); // a new map object with the same values: shuffled with seed 7 + 2
    expect(f1).to.equal(f0);
    expect(Array.from(f2!)).to.not.deep.equal(Array.from(f0!));
    expect(Array.from(f2!).sort()).to.deep.equal(Array.from(f0!).sort());
  });

  it('through randomMethod: a permutation of the dmv-jnd offsets for the same frame', async () => {
    const view = { width: 20, height: 12 };
    const jnd = Float32Array.from({ length: view.width * view.height }, (_, i) => 1 + (i % 17));
    const analyser = {
      jnd: async (): Promise<FrameJnd> => ({ view, rgb: new Uint8Array(0), mergedCam: new Float32Array(0), jnd }),
      viewRgb: async () => new Uint8Array(0),
    } as unknown as FrameAnalyser;
    const x264 = crf(30);
    const ours = (await jndOffsetProvider(analyser, x264, DEFAULT_JND)(ctx(3)))!;
    const control = (await randomMethod().provider(analyser, x264, DEFAULT_JND)(ctx(3)))!;
    expect(Array.from(control)).to.not.deep.equal(Array.from(ours));
    expect(Array.from(control).sort((a, b) => a - b)).to.deep.equal(Array.from(ours).sort((a, b) => a - b));
  });
});
