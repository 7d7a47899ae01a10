import { expect } from 'chai';
import { AnalysisMemo } from '../../src/analysis/analyser.ts';
import type { ModelSet } from '../../src/inference/models.ts';

const models = { dir: '/models' } as ModelSet;
const entry = () => ({ cam: { view: { width: 8, height: 8 }, rgb: new Uint8Array(0), x: new Float32Array(0), mergedCam: new Float32Array(0) } });

describe('AnalysisMemo', () => {
  it('keeps one input by default and drops it when another input is analysed', () => {
    const memo = new AnalysisMemo();
    memo.scope('a.mp4', 128, models).set('0', entry());
    expect(memo.scope('a.mp4', 128, models).size).to.equal(1);
    expect(memo.scope('b.mp4', 128, models).size).to.equal(0);
    expect(memo.scope('a.mp4', 128, models).size).to.equal(0);
  });

  it('keeps the N most recently used inputs, and separates views and model sets', () => {
    const memo = new AnalysisMemo(2);
    memo.scope('a', 128, models).set('0', entry());
    memo.scope('b', 128, models).set('0', entry());
    expect(memo.scope('a', 128, models).size, 'a still kept').to.equal(1);
    memo.scope('c', 128, models).set('0', entry()); // evicts b, the least recently used
    expect(memo.scope('a', 128, models).size).to.equal(1);
    expect(memo.scope('b', 128, models).size).to.equal(0);
    expect(memo.scope('a', 96, models).size, 'another view').to.equal(0);
    expect(memo.scope('a', 128, { dir: '/other' } as ModelSet).size, 'other models').to.equal(0);
  });
});
