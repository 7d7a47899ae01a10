// onnxruntime-node check of an exported detector-JND model: parity against the stored PyTorch
// outputs and latency at the given sizes, 1 thread (or argv[4]).
//   node training/detector_jnd/ort_check.mjs <model.onnx> <parity.json> <sizes e.g. 512,384,256> [threads=1]
// Prints one JSON line: {"max_abs_diff": ..., "latency_ms": {"512": median, ...}}.
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';

const [modelPath, parityPath, sizesArg = '512', threads = '1'] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'], intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all',
});
const parity = JSON.parse(fs.readFileSync(parityPath, 'utf8'));
let maxDiff = 0;
for (const c of parity.cases) {
  const feeds = {};
  for (const [k, v] of Object.entries(c.inputs)) feeds[k] = new ort.Tensor('float32', Float32Array.from(v.data), v.dims);
  const res = await session.run(feeds);
  const want = c.outputs.jnd.data;
  const got = res.jnd.data;
  if (got.length !== want.length) throw new Error(`size mismatch ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
}
const latency = {};
for (const s of sizesArg.split(',').map(Number)) {
  const x = new ort.Tensor('float32', new Float32Array(3 * s * s).map((_, i) => (i % 251) / 251), [1, 3, s, s]);
  const g = new ort.Tensor('float32', new Float32Array(s * s).map((_, i) => (i % 97) / 97), [1, 1, s, s]);
  const times = [];
  for (let r = 0; r < 12; r++) {
    const t0 = process.hrtime.bigint();
    await session.run({ x, guidance: g });
    if (r >= 2) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  latency[s] = { median: +times[times.length >> 1].toFixed(2), min: +times[0].toFixed(2) };
}
console.log(JSON.stringify({ max_abs_diff: maxDiff, atol: parity.atol, threads: Number(threads), latency_ms: latency }));
await session.release();
