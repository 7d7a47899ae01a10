import { expect } from 'chai';
import { DEFAULT_DETECTOR_STRIDE, DEFAULT_JND, jndSettingsFor } from '../../src/pipeline.ts';

describe('jndSettingsFor (the run settings of encode, bench and search)', () => {
  it('takes the detector stride for detector offsets, the CIFAR one otherwise, and lets defined settings win', () => {
    expect(jndSettingsFor(true).analysisStride).to.equal(DEFAULT_DETECTOR_STRIDE);
    expect(jndSettingsFor(false).analysisStride).to.equal(DEFAULT_JND.analysisStride);
    const s = jndSettingsFor(true, { precision: 'float32', analysisStride: undefined }, { analysisStride: 4 }, undefined);
    expect(s).to.deep.equal({ ...DEFAULT_JND, precision: 'float32', analysisStride: 4 });
    expect(jndSettingsFor(true, { analysisStride: undefined }).analysisStride).to.equal(DEFAULT_DETECTOR_STRIDE);
  });
});
