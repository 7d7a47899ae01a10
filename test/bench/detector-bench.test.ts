import { expect } from 'chai';
import { analyseDetectorBench, benchWindow, parseDetectorBenchMethod, splitMethodList, type DetectorBenchPoint } from '../../src/bench/detector-bench.ts';
import { detectorSummaryMarkdown } from '../../src/bench/detector-outputs.ts';
import { DEFAULT_JND } from '../../src/pipeline.ts';
import { DEFAULT_X264 } from '../../src/media/x264-settings.ts';

/** A point whose F1 and mAP fall with the CRF; `cheaper` scales its rate. */
function point(clip: string, method: string, crf: number, cheaper: number, objects = 3, reference = false): DetectorBenchPoint {
  const f1 = Math.max(0, Math.min(1, 1 - Math.max(0, crf - 30) / 30));
  const s = { f1, map50: f1, precision: f1, recall: f1, reference_objects_per_frame: objects };
  return {
    clip, method, crf, reference, frames: 60, width: 640, height: 480, bytes: 1000, video_bytes: 1000,
    bitrate_kbps: (2000 * Math.pow(2, -crf / 6)) * cheaper, bpp: 0.1, psnr_y_db: 40,
    machines: { centernet: s, nanodet: s }, guided_by: method === 'x264' ? 'none' : 'centernet', encode_fps: 30,
    timings_ms: { decode: 0, analysis: 0, analysis_wait: 0, encode: 0, verify: 0, total: 1 },
  };
}

describe('detector bench analysis', () => {
  it('takes each window from the start, around the middle or at the end, never past the clip', () => {
    expect(benchWindow(150, 60, 'first')).to.deep.equal({ start: 0, frames: 60 });
    expect(benchWindow(150, 60, 'middle')).to.deep.equal({ start: 45, frames: 60 });
    expect(benchWindow(150, 60, 'last')).to.deep.equal({ start: 90, frames: 60 });
    expect(benchWindow(77, 60, 'last')).to.deep.equal({ start: 17, frames: 60 });
    expect(benchWindow(12, 60, 'last')).to.deep.equal({ start: 0, frames: 12 });
    expect(benchWindow(12, 60, 'middle')).to.deep.equal({ start: 0, frames: 12 });
  });

  it('splits method lists whose methods carry in,out parameters', () => {
    expect(splitMethodList('x264,det-roi@-2,+12,det-heat,det-roi-shuffled@-4,8')).to.deep.equal(['x264', 'det-roi@-2,+12', 'det-heat', 'det-roi-shuffled@-4,8']);
  });

  it('names the machine that guides each method', () => {
    expect(parseDetectorBenchMethod('det-roi').guide).to.equal('detector');
    expect(parseDetectorBenchMethod('dmv-jnd-cifar@0.2').guide).to.equal('cifar');
    expect(parseDetectorBenchMethod('hvs-jnd').guide).to.equal('none');
    expect(() => parseDetectorBenchMethod('nonsense')).to.throw(/expected a method/);
  });

  it('a method at 0.8x the rate for the same agreement scores -20% BD-rate; clips without objects stay out of the means', () => {
    const crfs = [23, 30, 36, 42, 48, 54];
    const points: DetectorBenchPoint[] = [];
    for (const clip of ['a', 'b', 'empty']) {
      const objects = clip === 'empty' ? 0 : 3;
      points.push(point(clip, 'x264', 12, 1, objects, true));
      for (const crf of crfs) {
        points.push(point(clip, 'x264', crf, 1, objects));
        // On the empty clip the method looks great: it must not enter the mean.
        points.push(point(clip, 'det-roi', crf, clip === 'empty' ? 0.1 : 0.8, objects));
      }
    }
    const r = analyseDetectorBench({
      points,
      clips: ['a', 'b', 'empty'].map((n) => ({ name: n, label: n })),
      methods: ['x264', 'det-roi'].map(parseDetectorBenchMethod),
      crfs,
      scorers: ['centernet', 'nanodet'],
      settings: { frames: 60, start: 'first', x264: DEFAULT_X264, jnd: DEFAULT_JND, match: {} },
    });
    const det = r.summary.find((s) => s.method === 'det-roi')!;
    expect(det.bd_rate_mean.f1).to.be.closeTo(-20, 0.5);
    expect(det.bd_rate_mean.map50).to.be.closeTo(-20, 0.5);
    expect(det.by_machine.nanodet.bd_rate_mean.f1).to.be.closeTo(-20, 0.5);
    expect(det.bd_rate_clips.f1).to.equal(2);
    expect(r.clips.find((c) => c.name === 'empty')!.has_objects).to.equal(false);
    expect(r.per_clip.find((c) => c.clip === 'empty' && c.method === 'det-roi')!.bd_rate.f1!).to.be.below(-80);
    expect(r.clips[0].noise_floor.centernet.f1).to.equal(1);
    const md = detectorSummaryMarkdown(r);
    expect(md).to.include('left out (no object detected): empty');
    expect(md).to.include('| det-roi | centernet | -20.0% | -20.0% to -20.0% |');
    // Both clips at -20%: the interval collapses onto the mean.
    det.bd_rate_ci95.f1!.forEach((v) => expect(v).to.be.closeTo(-20, 0.5));
  });
});
