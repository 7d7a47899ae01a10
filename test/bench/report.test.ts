import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseMethods } from '../../src/bench/methods.ts';
import { pointsCsv, slug, writeBenchOutputs } from '../../src/bench/outputs.ts';
import { PointCache, analyseBench, clipList, kneeSpans, type BenchPoint } from '../../src/bench/run-bench.ts';
import { DEFAULT_JND } from '../../src/pipeline.ts';
import { tempDir } from '../helpers/env.ts';

/** A point with the given rate and RCAs (regional confident / all, global confident). */
function pt(clip: string, method: string, crf: number, kbps: number, rc: number, ra: number, gc = rc, reference = false): BenchPoint {
  const f = (all: number, confident: number) => ({ all, confident });
  return {
    clip, method, crf, reference, frames: 10, width: 320, height: 240, bytes: Math.round((kbps * 1000 * 0.4) / 8) + 2000, video_bytes: Math.round((kbps * 1000 * 0.4) / 8), bitrate_kbps: kbps, bpp: 0.1, psnr_y_db: 40,
    rca: {
      tau: 0.5,
      global: f(gc, gc),
      regional: f(ra, rc),
      per_classifier: { global: { all: { resnet: gc }, confident: { resnet: gc } }, regional: { all: { resnet: ra }, confident: { resnet: rc } } },
      heldout: { name: 'mobilenet', global: f(gc, gc), regional: f(ra, rc) },
      user: {},
      decisions: { global: { all: 40, confident: 20 }, regional: { all: 800, confident: 300 } },
    },
    encode_fps: 50, analysis_fps: method === 'x264' ? null : 20,
    timings_ms: { decode: 1, analysis: 1, analysis_wait: 1, encode: 1, verify: 1, total: 4 },
  };
}

const CRFS = [28, 33, 38, 43];
/** x264: rate halves every 5 CRF, RCA falls; confident crosses 0.99 between CRF 33 and 38. */
const X264 = [
  [28, 800, 1.0, 0.985],
  [33, 400, 0.995, 0.975],
  [38, 200, 0.985, 0.96],
  [43, 100, 0.96, 0.94],
] as const;

function fixture(): BenchPoint[] {
  const points: BenchPoint[] = [];
  for (const clip of ['a.mp4', 'b.mp4']) {
    points.push(pt(clip, 'x264', 12, 3000, 1, 0.99, 1, true));
    for (const [crf, kbps, rc, ra] of X264) {
      points.push(pt(clip, 'x264', crf, kbps, rc, ra));
      // Same RCA at half the rate (clip a) or 0.8x the rate (clip b): BD-rate exactly -50% / -20%.
      points.push(pt(clip, 'dmv-jnd@1', crf, kbps * (clip === 'a.mp4' ? 0.5 : 0.8), rc, ra));
      // RCA above x264's whole range at every rate: the ranges do not overlap.
      // (confident RCA flat at 1: a single distinct point after the monotone cleanup)
      points.push(pt(clip, 'cam-roi', crf, kbps, 1, 0.99 + (43 - crf) * 0.0005));
    }
  }
  return points;
}

function analysed() {
  return analyseBench({
    points: fixture(),
    clips: ['a.mp4', 'b.mp4'],
    methods: parseMethods('x264,dmv-jnd@1,cam-roi'),
    crfs: CRFS,
    referenceCrf: 12,
    settings: { frames: 10, tau: 0.5, x264: { preset: 'medium', keyint: 250, threads: 0 }, jnd: DEFAULT_JND, models: '/models', provider: 'cpu' },
  });
}

describe('bench analysis: BD-rate, knees and means from raw points', () => {
  it('BD-rate per clip and kind against x264: a constant rate ratio at equal RCA gives exactly that ratio', () => {
    const r = analysed();
    const row = (clip: string, method: string) => r.per_clip.find((x) => x.clip === clip && x.method === method)!;
    for (const kind of ['regional_confident', 'global_confident', 'regional_all'] as const) {
      expect(row('a.mp4', 'dmv-jnd@1').bd_rate[kind], kind).to.be.closeTo(-50, 1e-9);
      expect(row('b.mp4', 'dmv-jnd@1').bd_rate[kind], kind).to.be.closeTo(-20, 1e-9);
      expect(row('a.mp4', 'x264').bd_rate[kind], kind).to.be.closeTo(0, 1e-12);
    }
    expect(row('a.mp4', 'dmv-jnd@1').bd_rate_notes.regional_all).to.match(/^over RCA 0\.9400-0\.9850$/);
    const s = r.summary.find((m) => m.method === 'dmv-jnd@1')!;
    expect(s.bd_rate_mean.regional_confident).to.be.closeTo(-35, 1e-9);
    expect(s.bd_rate_median.regional_confident).to.be.closeTo(-35, 1e-9); // two clips: their mean
    expect(s.bd_rate_clips.regional_confident).to.equal(2);
  });

  it('says why a BD-rate is missing when the RCA ranges do not overlap', () => {
    const r = analysed();
    const cam = r.per_clip.find((x) => x.clip === 'a.mp4' && x.method === 'cam-roi')!;
    expect(cam.bd_rate.regional_confident).to.equal(null);
    expect(cam.bd_rate_notes.regional_confident).to.match(/fewer than 2 distinct points/); // flat at 1.0
    expect(cam.bd_rate.regional_all).to.equal(null);
    expect(cam.bd_rate_notes.regional_all).to.match(/RCA ranges do not overlap \(x264 0\.9400-0\.9850, cam-roi 0\.9900-0\.9975\)/);
    expect(r.summary.find((m) => m.method === 'cam-roi')!.bd_rate_mean.regional_all).to.equal(null);
  });

  it('knees: confident regional RCA stays >= 0.99; all decisions >= noise floor (x264 CRF 12) - 0.01', () => {
    const r = analysed();
    expect(r.clips[0].noise_floor).to.deep.include({ crf: 12, regional_all: 0.99 });
    const x = r.per_clip.find((p) => p.clip === 'a.mp4' && p.method === 'x264')!;
    expect(x.knee.regional_confident).to.deep.equal({ threshold: 0.99, kbps: 400, crf: 33 });
    // 0.99 - 0.01 = 0.98: 0.985 at CRF 28 is the only point above.
    expect(x.knee.regional_all!.crf).to.equal(28);
    expect(x.knee.regional_all!.threshold).to.be.closeTo(0.98, 1e-12);
    const ours = r.per_clip.find((p) => p.clip === 'a.mp4' && p.method === 'dmv-jnd@1')!;
    expect(ours.knee.regional_confident).to.deep.equal({ threshold: 0.99, kbps: 200, crf: 33 });
    expect(ours.knee_saving.regional_confident).to.be.closeTo(0.5, 1e-12);
    // The reference point is not part of any curve.
    expect(r.points.filter((p) => p.reference)).to.have.length(2);
  });

  it('knee coverage: says whether the CRF grid brackets each knee, and which side it misses', () => {
    const r = analysed();
    const span = (clip: string, method: string) => r.per_clip.find((p) => p.clip === clip && p.method === method)!.knee_span;
    // x264: confident 1.0 .. 0.96 crosses 0.99; all 0.985 .. 0.94 crosses 0.98.
    expect(span('a.mp4', 'x264')).to.deep.equal({ regional_confident: 'inside', regional_all: 'inside' });
    // cam-roi: confident 1.0 everywhere; all 0.99-0.9975, above 0.98 everywhere.
    expect(span('a.mp4', 'cam-roi')).to.deep.equal({ regional_confident: 'above', regional_all: 'above' });
    const below = kneeSpans([pt('a.mp4', 'x', 18, 900, 0.95, 0.9), pt('a.mp4', 'x', 23, 500, 0.9, 0.8)], 0.99);
    expect(below).to.deep.equal({ regional_confident: 'below', regional_all: 'below' });
    expect(kneeSpans([pt('a.mp4', 'x', 18, 900, 0.95, 0.9)], null).regional_all).to.equal('no data');
  });

  it('writes bench.json, points.csv, summary.md and per-clip SVG/PNG plots', async function () {
    this.timeout(60000);
    const tmp = tempDir();
    try {
      const result = analysed();
      const files = await writeBenchOutputs(result, tmp.path);
      expect(files).to.have.members([
        'plots/a_mp4.svg', 'plots/a_mp4.png', 'plots/b_mp4.svg', 'plots/b_mp4.png', 'plots/bd-rate.svg', 'plots/bd-rate.png',
        'points.csv', 'summary.md', 'bench.json',
      ]);
      for (const f of files) expect(existsSync(join(tmp.path, f)), f).to.equal(true);
      const json = JSON.parse(readFileSync(join(tmp.path, 'bench.json'), 'utf8'));
      expect(Object.keys(json)).to.have.members(['schema', 'created', 'settings', 'clips', 'points', 'per_clip', 'summary', 'files']);
      expect(json.points).to.have.length(result.points.length);
      const csv = readFileSync(join(tmp.path, 'points.csv'), 'utf8').trim().split('\n');
      expect(csv).to.have.length(result.points.length + 1);
      const header = csv[0].split(',');
      expect(header.slice(0, 4)).to.deep.equal(['clip', 'method', 'crf', 'reference']);
      expect(header).to.include.members(['bitrate_kbps', 'bpp', 'rca_regional_confident', 'resnet_regional_all', 'heldout_regional_all', 'encode_fps']);
      for (const line of csv) expect(line.split(',')).to.have.length(header.length);
      const md = readFileSync(join(tmp.path, 'summary.md'), 'utf8');
      expect(md).to.match(/\| dmv-jnd@1 \| -35\.0% \| -35\.0% \| -35\.0% \| -35\.0% \/ -35\.0% \|/);
      expect(md).to.include('## Missing BD-rates');
      expect(md).to.include('confident regional RCA: the CRF points bracket the knee on 4 of 6 method x clip curves');
      expect(md).to.include('a.mp4, cam-roi, confident: meets the threshold at every CRF, up to 43');
      const svg = readFileSync(join(tmp.path, 'plots/a_mp4.svg'), 'utf8');
      expect(svg.startsWith('<svg')).to.equal(true);
      expect(svg).to.include('Confident regional decisions');
      for (const m of ['x264', 'dmv-jnd@1', 'cam-roi']) expect(svg).to.include(`>${m}<`);
      const png = await sharp(join(tmp.path, 'plots/a_mp4.png')).metadata();
      expect(png.format).to.equal('png');
      expect(png.width).to.be.greaterThan(800);
    } finally {
      tmp.cleanup();
    }
  });

  it('CSV cells: empty for null, quoted when they hold commas', () => {
    const p = pt('x, "y".mp4', 'x264', 23, 100, 1, 1);
    p.psnr_y_db = null;
    const [header, row] = pointsCsv([p]).trim().split('\n');
    expect(row.startsWith('"x, ""y"".mp4",x264,23,false,')).to.equal(true);
    const cells = row.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!;
    expect(cells[header.split(',').indexOf('psnr_y_db')]).to.equal(',');
  });

  it('clip names are base names made unique; plot file names are safe', () => {
    {
      const names = clipList([{ source: 'testsrc2', lavfi: true, label: 'lavfi:testsrc2' }, { source: 'smptebars', lavfi: true, label: 'lavfi:testsrc2' }]).map((c) => c.name);
      expect(names).to.deep.equal(['lavfi:testsrc2', 'lavfi:testsrc2#2']);
      expect(slug('lavfi:testsrc2=size=320x240')).to.equal('lavfi_testsrc2_size_320x240');
    }
  });

  it('the point cache survives a restart and ignores another cache version', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.path, 'sub', 'cache.json');
      const c = new PointCache(file);
      c.set('k1', pt('a.mp4', 'x264', 23, 100, 1, 1));
      expect(new PointCache(file).get('k1')!.bitrate_kbps).to.equal(100);
      expect(new PointCache(file).size).to.equal(1);
    } finally {
      tmp.cleanup();
    }
  });
});
