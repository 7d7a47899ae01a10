// Parity check of exported ONNX models against stored PyTorch outputs, with onnxruntime-node.
//   node training/parity_check.mjs [modelsDir=models]
// Reads <dir>/parity/*.json (format: see training/export.py) and runs <dir>/<model>.
// Exit 1 if any max abs diff >= atol; exit 0 with a message if onnxruntime-node is missing.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] || 'models';
let ort;
try {
  ort = await import('onnxruntime-node');
} catch (e) {
  console.log(`[parity] onnxruntime-node not available (${e.message.split('\n')[0]}): skipped`);
  process.exit(0);
}
const pdir = path.join(dir, 'parity');
const files = fs.existsSync(pdir) ? fs.readdirSync(pdir).filter((f) => f.endsWith('.json')).sort() : [];
if (files.length === 0) {
  console.error(`[parity] no fixtures in ${pdir}`);
  process.exit(1);
}
let failed = false;
for (const f of files) {
  const fx = JSON.parse(fs.readFileSync(path.join(pdir, f), 'utf8'));
  const sess = await ort.InferenceSession.create(path.join(dir, fx.model), { executionProviders: ['cpu'] });
  let worst = 0;
  for (const c of fx.cases) {
    const feeds = {};
    for (const [k, v] of Object.entries(c.inputs)) feeds[k] = new ort.Tensor('float32', Float32Array.from(v.data), v.dims);
    const res = await sess.run(feeds);
    for (const [k, v] of Object.entries(c.outputs)) {
      const got = res[k];
      if (JSON.stringify(Array.from(got.dims)) !== JSON.stringify(v.dims)) throw new Error(`${f} ${k}: dims ${got.dims} vs ${v.dims}`);
      for (let i = 0; i < v.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - v.data[i]));
    }
  }
  const ok = worst < fx.atol;
  failed ||= !ok;
  console.log(`[parity] ${fx.model}: ${fx.cases.length} cases, max abs diff ${worst.toExponential(2)} ${ok ? 'OK' : 'FAIL'} (atol ${fx.atol})`);
}
process.exit(failed ? 1 : 0);
