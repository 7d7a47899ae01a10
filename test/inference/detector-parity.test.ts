import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSession, runSession } from '../../src/inference/onnx.ts';
import { MODELS_DIR } from '../helpers/models.ts';

interface Fixture {
  model: string;
  atol: number;
  /** Per-output relative tolerance (pixel outputs): |got - want| <= atol + rtol * |want|. */
  rtol?: Record<string, number>;
  cases: Array<{
    inputs: Record<string, { dims: number[]; data: number[] }>;
    outputs: Record<string, { dims: number[]; data: number[] }>;
  }>;
}

/**
 * The imported detectors (models/detectors/*.onnx, made by `npm run import:detectors`) run in
 * onnxruntime-node reproduce the torch module's outputs stored at import time
 * (models/detectors/parity/*.json, synthetic inputs) within 1e-4 (pixel outputs: 1e-4 + 1e-4 * |value|),
 * and detectors.json names the files with their sha256.
 */
describe('inference: detector ONNX parity with the torch import (stored fixtures)', () => {
  const dir = join(MODELS_DIR, 'detectors');
  const pdir = join(dir, 'parity');
  const files = existsSync(pdir) ? readdirSync(pdir).filter((f) => f.endsWith('.json')).sort() : [];
  if (files.length === 0) {
    it(`skipped: no detector parity fixtures in ${pdir} (run npm run import:detectors)`, function () {
      this.skip();
    });
    return;
  }

  it('detectors.json lists every model with the sha256 of its file', () => {
    const side = JSON.parse(readFileSync(join(dir, 'detectors.json'), 'utf8')) as {
      classes: string[];
      models: Record<string, { file: string; sha256: string }>;
    };
    expect(side.classes).to.have.length(80);
    expect(side.classes[0]).to.equal('person');
    for (const m of Object.values(side.models)) {
      const sum = createHash('sha256').update(readFileSync(join(dir, m.file))).digest('hex');
      expect(sum, m.file).to.equal(m.sha256);
    }
  });

  for (const file of files) {
    it(`${file.replace('.json', '.onnx')}: onnxruntime-node vs torch within tolerance`, async () => {
      const fx = JSON.parse(readFileSync(join(pdir, file), 'utf8')) as Fixture;
      expect(fx.atol).to.be.at.most(1e-4);
      const first = fx.cases[0];
      const loaded = await loadSession(
        { path: join(dir, fx.model), inputs: Object.keys(first.inputs), outputs: Object.keys(first.outputs) },
        { provider: 'cpu', threads: 1 },
      );
      try {
        for (const c of fx.cases) {
          const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, { data: Float32Array.from(v.data), dims: v.dims }]));
          const got = await runSession(loaded, feeds, Object.keys(c.outputs));
          for (const [k, v] of Object.entries(c.outputs)) {
            expect([...got[k].dims], k).to.deep.equal(v.dims);
            const rtol = fx.rtol?.[k] ?? 0;
            expect(rtol, k).to.be.at.most(1e-4);
            let worst = 0;
            let over = 0;
            for (let i = 0; i < v.data.length; i++) {
              const d = Math.abs(got[k].data[i] - v.data[i]);
              worst = Math.max(worst, d);
              if (!(d <= fx.atol + rtol * Math.abs(v.data[i]))) over++;
            }
            expect(over, `${k}: ${over} values out of tolerance (max abs diff ${worst})`).to.equal(0);
          }
        }
      } finally {
        await loaded.session.release();
      }
    });
  }
});
