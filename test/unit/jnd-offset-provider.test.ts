import { expect } from 'chai';
import type { Frame } from 'node-av/lib';
import type { FrameAnalyser, FrameJnd } from '../../src/analysis/analyser.ts';
import { qpOffsetsFromJnd } from '../../src/jnd/qp-mapping.ts';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import { DEFAULT_X264 } from '../../src/media/x264-settings.ts';
import { DEFAULT_JND, jndOffsetProvider, jndX264Settings, type JndSource } from '../../src/pipeline.ts';
import { jndKey } from '../../src/bench/run-bench.ts';

// A 64x32 frame (4x2 macroblocks) seen through a 64x32 view whose JND grows to the right.
const view = { width: 64, height: 32 };
const jnd = new Float32Array(view.width * view.height).map((_, i) => 4 + (i % view.width));
const stub: JndSource = {
  jnd: async (): Promise<FrameJnd> => ({ view, rgb: new Uint8Array(0), mergedCam: new Float32Array(0), jnd }),
  viewRgb: async () => new Uint8Array(48),
};
const grid = macroblockGrid(64, 32);
const ctx = { frame: { width: 64, height: 32 } as Frame, grid, index: 0, time: 0 };
const x264 = { ...DEFAULT_X264, rateControl: { mode: 'crf' as const, crf: 23 } };
const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;

describe('jndOffsetProvider placement', () => {
  it("'absolute' gives the paper's rule against the CRF; 'centred' the same offsets minus their mean", async () => {
    const settings = { ...DEFAULT_JND, jndGain: 0.25 };
    const absolute = (await jndOffsetProvider(stub, x264, settings)(ctx))!;
    const expected = qpOffsetsFromJnd(jnd, view, grid, { baseQp: 23, gain: 0.25, pooling: 'mean', minOffset: -12, maxOffset: 12 });
    expect(Array.from(absolute)).to.deep.equal(Array.from(expected));
    expect(mean(absolute)).to.be.greaterThan(1); // JND 4-67: coarser than CRF 23 on average

    const centred = (await jndOffsetProvider(stub, x264, settings, {}, 'centred')(ctx))!;
    expect(mean(centred)).to.be.closeTo(0, 1e-5);
    const shift = mean(absolute);
    for (let i = 0; i < grid.count; i++) expect(centred[i]).to.be.closeTo(absolute[i] - shift, 1e-4);
  });

  it("'centred' does not depend on the gain or the CRF", async () => {
    const a = (await jndOffsetProvider(stub, x264, { ...DEFAULT_JND, jndGain: 0.25 }, {}, 'centred')(ctx))!;
    const b = (await jndOffsetProvider(stub, { ...x264, rateControl: { mode: 'crf', crf: 40 } }, { ...DEFAULT_JND, jndGain: 2 }, {}, 'centred')(ctx))!;
    for (let i = 0; i < grid.count; i++) expect(b[i]).to.be.closeTo(a[i], 1e-4);
  });
});

describe('jndOffsetProvider analysis stride and scene cuts', () => {
  // Frames 0-9; the picture changes completely at frame 5 (a cut).
  const rgbOf = (i: number) => new Uint8Array(48).fill(i < 5 ? 20 : 220);
  const framesOf = (n: number) => Array.from({ length: n }, (_, i) => ({ width: 64, height: 32, pts: BigInt(i) }) as unknown as Frame);
  const analyserFor = (calls: number[]) =>
    ({
      jnd: async (f: Frame): Promise<FrameJnd> => {
        const i = Number(f.pts);
        calls.push(i);
        return { view, rgb: rgbOf(i), mergedCam: new Float32Array(0), jnd: jnd.map((v) => v + i) };
      },
      viewRgb: async (f: Frame) => rgbOf(Number(f.pts)),
    }) as unknown as FrameAnalyser;

  it('analyses every Nth frame, reuses the map in between, and re-analyses on a scene cut', async () => {
    const calls: number[] = [];
    let cuts = 0;
    const provider = jndOffsetProvider(analyserFor(calls), x264, { ...DEFAULT_JND, analysisStride: 3 }, { onSceneCut: () => cuts++ });
    const maps: Float32Array[] = [];
    for (const [index, frame] of framesOf(10).entries()) maps.push((await provider({ frame, grid, index, time: index / 25 }))!);
    // 0, 3 by stride; 5 by the cut (which restarts the count); 8 by stride.
    expect(calls).to.deep.equal([0, 3, 5, 8]);
    expect(cuts).to.equal(1);
    expect(maps[1]).to.equal(maps[0]);
    expect(maps[2]).to.equal(maps[0]);
    expect(maps[4]).to.equal(maps[3]);
    expect(maps[5]).to.not.equal(maps[4]);
  });

  it('analyses every frame at stride 1', async () => {
    const calls: number[] = [];
    const provider = jndOffsetProvider(analyserFor(calls), x264, { ...DEFAULT_JND, analysisStride: 1 });
    for (const [index, frame] of framesOf(4).entries()) await provider({ frame, grid, index, time: 0 });
    expect(calls).to.deep.equal([0, 1, 2, 3]);
  });
});

describe('jndOffsetProvider decode-ahead (prepare, then offsets)', () => {
  const framesOf = (n: number) => Array.from({ length: n }, (_, i) => ({ width: 64, height: 32, pts: BigInt(i) }) as unknown as Frame);

  it('starts each due analysis when the frame is prepared and gives the same maps as in line', async () => {
    const started: number[] = [];
    const release: Array<() => void> = [];
    // An analysis that only finishes when the test says so (a worker still busy).
    const slow: JndSource = {
      jnd: (f: Frame) => {
        const i = Number(f.pts);
        started.push(i);
        return new Promise((resolve) => release.push(() => resolve({ view, rgb: new Uint8Array(48), mergedCam: new Float32Array(0), jnd: jnd.map((v) => v + i) })));
      },
      viewRgb: async () => new Uint8Array(48),
      lookahead: 6,
    };
    const settings = { ...DEFAULT_JND, analysisStride: 3 };
    const ahead = jndOffsetProvider(slow, x264, settings);
    expect(ahead.lookahead).to.equal(6);
    const frames = framesOf(7);
    for (const [index, frame] of frames.entries()) await ahead.prepare!({ frame, grid, index, time: 0 });
    expect(started).to.deep.equal([0, 3, 6]); // all three started before any frame is encoded
    let settled = false;
    const first = Promise.resolve(ahead({ frame: frames[0], grid, index: 0, time: 0 })).then((m) => ((settled = true), m));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).to.equal(false); // the encoder waits for the analysis of its frame
    for (const r of release) r();
    const maps = [await first];
    for (let i = 1; i < frames.length; i++) maps.push((await ahead({ frame: frames[i], grid, index: i, time: 0 }))!);

    const calls: number[] = [];
    const inline = jndOffsetProvider(
      { jnd: async (f: Frame) => (calls.push(Number(f.pts)), { view, rgb: new Uint8Array(48), mergedCam: new Float32Array(0), jnd: jnd.map((v) => v + Number(f.pts)) }), viewRgb: async () => new Uint8Array(48) },
      x264,
      settings,
    );
    for (const [index, frame] of frames.entries()) {
      const m = (await inline({ frame, grid, index, time: 0 }))!;
      expect(Array.from(m), `frame ${index}`).to.deep.equal(Array.from(maps[index]!));
    }
    expect(calls).to.deep.equal([0, 3, 6]);
  });

  it('a failed analysis surfaces when its frame is encoded, not as an unhandled rejection', async () => {
    const failing: JndSource = { jnd: async () => Promise.reject(new Error('model blew up')), viewRgb: async () => new Uint8Array(48), lookahead: 4 };
    const p = jndOffsetProvider(failing, x264, { ...DEFAULT_JND, analysisStride: 2 });
    const frames = framesOf(3);
    for (const [index, frame] of frames.entries()) await p.prepare!({ frame, grid, index, time: 0 });
    await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would fail the run here
    let error: unknown;
    await Promise.resolve(p({ frame: frames[0], grid, index: 0, time: 0 })).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/model blew up/);
  });
});

describe("x264's own AQ under the JND offsets", () => {
  it('sets aq-strength for JND encodes, keeps other params, and lets an explicit aq-strength win', () => {
    expect(jndX264Settings(x264, 0.3).x264Params).to.equal('aq-strength=0.3');
    expect(jndX264Settings({ ...x264, x264Params: 'psy-rd=0' }, 0.3).x264Params).to.equal('psy-rd=0:aq-strength=0.3');
    expect(jndX264Settings({ ...x264, x264Params: 'aq_strength=0.8' }, 0.3).x264Params).to.equal('aq_strength=0.8');
    expect(jndX264Settings(x264, 1)).to.equal(x264);
  });

  it('bench cache keys: the AQ strength counts only for JND-offset methods; old defaults are left out', () => {
    const k = (aq: number, offsets: unknown, precision: 'float32' | 'int8' = 'float32') => jndKey({ ...DEFAULT_JND, aqStrength: aq, precision }, offsets);
    expect(k(0.3, 'jnd')).to.have.property('aqStrength', 0.3);
    expect(k(0.3, 'jnd-centred')).to.have.property('aqStrength', 0.3);
    expect(k(0.3, { kind: 'none' })).to.not.have.property('aqStrength');
    expect(k(1, 'jnd')).to.not.have.property('aqStrength');
    expect(k(1, 'jnd')).to.not.have.property('precision');
    expect(k(1, 'jnd', 'int8')).to.have.property('precision', 'int8');
    expect(k(0.3, { kind: 'none' })).to.deep.equal(k(1, { kind: 'none' }));
  });
});
