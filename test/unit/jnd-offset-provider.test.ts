import { expect } from 'chai';
import type { Frame } from 'node-av/lib';
import type { FrameAnalyser, FrameJnd } from '../../src/analysis/analyser.ts';
import { qpOffsetsFromJnd } from '../../src/jnd/qp-mapping.ts';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import { DEFAULT_X264 } from '../../src/media/x264-settings.ts';
import { DEFAULT_JND, jndOffsetProvider } from '../../src/pipeline.ts';

// A 64x32 frame (4x2 macroblocks) seen through a 64x32 view whose JND grows to the right.
const view = { width: 64, height: 32 };
const jnd = new Float32Array(view.width * view.height).map((_, i) => 4 + (i % view.width));
const stub = { jnd: async (): Promise<FrameJnd> => ({ view, rgb: new Uint8Array(0), mergedCam: new Float32Array(0), jnd }) } as unknown as FrameAnalyser;
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
