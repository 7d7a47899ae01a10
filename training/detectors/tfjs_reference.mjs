// Independent reference: run a tfjs graph model with @tensorflow/tfjs (pure-JS CPU backend).
//   node training/detectors/tfjs_reference.mjs <tfjs-prefix> <model.json> <job.json>
// <tfjs-prefix>: folder where `npm install --prefix <it> @tensorflow/tfjs` put node_modules
// (a cache folder, never this project's dependencies). job.json:
//   {"cases": [{"input": "in.bin", "dims": [1,512,512,3], "outputs": {"tower_0/wh": "wh.bin", ...}}]}
// Inputs and outputs are raw little-endian float32, row-major in the graph's own layout.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [prefix, modelJson, jobJson] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), 'node_modules', 'x.js'));
const tf = require('@tensorflow/tfjs');
await tf.setBackend('cpu');
const j = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
const dir = path.dirname(modelJson);
const shards = j.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
const buf = Buffer.concat(shards);
const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
const model = await tf.loadGraphModel(tf.io.fromMemory({
  modelTopology: j.modelTopology, weightSpecs: j.weightsManifest.flatMap((g) => g.weights), weightData,
  format: j.format, generatedBy: j.generatedBy, convertedBy: j.convertedBy, signature: j.signature,
}));
const job = JSON.parse(fs.readFileSync(jobJson, 'utf8'));
const jdir = path.dirname(jobJson);
for (const c of job.cases) {
  const raw = fs.readFileSync(path.join(jdir, c.input));
  const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), c.dims, 'float32');
  const names = Object.keys(c.outputs);
  const t0 = Date.now();
  let outs = model.execute(x, names);
  if (!Array.isArray(outs)) outs = [outs];
  for (let i = 0; i < names.length; i++) {
    const data = await outs[i].data();
    fs.writeFileSync(path.join(jdir, c.outputs[names[i]]), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    fs.writeFileSync(path.join(jdir, c.outputs[names[i]] + '.dims.json'), JSON.stringify(outs[i].shape));
  }
  console.log(`[tfjs] ${path.basename(modelJson)} ${c.input}: ${Date.now() - t0} ms (tfjs ${tf.version.tfjs}, backend ${tf.getBackend()})`);
  tf.dispose([x, ...outs]);
}
