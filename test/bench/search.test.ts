import { expect } from 'chai';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { highestPassingCrf, sampleSegments, segmentInput, type Evaluation } from '../../src/bench/search.ts';
import { encodeVideo } from '../../src/media/encode.ts';
import { probeMedia } from '../../src/media/probe.ts';
import { sampleClip } from '../../src/media/sample-clip.ts';
import { tempDir } from '../helpers/env.ts';

/** An evaluator whose RCA falls linearly with CRF; records the CRFs asked for. */
function linear(target: number, rcaAt: (crf: number) => number) {
  const asked: number[] = [];
  const evaluate = async (crf: number): Promise<Evaluation> => {
    asked.push(crf);
    const r = rcaAt(crf);
    return { crf, rca_min: r, rca: [r], bytes: 1000 / crf, kbps: 1, meets: r >= target };
  };
  return { asked, evaluate };
}

describe('search: binary search for the highest passing CRF', () => {
  it('finds the last CRF meeting the target in about log2(range) evaluations', async () => {
    for (const last of [12, 13, 30, 37, 50, 51]) {
      const { asked, evaluate } = linear(0.99, (crf) => (crf <= last ? 0.995 : 0.98));
      const r = await highestPassingCrf(12, 51, evaluate);
      expect(r.crf, `last passing ${last}`).to.equal(last);
      expect(r.result!.crf).to.equal(last);
      expect(asked[0]).to.equal(12);
      expect(asked.length).to.be.at.most(1 + Math.ceil(Math.log2(40)));
      expect(new Set(asked).size).to.equal(asked.length);
    }
  });

  it('reports no CRF, and the best RCA seen, when even the lowest CRF fails', async () => {
    const { asked, evaluate } = linear(0.99, (crf) => 0.97 - crf / 1000);
    const r = await highestPassingCrf(20, 40, evaluate);
    expect(r.crf).to.equal(null);
    expect(r.result).to.equal(null);
    expect(r.best.crf).to.equal(20);
    expect(asked).to.deep.equal([20]);
  });

  it('a one-CRF range works', async () => {
    const r = await highestPassingCrf(30, 30, linear(0.5, () => 1).evaluate);
    expect(r.crf).to.equal(30);
  });
});

describe('search: sampled segments', () => {
  it('N segments of F frames centred in N equal parts, inside the clip', () => {
    expect(sampleSegments(100, 4, 10)).to.deep.equal([
      { start: 8, frames: 10 },
      { start: 33, frames: 10 },
      { start: 58, frames: 10 },
      { start: 83, frames: 10 },
    ]);
    expect(sampleSegments(25, 4, 10)).to.deep.equal([
      { start: 1, frames: 10 },
      { start: 14, frames: 10 },
    ]);
    expect(sampleSegments(8, 4, 10)).to.deep.equal([{ start: 0, frames: 8 }]);
    for (const s of sampleSegments(1394, 6, 24)) expect(s.start + s.frames).to.be.at.most(1394);
    expect(() => sampleSegments(0, 4, 10)).to.throw(/expected a clip with frames/);
  });

  it('a segment of a file with awkward characters in its path decodes to exactly its frames', async function () {
    this.timeout(60000);
    const tmp = tempDir();
    try {
      const src = join(tmp.path, 'clip.mp4');
      await encodeVideo({ input: sampleClip('testsrc', { width: 160, height: 96, seconds: 1 }), output: src, x264: { rateControl: { mode: 'crf', crf: 30 }, preset: 'ultrafast' } });
      const odd = join(tmp.path, "a b,c:d'e[1];f.mp4");
      copyFileSync(src, odd);
      const seg = segmentInput({ source: odd }, { start: 10, frames: 6 });
      expect(seg.lavfi).to.equal(true);
      expect(seg.label).to.equal(`${odd} [frames 10-15]`);
      const out = join(tmp.path, 'seg.mp4');
      const r = await encodeVideo({ input: seg, output: out, x264: { rateControl: { mode: 'crf', crf: 30 }, preset: 'ultrafast' } });
      expect(r.frames).to.equal(6);
      const info = await probeMedia(out);
      expect(info.frames).to.equal(6);
      expect(info.duration).to.be.closeTo(6 / 25, 1e-3);
      // lavfi inputs are cut by appending to their own graph
      const lav = segmentInput({ source: 'testsrc2=size=64x64:rate=25:duration=1', lavfi: true }, { start: 5, frames: 3 });
      expect(lav.source).to.equal('testsrc2=size=64x64:rate=25:duration=1,trim=start_frame=5:end_frame=8,setpts=PTS-STARTPTS');
    } finally {
      tmp.cleanup();
    }
  });
});
