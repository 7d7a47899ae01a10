import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { SAMPLE_CLIPS } from '../../src/media/sample-clip.ts';
import { runCli, tempDir } from '../helpers/env.ts';
import { MODELS_DIR, NO_MODELS_REASON, hasModels } from '../helpers/models.ts';

describe('bench and search end to end (CLI, needs the ONNX models)', function () {
  if (!hasModels) {
    it(`skipped: ${NO_MODELS_REASON}`, function () {
      this.skip();
    });
    return;
  }
  const tmp = tempDir('dmvjnd-bench-e2e-');
  after(() => tmp.cleanup());
  const clip = `lavfi:${SAMPLE_CLIPS.testsrc({ width: 320, height: 240, seconds: 0.2 })}`;
  const modelArgs = ['--models', MODELS_DIR, '--provider', 'cpu', '--model-threads', '1'];

  it('bench --json: NDJSON point events then a summary; JSON, CSV, Markdown, SVG and PNG outputs; resumes from its cache', async function () {
    this.timeout(120000);
    const out = join(tmp.path, 'out');
    const cache = join(tmp.path, 'cache.json');
    const args = ['bench', clip, '--machine', 'cifar', '--crf', '28,40', '--methods', 'x264,cam-roi,random', '--out', out, '--cache', cache, '--json', ...modelArgs];
    const r = await runCli(args);
    expect(r.code, r.stderr).to.equal(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // 3 methods x 2 CRFs + plain x264 at the reference CRF 12
    expect(events.map((e) => e.type)).to.deep.equal([...Array(7).fill('point'), 'summary']);
    const points = events.slice(0, 7).map((e) => e.point);
    expect(points[0]).to.include({ method: 'x264', crf: 12, reference: true, frames: 5, width: 320, height: 240 });
    expect(points.map((p) => `${p.method}@${p.crf}`).slice(1)).to.deep.equal(['x264@28', 'x264@40', 'cam-roi@28', 'cam-roi@40', 'random@28', 'random@40']);
    for (const p of points) {
      expect(p.bitrate_kbps).to.be.greaterThan(0);
      // Rates are the H.264 stream's: the file adds the MP4 container (and any audio).
      expect(p.video_bytes).to.be.greaterThan(0).and.lessThan(p.bytes);
      expect(p.bpp).to.be.closeTo((p.video_bytes * 8) / (p.frames * 320 * 240), 1e-12);
      expect(p.rca.regional.all).to.be.within(0, 1);
      expect(p.rca.per_classifier.regional.all).to.have.keys(['alexnet', 'vgg', 'resnet', 'densenet']);
      expect(p.rca.heldout.name).to.equal('mobilenet');
      expect(p.encode_fps).to.be.greaterThan(0);
      expect(p.analysis_fps === null).to.equal(p.method === 'x264');
    }
    // x264 at CRF 40 is smaller than at CRF 28
    expect(points[2].bytes).to.be.lessThan(points[1].bytes);

    const summary = events[7];
    expect(summary.ok).to.equal(true);
    expect(summary.summary.map((s: { method: string }) => s.method)).to.deep.equal(['x264', 'cam-roi', 'random']);
    expect(summary.per_clip).to.have.length(3);
    for (const row of summary.per_clip) {
      expect(row.bd_rate).to.have.keys(['regional_confident', 'global_confident', 'regional_all']);
      for (const kind of Object.keys(row.bd_rate)) {
        const v = row.bd_rate[kind];
        expect(v === null || Number.isFinite(v), `${row.method} ${kind}`).to.equal(true);
        expect(row.bd_rate_notes[kind]).to.be.a('string').and.not.equal('');
      }
      expect(row.knee).to.have.keys(['regional_confident', 'regional_all']);
    }

    const json = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8'));
    expect(Object.keys(json)).to.have.members(['schema', 'created', 'settings', 'clips', 'points', 'per_clip', 'summary', 'files']);
    expect(json.schema).to.equal('dmvjnd-bench/1');
    expect(json.points).to.have.length(7);
    expect(json.clips[0].noise_floor.crf).to.equal(12);
    expect(json.settings.crfs).to.deep.equal([28, 40]);
    for (const f of json.files) expect(existsSync(join(out, f)), f).to.equal(true);
    const csv = readFileSync(join(out, 'points.csv'), 'utf8').trim().split('\n');
    expect(csv).to.have.length(8);
    expect(csv[0]).to.match(/^clip,method,crf,reference,frames,/);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).to.match(/## Mean \(and median\) over clips[\s\S]*\| cam-roi \|/);
    const plot = json.files.find((f: string) => f.startsWith('plots/lavfi') && f.endsWith('.svg'));
    const svg = readFileSync(join(out, plot), 'utf8');
    expect(svg.startsWith('<svg')).to.equal(true);
    expect(svg).to.include('>random<');
    const png = await sharp(join(out, plot.replace(/\.svg$/, '.png'))).metadata();
    expect(png.format).to.equal('png');
    expect(png.width).to.be.greaterThan(800);

    // Second run: every point from the cache.
    const again = await runCli(args);
    expect(again.code, again.stderr).to.equal(0);
    const cachedFlags = again.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'point').map((e) => e.cached);
    expect(cachedFlags).to.deep.equal(Array(7).fill(true));

    // Points cached before video bytes were measured: re-encoded without verification and
    // completed only when the file comes out the same size; a point whose size differs is
    // measured afresh.
    const stored = JSON.parse(readFileSync(cache, 'utf8'));
    const keys = Object.keys(stored.points);
    for (const k of keys) delete stored.points[k].video_bytes;
    stored.points[keys[1]].bytes += 1;
    writeFileSync(cache, JSON.stringify(stored));
    const upgraded = await runCli(args);
    expect(upgraded.code, upgraded.stderr).to.equal(0);
    const pts = upgraded.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'point');
    expect(pts.map((e) => e.cached)).to.deep.equal([true, false, true, true, true, true, true]);
    for (const [i, e] of pts.entries()) expect(e.point.video_bytes, `point ${i}`).to.equal(points[i].video_bytes);
  });

  it('search --json finds the highest CRF meeting the target for x264 and a gain, and encodes the winner', async function () {
    this.timeout(120000);
    const output = join(tmp.path, 'winner.mp4');
    const r = await runCli([
      'search', clip, '--machine', 'cifar', '--min-rca', '0.5', '--samples', '1', '--sample-frames', '3', '--gains', '1', '--crf-range', '30,32',
      '--no-cache', '--encode', '-o', output, '--json', ...modelArgs,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout);
    expect(s.ok).to.equal(true);
    expect(s.samples).to.deep.equal([{ start: 1, frames: 3 }]);
    expect(s.candidates.map((c: { method: string }) => c.method)).to.deep.equal(['x264', 'dmv-jnd@1']);
    // RCA >= 0.5 holds at every CRF of a 3-frame sample: the search must end at the top of the range.
    expect(s.x264.crf).to.equal(32);
    expect(s.met).to.equal(true);
    expect(s.winner.crf).to.equal(32);
    expect(s.cache.dir).to.equal(null);
    expect(s.message).to.match(/^Cheapest setting meeting regional-confident RCA >= 50\.00%/);
    expect(s.encode.frames).to.equal(5);
    expect(existsSync(output)).to.equal(true);
  });
});
