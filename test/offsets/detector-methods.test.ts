import { expect } from 'chai';
import type { DetectorOutput } from '../../src/machines/detector-runner.ts';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import type { FrameContext } from '../../src/media/encode.ts';
import { encodeAqStrength, jndX264Settings } from '../../src/pipeline.ts';
import { DEFAULT_X264 } from '../../src/media/x264-settings.ts';
import { DEFAULT_DET_OFFSETS, DEFAULT_DET_ROI_OFFSETS, ceilingOffsets, correctedOffsets, detectorMap, detectorOffsetName, detectorOffsetProvider, parseDetectorOffsets } from '../../src/offsets/detector-methods.ts';

const grid = macroblockGrid(64, 32); // 4 x 2 macroblocks
const box = (x1: number, y1: number, x2: number, y2: number, score = 0.9) => ({ cls: 0, score, box: { x1, y1, x2, y2 } });
const out = (...detections: ReturnType<typeof box>[]): DetectorOutput => ({ width: 64, height: 32, detections, heatmap: undefined });
const ctx = (index: number): FrameContext => ({ index, frame: { pts: BigInt(index) } as never, grid, time: index / 25 });

describe('detector-guided offsets (det-roi, det-heat, det-roi-shuffled)', () => {
  it('parses method names with and without in,out', () => {
    expect(parseDetectorOffsets('det-roi')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 20, dilate: 16 });
    expect(parseDetectorOffsets('det-roi-shuffled')).to.include({ inside: 0, outside: 20 });
    expect(parseDetectorOffsets('det-roi-interp')).to.include({ inside: 0, outside: 20, interpolate: true });
    expect(parseDetectorOffsets('det-heat')).to.include({ inside: DEFAULT_DET_OFFSETS.inside, outside: DEFAULT_DET_OFFSETS.outside });
    expect(parseDetectorOffsets('det-heat@-3,+9')).to.include({ method: 'det-heat', inside: -3, outside: 9 });
    expect(parseDetectorOffsets('split:-6,+6')).to.equal(undefined);
    expect(() => parseDetectorOffsets('det-roi@x,y')).to.throw(/det-roi@<in>,<out>/);
    expect(() => parseDetectorOffsets('det-roi@-2')).to.throw(/two QP offsets/);
    expect(detectorOffsetName(parseDetectorOffsets('det-roi')!)).to.equal('det-roi');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@-3,+9')!)).to.equal('det-roi@-3,+9');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+20')!)).to.equal('det-roi');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+16')!)).to.equal('det-roi@0,+16'); // the default before
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@-2,+12')!)).to.equal('det-roi@-2,+12');
    expect(detectorOffsetName(parseDetectorOffsets('det-scale@-2,+12')!)).to.equal('det-scale');
    expect(parseDetectorOffsets('det-scale')).to.include({ method: 'det-scale', inside: -2, outside: 12, slope: 3 });
    expect(parseDetectorOffsets('det-scale@-4,+12,4')).to.include({ method: 'det-scale', inside: -4, outside: 12, slope: 4 });
    expect(detectorOffsetName(parseDetectorOffsets('det-scale@-4,+12,4')!)).to.equal('det-scale@-4,+12,4');
    expect(detectorOffsetName(parseDetectorOffsets('det-scale@-4,+12')!)).to.equal('det-scale@-4,+12');
    expect(() => parseDetectorOffsets('det-scale@-2,+12,-1')).to.throw(/slope in \[0, 51\]/);
    expect(() => parseDetectorOffsets('det-roi@-2,+12,3')).to.throw(/two QP offsets/);
  });

  it('det-roi marks macroblocks under a box (score >= minScore) finer, the rest coarser', () => {
    const spec = { ...parseDetectorOffsets('det-roi@-2,+12')!, dilate: 0 };
    const map = detectorMap(spec, [out(box(0, 0, 16, 16), box(48, 16, 64, 32, 0.2))], grid, 0.35, 1);
    expect([...map]).to.deep.equal([-2, 12, 12, 12, 12, 12, 12, 12]);
  });

  it('a /score suffix sets the lowest box score that places offsets', () => {
    expect(parseDetectorOffsets('det-roi@0,+16/0.25')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 16, dilate: 16, minScore: 0.25 });
    expect(parseDetectorOffsets('det-scale-interp/0.2')).to.include({ method: 'det-scale', interpolate: true, minScore: 0.2, slope: 3 });
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@-2,+12/0.25')!)).to.equal('det-roi@-2,+12/0.25');
    expect(detectorOffsetName(parseDetectorOffsets('det-scale-interp/0.25')!)).to.equal('det-scale-interp/0.25');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi/0.35')!)).to.equal('det-roi'); // the default
    for (const bad of ['det-roi/0', 'det-roi/1.5', 'det-roi/x', 'det-roi@0,+16/']) expect(() => parseDetectorOffsets(bad), bad).to.throw(/box score in \(0, 1\]/);
    expect(() => parseDetectorOffsets('dmv-jnd-rel/0.25')).to.throw(/without a box score/);
    // A box at 0.3 places offsets at /0.25, not at the default 0.35.
    const dets = [out(box(0, 0, 16, 16, 0.3))];
    const low = { ...parseDetectorOffsets('det-roi@-2,+12/0.25')!, dilate: 0 };
    const high = { ...parseDetectorOffsets('det-roi@-2,+12')!, dilate: 0 };
    expect([...detectorMap(low, dets, grid, 0.35, 1)]).to.deep.equal([-2, 12, 12, 12, 12, 12, 12, 12]);
    expect([...detectorMap(high, dets, grid, 0.35, 1)]).to.deep.equal([12, 12, 12, 12, 12, 12, 12, 12]);
  });

  it('an /aq<strength> suffix sets x264\'s variance AQ for the method\'s encodes, beside the other modifiers', () => {
    expect(parseDetectorOffsets('det-roi/aq0.5')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 20, dilate: 16, aqStrength: 0.5 });
    expect(parseDetectorOffsets('det-scale-interp@-2,+12/aq0/0.25/8px')).to.include({ method: 'det-scale', interpolate: true, dilate: 8, minScore: 0.25, aqStrength: 0 });
    expect(parseDetectorOffsets('dmv-jnd/aq1')).to.include({ method: 'dmv-jnd', aqStrength: 1 });
    expect(detectorOffsetName(parseDetectorOffsets('det-roi/aq0.5')!)).to.equal('det-roi/aq0.5');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+16/aq1/8px/0.25')!)).to.equal('det-roi@0,+16/0.25/8px/aq1');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi')!)).to.equal('det-roi');
    for (const bad of ['det-roi/aq', 'det-roi/aq-0.5', 'det-roi/aq3.5', 'det-roi/aqx']) expect(() => parseDetectorOffsets(bad), bad).to.throw(/AQ strength in \[0, 3\]/);
    expect(() => parseDetectorOffsets('det-roi/aq0.5/aq1')).to.throw(/each modifier at most once/);
  });

  it('the encode\'s AQ strength: a method\'s /aq wins, JND-guided offsets take the JND\'s, box methods keep x264\'s 1', () => {
    expect(encodeAqStrength(parseDetectorOffsets('det-roi/aq0.5'), false, 0.3)).to.equal(0.5);
    expect(encodeAqStrength(parseDetectorOffsets('dmv-jnd/aq0'), true, 0.3)).to.equal(0);
    expect(encodeAqStrength(parseDetectorOffsets('det-roi'), false, 0.3)).to.equal(1);
    expect(encodeAqStrength(parseDetectorOffsets('dmv-jnd'), true, 0.3)).to.equal(0.3);
    expect(encodeAqStrength(undefined, true, 0.3)).to.equal(0.3);
    expect(jndX264Settings({ ...DEFAULT_X264, rateControl: { mode: 'crf', crf: 23 } }, 0.5).x264Params).to.equal('aq-strength=0.5');
  });

  it('a /<pixels>px suffix sets the box dilation, beside or without a /score', () => {
    expect(parseDetectorOffsets('det-roi@0,+16/8px')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 16, dilate: 8 });
    expect(parseDetectorOffsets('det-roi@0,+16/0.25/0px')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 16, dilate: 0, minScore: 0.25 });
    expect(parseDetectorOffsets('det-scale-interp/8px/0.25')).to.include({ method: 'det-scale', interpolate: true, dilate: 8, minScore: 0.25 });
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+20/8px')!)).to.equal('det-roi/8px');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+16/8px')!)).to.equal('det-roi@0,+16/8px');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi-interp@-2,+12/8px/0.25')!)).to.equal('det-roi-interp@-2,+12/0.25/8px');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi/16px')!)).to.equal('det-roi'); // the default
    for (const bad of ['det-roi/-8px', 'det-roi/2.5px', 'det-roi/px', 'det-roi/65px', 'det-roi/xpx']) expect(() => parseDetectorOffsets(bad), bad).to.throw(/box dilation of 0 to 64 whole pixels/);
    expect(() => parseDetectorOffsets('det-roi/8px/0px')).to.throw(/each modifier at most once/);
    expect(() => parseDetectorOffsets('det-roi/0.25/0.3')).to.throw(/each modifier at most once/);
    expect(() => parseDetectorOffsets('dmv-jnd/8px')).to.throw(/without a box dilation/);
    // In a 64 x 32 frame of 4 x 2 macroblocks, a box inside macroblock 1 reaches its neighbours (and the row below) only once dilated.
    const dets = [out(box(20, 4, 28, 12))];
    expect([...detectorMap(parseDetectorOffsets('det-roi@-2,+12/0px')!, dets, grid, 0.35, 1)]).to.deep.equal([12, -2, 12, 12, 12, 12, 12, 12]);
    expect([...detectorMap(parseDetectorOffsets('det-roi@-2,+12/8px')!, dets, grid, 0.35, 1)]).to.deep.equal([-2, -2, -2, 12, -2, -2, -2, 12]);
  });

  it('dmv-jnd-roi takes the learned offsets inside boxes, bounded to [in, out], and out elsewhere', () => {
    // A JND rising from left to right (0..63 in 0-255 units) over the 64 x 32 frame.
    const jnd = { width: 64, height: 32, data: Float32Array.from({ length: 64 * 32 }, (_, i) => (i % 64) * 2) };
    const mapping = { baseQp: 30, gain: 1, pooling: 'mean' as const, minOffset: -12, maxOffset: 12 };
    const outputs = [{ ...out(box(0, 0, 48, 16)), jnd }];
    const learned = detectorMap(parseDetectorOffsets('dmv-jnd')!, outputs, grid, 0.35, 1, mapping);
    const spec = { ...parseDetectorOffsets('dmv-jnd-roi')!, inside: -2, outside: 6, dilate: 0 };
    expect(detectorOffsetName(spec)).to.equal('dmv-jnd-roi/0px');
    const hybrid = detectorMap(spec, outputs, grid, 0.35, 1, mapping);
    // The box covers macroblocks 0-2 of the top row.
    const expected = [...learned].map((v, i) => (i <= 2 ? Math.min(6, Math.max(-2, v)) : 6));
    expect([...hybrid]).to.deep.equal(expected);
    expect(new Set([...hybrid].slice(0, 3)).size).to.be.greaterThan(1); // graded, not flat
    expect(() => detectorMap(spec, [out(box(0, 0, 48, 16))], grid, 0.35, 1, mapping)).to.throw(/detector-trained JND/);
  });

  it('dmv-jnd-rel places the learned target QPs relative to the least tolerant macroblocks, 0 to span', () => {
    expect(parseDetectorOffsets('dmv-jnd-rel')).to.include({ method: 'dmv-jnd-rel', inside: 0, outside: 16 }); // its own span, not det-roi's outside
    expect(detectorOffsetName(parseDetectorOffsets('dmv-jnd-rel')!)).to.equal('dmv-jnd-rel');
    expect(detectorOffsetName(parseDetectorOffsets('dmv-jnd-rel@10')!)).to.equal('dmv-jnd-rel@10');
    expect(() => parseDetectorOffsets('dmv-jnd-rel@-1')).to.throw(/dmv-jnd-rel@<span> with a QP span in \[0, 51\]/);
    expect(() => parseDetectorOffsets('dmv-jnd-rel@')).to.throw(/QP span/);
    // JND doubling every 16 px column: steps double per macroblock column, +6 QP each.
    const jnd = { width: 64, height: 32, data: Float32Array.from({ length: 64 * 32 }, (_, i) => 4 * 2 ** Math.floor((i % 64) / 16)) };
    const mapping = { baseQp: 30, gain: 0.5, pooling: 'mean' as const, minOffset: -12, maxOffset: 12 };
    const map = detectorMap(parseDetectorOffsets('dmv-jnd-rel@16')!, [{ ...out(), jnd }], grid, 0.35, 1, mapping);
    [0, 6, 12, 16, 0, 6, 12, 16].forEach((v, i) => expect(map[i], `MB ${i}`).to.be.closeTo(v, 1e-4));
    // dmv-jnd-outside: the same outside the boxes, the base QP (0) on them.
    const spec = parseDetectorOffsets('dmv-jnd-outside/0px')!;
    expect(detectorOffsetName(spec)).to.equal('dmv-jnd-outside/0px');
    const around = detectorMap(spec, [{ ...out(box(32, 0, 64, 16)), jnd }], grid, 0.35, 1, mapping);
    [0, 6, 0, 0, 0, 6, 12, 16].forEach((v, i) => expect(around[i], `MB ${i} (outside)`).to.be.closeTo(v, 1e-4));
  });

  it('det-roi-shuffled keeps the values of det-roi, at other places', () => {
    const roi = { ...parseDetectorOffsets('det-roi@-2,+12')!, dilate: 0 };
    const sh = { ...roi, method: 'det-roi-shuffled' as const };
    const dets = [out(box(0, 0, 32, 16))];
    const a = detectorMap(roi, dets, grid, 0.35, 7);
    const b = detectorMap(sh, dets, grid, 0.35, 7);
    expect([...b].sort()).to.deep.equal([...a].sort());
    expect(detectorMap(sh, dets, grid, 0.35, 7)).to.deep.equal(b);
  });

  it('runs the detector every stride frames and covers the frames between with both analyses', async () => {
    const calls: number[] = [];
    // The object moves from the left MB column (frame 0) to the right one (frame 4).
    const source = {
      detect: async (frame: { pts: bigint }) => {
        calls.push(Number(frame.pts));
        return Number(frame.pts) < 4 ? out(box(0, 0, 16, 32)) : out(box(48, 0, 64, 32));
      },
    };
    const spec = { ...parseDetectorOffsets('det-roi@-2,+12')!, dilate: 0 };
    const p = detectorOffsetProvider(source as never, spec, { stride: 4, minScore: 0.35 });
    expect(p.lookahead).to.be.at.least(4);
    // The encoder prepares frames in decode order up to `lookahead` ahead, then asks for each map.
    for (let i = 0; i <= 5; i++) await p.prepare!(ctx(i));
    const m0 = (await p(ctx(0)))!;
    const m1 = (await p(ctx(1)))!;
    const m4 = (await p(ctx(4)))!;
    expect(calls).to.deep.equal([0, 4]);
    expect([...m0]).to.deep.equal([-2, 12, 12, 12, -2, 12, 12, 12]); // its own boxes only
    expect([...m1]).to.deep.equal([-2, 12, 12, -2, -2, 12, 12, -2]); // union of frames 0 and 4
    expect([...m4]).to.deep.equal([12, 12, 12, -2, 12, 12, 12, -2]);
  });

  it('a /hold<n> suffix is parsed, named and bounded like the other modifiers', () => {
    expect(parseDetectorOffsets('det-roi/hold2')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 20, dilate: 16, hold: 2 });
    expect(parseDetectorOffsets('det-roi/hold0')).to.deep.equal(parseDetectorOffsets('det-roi'));
    expect(parseDetectorOffsets('det-scale-interp/hold1/0.25/aq0.5')).to.include({ interpolate: true, minScore: 0.25, aqStrength: 0.5, hold: 1 });
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+16/hold3/8px')!)).to.equal('det-roi@0,+16/8px/hold3');
    for (const bad of ['det-roi/hold', 'det-roi/hold-1', 'det-roi/hold1.5', 'det-roi/hold17', 'det-roi/holdx']) expect(() => parseDetectorOffsets(bad), bad).to.throw(/hold of 0 to 16 whole analyses/);
    expect(() => parseDetectorOffsets('det-roi/hold1/hold2')).to.throw(/each modifier at most once/);
  });

  it('with /hold<n>, a frame also keeps the boxes of the n analyses before its latest one', async () => {
    // The object is found at frame 0 only (every 2nd frame analysed), then missed.
    const source = { detect: async (frame: { pts: bigint }) => (Number(frame.pts) === 0 ? out(box(0, 0, 16, 32)) : out()) };
    const maps = async (text: string) => {
      const p = detectorOffsetProvider(source as never, { ...parseDetectorOffsets(text)!, dilate: 0 }, { stride: 2, minScore: 0.35 });
      const got: number[] = [];
      for (let i = 0; i <= 7; i++) {
        await p.prepare!(ctx(i));
        if (i >= 2) await p.prepare!(ctx(i + 2));
      }
      for (let i = 0; i <= 7; i++) got.push((await p(ctx(i)))![0]);
      return got;
    };
    // Without hold: fine at 0 and 1 (before the next analysis), coarse from frame 2 on.
    expect(await maps('det-roi@-2,+12')).to.deep.equal([-2, -2, 12, 12, 12, 12, 12, 12]);
    // hold1 keeps it through the next analysis (frames 2, 3); hold2 through two (to 5).
    expect(await maps('det-roi@-2,+12/hold1')).to.deep.equal([-2, -2, -2, -2, 12, 12, 12, 12]);
    expect(await maps('det-roi@-2,+12/hold2')).to.deep.equal([-2, -2, -2, -2, -2, -2, 12, 12]);
    expect(await maps('det-roi-interp@-2,+12/hold1')).to.deep.equal([-2, -2, -2, -2, 12, 12, 12, 12]);
  });

  it('a /fix<qp> suffix asks for a second pass; only box methods take it', () => {
    expect(parseDetectorOffsets('det-roi/fix6')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 20, dilate: 16, fix: 6 });
    expect(parseDetectorOffsets('det-roi/fix0')).to.include({ fix: 0 }); // two passes, only made-up objects to `in`
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+16/fix3/hold1')!)).to.equal('det-roi@0,+16/hold1/fix3');
    for (const bad of ['det-roi/fix', 'det-roi/fix-2', 'det-roi/fix2.5', 'det-roi/fix25']) expect(() => parseDetectorOffsets(bad), bad).to.throw(/refinement of 0 to 24 whole QP/);
    expect(() => parseDetectorOffsets('dmv-jnd/fix6')).to.throw(/without a second-pass refinement/);
  });

  it('a /qmax<qp> suffix is parsed, named and bounded; it needs the CRF', () => {
    expect(parseDetectorOffsets('det-roi/qmax60')).to.deep.equal({ kind: 'detector', method: 'det-roi', inside: 0, outside: 20, dilate: 16, qpMax: 60 });
    expect(parseDetectorOffsets('dmv-jnd/qmax51')).to.include({ qpMax: 51 }); // no boxes needed: it bounds any map
    expect(detectorOffsetName(parseDetectorOffsets('det-roi@0,+16/qmax63/hold1')!)).to.equal('det-roi@0,+16/hold1/qmax63');
    for (const bad of ['det-roi/qmax', 'det-roi/qmax0', 'det-roi/qmax70', 'det-roi/qmax60.5', 'det-roi/qmaxx']) expect(() => parseDetectorOffsets(bad), bad).to.throw(/QP ceiling of 1 to 69/);
    expect(() => parseDetectorOffsets('det-roi/qmax60/qmax61')).to.throw(/each modifier at most once/);
    const source = { detect: async () => out() };
    const spec = parseDetectorOffsets('det-roi/qmax60')!;
    expect(() => detectorOffsetProvider(source as never, spec, { stride: 2, minScore: 0.35 })).to.throw(/with --crf \(a QP ceiling needs the CRF/);
  });

  it('ceilingOffsets: no macroblock above qmax unless CRF + in already is', () => {
    const map = Float32Array.from([-2, 12, 20, 20, 0, 20, 5, 20]);
    // CRF 44, qmax 60: at most +16.
    expect([...ceilingOffsets(map, 60, 44, -2)]).to.deep.equal([-2, 12, 16, 16, 0, 16, 5, 16]);
    // CRF 63 above qmax 60: everything at CRF + in, nothing finer than the map asked.
    expect([...ceilingOffsets(map, 60, 63, -2)]).to.deep.equal([-2, -2, -2, -2, -2, -2, -2, -2]);
    // Below the ceiling everywhere: the same map back.
    expect(ceilingOffsets(map, 60, 23, -2)).to.equal(map);
    expect([...map]).to.deep.equal([-2, 12, 20, 20, 0, 20, 5, 20]); // not modified
  });

  it('with /qmax<qp>, the provider bounds every map by the CRF of its encode', async () => {
    const source = { detect: async () => out(box(0, 0, 16, 32)) };
    const mapping = { baseQp: 48, gain: 1, pooling: 'mean' as const, minOffset: -12, maxOffset: 12 };
    const p = detectorOffsetProvider(source as never, { ...parseDetectorOffsets('det-roi@0,+20/qmax60')!, dilate: 0 }, { stride: 2, minScore: 0.35, mapping });
    await p.prepare!(ctx(0));
    expect([...(await p(ctx(0)))!]).to.deep.equal([0, 12, 12, 12, 0, 12, 12, 12]);
  });

  it('correctedOffsets: a lost object\'s macroblocks go fix below in, a made-up one\'s to at most in', () => {
    const spec = { inside: -2, dilate: 0 };
    const map = Float32Array.from([-2, 12, 12, 12, -2, 12, 12, 12]);
    const lost = box(0, 0, 16, 32); // column 0, already at in
    const madeUp = box(48, 0, 64, 16); // top right, outside
    const got = correctedOffsets(map, [{ lost: [lost], spurious: [madeUp] }], grid, spec, 6);
    expect([...got]).to.deep.equal([-8, 12, 12, -2, -8, 12, 12, 12]);
    expect([...map]).to.deep.equal([-2, 12, 12, 12, -2, 12, 12, 12]); // not modified
    expect(correctedOffsets(map, [{ lost: [], spurious: [] }], grid, spec, 6)).to.equal(map);
  });

  it('a /fix second pass corrects the frames around each analysis it has corrections for', async () => {
    const source = { detect: async () => out(box(0, 0, 16, 32)) };
    const spec = { ...parseDetectorOffsets('det-roi@-2,+12/fix6')!, dilate: 0 };
    const corrections = new Map([[4, { lost: [box(0, 0, 16, 32)], spurious: [] }]]);
    const p = detectorOffsetProvider(source as never, spec, { stride: 4, minScore: 0.35, corrections });
    const got: number[] = [];
    for (let i = 0; i <= 9; i++) await p.prepare!(ctx(i));
    for (let i = 0; i <= 9; i++) got.push((await p(ctx(i)))![0]);
    // Frames 1-3 lie between analyses 0 and 4, 4-7 start at 4: corrected; 0 and 8, 9 not.
    expect(got).to.deep.equal([-2, -8, -8, -8, -8, -8, -8, -8, -2, -2]);
    // Without spec.fix the corrections are ignored.
    const q = detectorOffsetProvider(source as never, { ...spec, fix: undefined }, { stride: 4, minScore: 0.35, corrections });
    for (let i = 0; i <= 5; i++) await q.prepare!(ctx(i));
    expect((await q(ctx(4)))![0]).to.equal(-2);
  });

  it('without prepare (callers that only ask for maps) still analyses every stride frames', async () => {
    const calls: number[] = [];
    const source = { detect: async (frame: { pts: bigint }) => (calls.push(Number(frame.pts)), out()) };
    const p = detectorOffsetProvider(source as never, parseDetectorOffsets('det-roi')!, { stride: 3, minScore: 0.35 });
    for (let i = 0; i < 7; i++) expect([...(await p(ctx(i)))!].every((v) => v === DEFAULT_DET_ROI_OFFSETS.outside)).to.equal(true);
    expect(calls).to.deep.equal([0, 3, 6]);
  });

  it('skips due analyses while the thumbnail shows nothing moving, up to maxStride apart', async () => {
    const calls: number[] = [];
    const source = { detect: async (frame: { pts: bigint }) => (calls.push(Number(frame.pts)), out(box(0, 0, 16, 16))) };
    // Frames 0-19 identical; from 20 on, one block changes.
    const still = new Uint8Array(64 * 36).fill(50);
    const moved = Uint8Array.from(still).fill(200, 0, 8);
    const thumbs = new Map<number, Uint8Array>();
    const spec = { ...parseDetectorOffsets('det-roi@-2,+12')!, dilate: 0 };
    let skipped = 0;
    const p = detectorOffsetProvider(source as never, spec, {
      stride: 4, maxStride: 12, minScore: 0.35, onSkipped: () => skipped++,
      thumbnail: (frame) => thumbs.get(Number((frame as unknown as { pts: bigint }).pts)) ?? (Number((frame as unknown as { pts: bigint }).pts) >= 20 ? moved : still),
    });
    for (let i = 0; i <= 28; i++) await p.prepare!(ctx(i));
    // 0 analysed; 4 and 8 static (skipped); 12 is 12 apart: analysed; 16 static; 20 changed; 24, 28 static again.
    expect(calls).to.deep.equal([0, 12, 20]);
    expect(skipped).to.equal(5);
    // Maps still come for every frame, and asking again decides nothing anew.
    for (let i = 0; i <= 28; i++) expect(await p(ctx(i))).to.be.instanceOf(Float32Array);
    expect(calls).to.deep.equal([0, 12, 20]);
    // Without a thumbnail (or maxStride = stride) nothing is skipped.
    const calls2: number[] = [];
    const q = detectorOffsetProvider({ detect: async (f: { pts: bigint }) => (calls2.push(Number(f.pts)), out()) } as never, spec, { stride: 4, maxStride: 12, minScore: 0.35 });
    for (let i = 0; i <= 12; i++) await q.prepare!(ctx(i));
    expect(calls2).to.deep.equal([0, 4, 8, 12]);
  });

  it('det-heat without a heatmap falls back to the boxes', () => {
    const heat = { ...parseDetectorOffsets('det-heat@-2,+12')!, dilate: 0 };
    expect([...detectorMap(heat, [out(box(0, 0, 16, 16))], grid, 0.35, 0)]).to.deep.equal([-2, 12, 12, 12, 12, 12, 12, 12]);
  });
});
