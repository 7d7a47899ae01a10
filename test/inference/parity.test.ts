import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSession, runSession } from '../../src/inference/onnx.ts';
import { MODELS_DIR } from '../helpers/models.ts';

interface Fixture {
  model: string;
  atol: number;
  cases: Array<{
    inputs: Record<string, { dims: number[]; data: number[] }>;
    outputs: Record<string, { dims: number[]; data: number[] }>;
  }>;
}

/**
 * The exported ONNX files, run through our own onnxruntime-node adapter, reproduce the
 * PyTorch outputs stored at export time (models/parity/*.json) within 1e-4.
 */
describe('inference: ONNX parity with PyTorch (stored fixtures)', () => {
  const dir = join(MODELS_DIR, 'parity');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
  if (files.length === 0) {
    it(`skipped: no parity fixtures in ${dir} (run npm run export)`, function () {
      this.skip();
    });
    return;
  }
  for (const file of files) {
    it(`${file.replace('.json', '.onnx')}: max abs diff < atol`, async () => {
      const fx = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Fixture;
      expect(fx.atol).to.be.at.most(1e-4);
      const first = fx.cases[0];
      const loaded = await loadSession(
        { path: join(MODELS_DIR, fx.model), inputs: Object.keys(first.inputs), outputs: Object.keys(first.outputs) },
        { provider: 'cpu', threads: 1 },
      );
      try {
        let worst = 0;
        for (const c of fx.cases) {
          const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, { data: Float32Array.from(v.data), dims: v.dims }]));
          const got = await runSession(loaded, feeds, Object.keys(c.outputs));
          for (const [k, v] of Object.entries(c.outputs)) {
            expect([...got[k].dims]).to.deep.equal(v.dims);
            for (let i = 0; i < v.data.length; i++) worst = Math.max(worst, Math.abs(got[k].data[i] - v.data[i]));
          }
        }
        expect(worst).to.be.below(fx.atol);
      } finally {
        await loaded.session.release();
      }
    });
  }
});
