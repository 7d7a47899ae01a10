import { expect } from 'chai';
import type { DetectorOutput } from '../../src/machines/detector-runner.ts';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import type { FrameContext } from '../../src/media/encode.ts';
import { interpolateDetections, matchAcrossAnalyses } from '../../src/offsets/box-motion.ts';
import { detectorOffsetName, detectorOffsetProvider, parseDetectorOffsets } from '../../src/offsets/detector-methods.ts';

const det = (x1: number, y1: number, x2: number, y2: number, cls = 0, score = 0.9) => ({ cls, score, box: { x1, y1, x2, y2 } });

describe('boxes between two analyses (box-motion)', () => {
  it('matches the same object across analyses: same class, nearest centre first, sizes alike', () => {
    const before = [det(0, 0, 32, 32), det(100, 0, 132, 32), det(200, 0, 232, 32, 1)];
    const after = [det(110, 0, 142, 32), det(10, 0, 42, 32), det(210, 0, 242, 32, 2), det(300, 0, 400, 100)];
    // The car class-1 box has only a class-2 box nearby; the big box is 9.8x the area.
    expect(matchAcrossAnalyses(before, after)).to.have.deep.members([[0, 1], [1, 0]]);
    // Too far: centres more than one mean side apart.
    expect(matchAcrossAnalyses([det(0, 0, 10, 10)], [det(15, 0, 25, 10)])).to.deep.equal([]);
    expect(matchAcrossAnalyses([det(0, 0, 10, 10)], [det(10, 0, 20, 10)])).to.deep.equal([[0, 0]]);
  });

  it('moves matched boxes linearly, keeps the unmatched ones, and ignores those under minScore', () => {
    const before = [det(0, 0, 32, 32, 0, 0.5), det(200, 0, 210, 10), det(400, 0, 410, 10, 0, 0.1)];
    const after = [det(16, 8, 48, 40, 0, 0.8), det(300, 300, 310, 310, 3)];
    const mid = interpolateDetections(before, after, 0.25, 0.35);
    expect(mid).to.deep.equal([
      { cls: 0, score: 0.8, box: { x1: 4, y1: 2, x2: 36, y2: 34 } },
      det(200, 0, 210, 10),
      det(300, 300, 310, 310, 3),
    ]);
    expect(interpolateDetections(before, after, 0, 0.35)[0].box).to.deep.equal(before[0].box);
    expect(interpolateDetections(before, after, 1, 0.35)[0].box).to.deep.equal(after[0].box);
  });

  it('det-roi-interp: a frame between analyses gets the moved box, det-roi the union of both', async () => {
    const grid = macroblockGrid(128, 32); // 8 x 2 macroblocks
    const ctx = (index: number): FrameContext => ({ index, frame: { pts: BigInt(index) } as never, grid, time: index / 25 });
    const out = (x: number): DetectorOutput => ({ width: 128, height: 32, detections: [det(x, 0, x + 32, 32)], heatmap: undefined });
    // The object moves 64 px right in 4 frames (its centre travels 2 sides: beyond the match
    // distance at once, but 1 side between frames 0 and 2 when the detector runs every 2nd frame).
    const source = { detect: async (frame: { pts: bigint }) => out(Number(frame.pts) * 16) };
    const maps = async (name: string) => {
      const spec = { ...parseDetectorOffsets(name)!, dilate: 0 };
      const p = detectorOffsetProvider(source as never, spec, { stride: 2, minScore: 0.35 });
      for (let i = 0; i <= 4; i++) await p.prepare!(ctx(i));
      return [await p(ctx(0)), await p(ctx(1)), await p(ctx(2))].map((m) => [...m!].slice(0, 8));
    };
    const union = await maps('det-roi@-2,+12');
    const moved = await maps('det-roi-interp@-2,+12');
    expect(union[0]).to.deep.equal(moved[0]);
    expect(union[2]).to.deep.equal(moved[2]);
    // Frame 1: the box spans x 16..48 (MB columns 1-2, touching 3); the union spans 0..64.
    expect(union[1].filter((v) => v < 0).length).to.be.greaterThan(moved[1].filter((v) => v < 0).length);
    expect(moved[1][0]).to.equal(12);
    expect(moved[1][1]).to.equal(-2);
    expect(moved[1][2]).to.equal(-2);
  });

  it('parses and names the -interp forms of the box methods only', () => {
    expect(parseDetectorOffsets('det-scale-interp')).to.include({ method: 'det-scale', interpolate: true, slope: 3 });
    expect(parseDetectorOffsets('det-roi-interp@-3,+9')).to.include({ method: 'det-roi', interpolate: true, inside: -3, outside: 9 });
    expect(detectorOffsetName(parseDetectorOffsets('det-scale-interp')!)).to.equal('det-scale-interp');
    expect(detectorOffsetName(parseDetectorOffsets('det-roi-interp@-3,+9')!)).to.equal('det-roi-interp@-3,+9');
    expect(parseDetectorOffsets('det-heat-interp')).to.equal(undefined);
    expect(parseDetectorOffsets('det-scale')!.interpolate).to.equal(undefined);
  });
});
