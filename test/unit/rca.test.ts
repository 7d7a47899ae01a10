import { expect } from 'chai';
import {
  addCounts,
  decisionSetCounts,
  emptyCounts,
  meanFraction,
  rcaCounts,
  rcaFraction,
  softmaxTop1,
  summariseRca,
  type Decisions,
} from '../../src/metrics/rca.ts';

const decisions = (labels: number[], confidences: number[]): Decisions => ({
  labels: Int32Array.from(labels),
  confidences: Float32Array.from(confidences),
});

describe('metrics/rca', () => {
  it('takes the softmax top-1 per row, stably and with ties to the lowest class', () => {
    // Row 0: logits [0, ln 3] -> p = [1/4, 3/4]; row 1: equal logits -> class 0 at 1/2;
    // row 2: huge logits that would overflow exp() without the max shift.
    const logits = Float32Array.from([0, Math.log(3), 5, 5, 1000, 999]);
    const top = softmaxTop1(logits, 2, 3);
    expect(Array.from(top.labels)).to.deep.equal([1, 0, 0]);
    expect(top.confidences[0]).to.be.closeTo(0.75, 1e-6);
    expect(top.confidences[1]).to.be.closeTo(0.5, 1e-6);
    expect(top.confidences[2]).to.be.closeTo(1 / (1 + Math.exp(-1)), 1e-6);
    // Three classes, hand value: [1, 2, 3] -> p(3) = e^0 / (e^-2 + e^-1 + 1).
    const three = softmaxTop1(Float32Array.from([1, 2, 3]), 3, 1);
    expect(three.labels[0]).to.equal(2);
    expect(three.confidences[0]).to.be.closeTo(1 / (Math.exp(-2) + Math.exp(-1) + 1), 1e-6);
  });

  it('rejects logits of the wrong length or non-finite logits', () => {
    expect(() => softmaxTop1(new Float32Array(5), 2, 3)).to.throw(RangeError, /Expected 6 logits for 3 rows of 2 classes but received 5/);
    expect(() => softmaxTop1(Float32Array.from([Number.NaN, 1]), 2, 1)).to.throw(/finite logits/);
    expect(() => softmaxTop1(Float32Array.from([1, Number.NaN]), 2, 1)).to.throw(/finite logits/);
  });

  it('counts agreement over all decisions and over confident reference decisions', () => {
    const reference = decisions([1, 2, 3, 4, 5], [0.9, 0.4, 0.5, 0.8, 0.2]);
    const test = decisions([1, 0, 3, 0, 5], [0.1, 0.1, 0.1, 0.1, 0.1]); // test confidences do not matter
    const counts = rcaCounts(reference, test, 0.5);
    // Confident (>= 0.5): indices 0, 2, 3 -> agree at 0 and 2.
    expect(counts).to.deep.equal({ all: { agree: 3, total: 5 }, confident: { agree: 2, total: 3 } });
    expect(rcaFraction(counts.all)).to.equal(0.6);
    expect(rcaFraction(counts.confident)).to.be.closeTo(2 / 3, 1e-12);
    // tau above every confidence: nothing confident -> null, not NaN.
    const none = rcaCounts(reference, test, 0.95);
    expect(none.confident).to.deep.equal({ agree: 0, total: 0 });
    expect(rcaFraction(none.confident)).to.equal(null);
  });

  it('accumulates counts over frames', () => {
    const frame1 = rcaCounts(decisions([1, 1], [0.9, 0.1]), decisions([1, 2], [0, 0]), 0.5);
    const frame2 = rcaCounts(decisions([3], [0.7]), decisions([4], [0]), 0.5);
    const total = [frame1, frame2].reduce(addCounts, emptyCounts());
    expect(total).to.deep.equal({ all: { agree: 1, total: 3 }, confident: { agree: 1, total: 2 } });
    expect(frame1).to.deep.equal({ all: { agree: 1, total: 2 }, confident: { agree: 1, total: 1 } }); // not mutated
  });

  it('counts global and regional decisions separately', () => {
    const reference = { global: decisions([7], [0.6]), regional: decisions([1, 2], [0.9, 0.9]) };
    const test = { global: decisions([8], [0.6]), regional: decisions([1, 2], [0.9, 0.9]) };
    const counts = decisionSetCounts(reference, test, 0.5);
    expect(counts.global).to.deep.equal({ all: { agree: 0, total: 1 }, confident: { agree: 0, total: 1 } });
    expect(counts.regional).to.deep.equal({ all: { agree: 2, total: 2 }, confident: { agree: 2, total: 2 } });
  });

  it('averages per-classifier fractions with equal weight (Eq. 17), skipping classifiers with none', () => {
    const summary = summariseRca({
      a: { all: { agree: 9, total: 10 }, confident: { agree: 1, total: 1 } },
      b: { all: { agree: 50, total: 100 }, confident: { agree: 0, total: 0 } },
    });
    expect(summary.perClassifier.a).to.deep.equal({ all: 0.9, confident: 1 });
    expect(summary.perClassifier.b).to.deep.equal({ all: 0.5, confident: null });
    expect(summary.mean.all).to.be.closeTo(0.7, 1e-12); // not the pooled 59/110
    expect(summary.mean.confident).to.equal(1);
    expect(meanFraction([null, null])).to.equal(null);
    expect(summariseRca({}).mean).to.deep.equal({ all: null, confident: null });
  });

  it('rejects decision lists of different lengths', () => {
    expect(() => rcaCounts(decisions([1, 2], [1, 1]), decisions([1], [1]), 0.5)).to.throw(
      RangeError,
      /Expected 2 test decisions to match the reference but received 1/,
    );
    expect(() => rcaCounts(decisions([1], [1]), decisions([1], [1]), Number.NaN)).to.throw(/tau/);
  });
});
