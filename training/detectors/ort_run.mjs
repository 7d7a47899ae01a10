// Run an ONNX file with onnxruntime-node on raw float32 inputs (the import's torch-vs-ORT check).
//   node training/detectors/ort_run.mjs <model.onnx> <job.json> [threads=1]
// job.json: {"cases": [{"input": "in.bin", "dims": [1,3,H,W], "outputs": {"heatmap": "h.bin", ...}}]}
// The input name is the model's first input; outputs are written as raw little-endian float32.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const [modelPath, jobJson, threads = '1'] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'], intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all',
});
const job = JSON.parse(fs.readFileSync(jobJson, 'utf8'));
const jdir = path.dirname(jobJson);
for (const c of job.cases) {
  const raw = fs.readFileSync(path.join(jdir, c.input));
  const x = new ort.Tensor('float32', new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), c.dims);
  const res = await session.run({ [session.inputNames[0]]: x });
  for (const [name, file] of Object.entries(c.outputs)) {
    const t = res[name];
    fs.writeFileSync(path.join(jdir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.writeFileSync(path.join(jdir, file + '.dims.json'), JSON.stringify(Array.from(t.dims)));
  }
}
await session.release();
