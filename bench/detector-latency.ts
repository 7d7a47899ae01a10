/**
 * Benchmark (not a test): latency of the imported detectors (models/detectors/*.onnx) in
 * onnxruntime-node on CPU, batch 1, for a few analysis sizes and thread counts. Each
 * (model, size, threads) gets its own session, 3 warm-up runs, then the median of --runs runs
 * (random 0..255 input; the models' cost does not depend on the pixel values).
 *
 *   npx tsx bench/detector-latency.ts [--runs 10] [--json]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { MODELS_DIR } from '../test/helpers/models.ts';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 10) || 10;
const json = args.includes('--json');
const dir = join(MODELS_DIR, 'detectors');
const side = JSON.parse(readFileSync(join(dir, 'detectors.json'), 'utf8')) as { models: Record<string, { file: string }> };

const plan: Array<[string, number[]]> = [
  ['centernet', [512, 384, 320]],
  ['nanodet', [416, 320]],
];
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows: Array<{ model: string; size: number; threads: number; median_ms: number; min_ms: number }> = [];
for (const [model, sizes] of plan) {
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(join(dir, side.models[model].file), {
      executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    });
    for (const size of sizes) {
      const data = new Float32Array(3 * size * size);
      for (let i = 0; i < data.length; i++) data[i] = Math.floor(Math.random() * 256);
      const feeds = { image: new ort.Tensor('float32', data, [1, 3, size, size]) };
      for (let i = 0; i < 3; i++) await session.run(feeds);
      const t: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        t.push(performance.now() - t0);
      }
      rows.push({ model, size, threads, median_ms: Number(median(t).toFixed(1)), min_ms: Number(Math.min(...t).toFixed(1)) });
    }
    await session.release();
  }
}
if (json) console.log(JSON.stringify(rows, null, 1));
else {
  console.log(`onnxruntime-node ${ort.env.versions?.common ?? ''}, median of ${runs} runs after 3 warm-up, batch 1, CPU`);
  console.log('| model | input | 1 thread ms | 2 threads ms |');
  console.log('|---|---|---|---|');
  for (const [model, sizes] of plan) {
    for (const size of sizes) {
      const r = (n: number) => rows.find((x) => x.model === model && x.size === size && x.threads === n)?.median_ms;
      console.log(`| ${model} | ${size}x${size} | ${r(1)} | ${r(2)} |`);
    }
  }
}
