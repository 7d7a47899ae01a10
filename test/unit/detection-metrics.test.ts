import { expect } from 'chai';
import type { Detection } from '../../src/machines/types.ts';
import {
  DEFAULT_DETECTION_MATCH,
  DetectionTally,
  detectionSummary,
  frameDisagreements,
  iou,
  matchFrame,
  vocAveragePrecision,
} from '../../src/metrics/detection.ts';

/** A detection on the strip y in [0, 10]: only x matters for IoU (1D overlap / union). */
const strip = (x1: number, x2: number, score: number, cls = 0): Detection => ({ cls, score, box: { x1, y1: 0, x2, y2: 10 } });
const at = (x: number, score: number, cls = 0): Detection => strip(x, x + 10, score, cls);
const band = DEFAULT_DETECTION_MATCH; // iou 0.5, high 0.35, low 0.25, same class

describe('metrics/detection', () => {
  it('computes IoU, 0 for disjoint, touching or empty boxes', () => {
    const a = { x1: 0, y1: 0, x2: 10, y2: 10 };
    expect(iou(a, a)).to.equal(1);
    expect(iou(a, { x1: 5, y1: 0, x2: 15, y2: 10 })).to.be.closeTo(50 / 150, 1e-12);
    expect(iou(a, { x1: 5, y1: 5, x2: 15, y2: 15 })).to.be.closeTo(25 / 175, 1e-12);
    expect(iou(a, { x1: 10, y1: 0, x2: 20, y2: 10 })).to.equal(0); // touching edge
    expect(iou(a, { x1: 30, y1: 30, x2: 40, y2: 40 })).to.equal(0);
    expect(iou({ x1: 1, y1: 1, x2: 1, y2: 1 }, { x1: 1, y1: 1, x2: 1, y2: 1 })).to.equal(0);
  });

  it('gives F1 1 and mAP 1 on identical sets', () => {
    const dets = [at(0, 0.9), at(100, 0.5, 2), at(200, 0.36, 7)];
    const tally = new DetectionTally(band);
    const counts = tally.add(dets, dets);
    expect({ ...counts, perClass: undefined }).to.deep.equal({
      tp: 3, fp: 0, fn: 0, refObjects: 3, matchedSameClass: 3, matchedAnyClass: 3, perClass: undefined,
    });
    const s = tally.summary();
    expect(s.f1).to.equal(1);
    expect(s.precision).to.equal(1);
    expect(s.recall).to.equal(1);
    expect(s.map50).to.equal(1);
    expect(s.map50_weighted).to.equal(1);
    expect(s.class_agreement).to.equal(1);
    expect(s.reference_objects).to.equal(3);
    expect(s.per_class['2']).to.deep.equal({ reference: 1, tp: 1, fp: 0, fn: 0, ap50: 1 });
    expect(detectionSummary(tally)).to.deep.equal(s);
  });

  it('counts a missed object as FN and an extra one as FP', () => {
    const ref = [at(0, 0.9), at(100, 0.8)];
    const missed = matchFrame(ref, [at(1, 0.9)], band);
    expect([missed.tp, missed.fp, missed.fn, missed.refObjects]).to.deep.equal([1, 0, 1, 2]);
    const extra = matchFrame(ref, [at(0, 0.9), at(100, 0.8), at(300, 0.6)], band);
    expect([extra.tp, extra.fp, extra.fn]).to.deep.equal([2, 1, 0]);

    const tally = new DetectionTally(band);
    tally.add(ref, [at(1, 0.9)]); // F1 = 2 / (2 + 0 + 1)
    expect(tally.summary().f1).to.be.closeTo(2 / 3, 1e-12);
    expect(tally.summary().recall).to.equal(0.5);
    tally.add(ref, [at(0, 0.9), at(100, 0.8), at(300, 0.6)]); // totals tp 3, fp 1, fn 1
    const s = tally.summary();
    expect([s.tp, s.fp, s.fn, s.frames]).to.deep.equal([3, 1, 1, 2]);
    expect(s.f1).to.be.closeTo(6 / 8, 1e-12);
    expect(s.precision).to.equal(0.75);
    expect(s.reference_objects_per_frame).to.equal(2);
  });

  it('names the missed reference objects and the made-up detections (frameDisagreements), as matchFrame counts them', () => {
    // A found (1), B missed (100), C uncertain in the reference (200: neither), D made up (300), E under high (400: no FP).
    const ref = [at(0, 0.9), at(100, 0.8), at(200, 0.3)];
    const test = [at(1, 0.9), at(201, 0.5), at(300, 0.6), at(400, 0.3)];
    const d = frameDisagreements(ref, test, band);
    expect(d.lost).to.deep.equal([at(100, 0.8)]);
    expect(d.spurious).to.deep.equal([at(300, 0.6)]);
    const c = matchFrame(ref, test, band);
    expect([c.fn, c.fp]).to.deep.equal([d.lost.length, d.spurious.length]);
    // Another class at the same place is both lost and made up.
    expect(frameDisagreements([at(0, 0.9)], [at(0, 0.9, 3)], band)).to.deep.equal({ lost: [at(0, 0.9)], spurious: [at(0, 0.9, 3)] });
    expect(frameDisagreements(ref, ref, band)).to.deep.equal({ lost: [], spurious: [] });
  });

  it('separates relabelled objects through the class-agnostic match (class agreement)', () => {
    const ref = [at(0, 0.9, 15), at(100, 0.9, 2)]; // cat, car
    const test = [at(0, 0.9, 16), at(100, 0.9, 2)]; // cat -> dog
    const counts = matchFrame(ref, test, band);
    expect([counts.tp, counts.fp, counts.fn]).to.deep.equal([1, 1, 1]);
    expect([counts.matchedSameClass, counts.matchedAnyClass]).to.deep.equal([1, 2]);
    expect(counts.perClass.get(15)).to.deep.equal({ reference: 1, tp: 0, fp: 0, fn: 1 });
    expect(counts.perClass.get(16)).to.deep.equal({ reference: 0, tp: 0, fp: 1, fn: 0 });
    const tally = new DetectionTally(band);
    tally.add(ref, test);
    expect(tally.summary().class_agreement).to.equal(0.5);
    // Ignoring class in the F1 matching turns the swap into a TP (attributed to the reference class).
    const anyClass = matchFrame(ref, test, { ...band, sameClass: false });
    expect([anyClass.tp, anyClass.fp, anyClass.fn]).to.deep.equal([2, 0, 0]);
    expect(anyClass.perClass.get(15)!.tp).to.equal(1);
  });

  it('applies the score hysteresis band [low, high)', () => {
    const pick = (c: ReturnType<typeof matchFrame>) => [c.tp, c.fp, c.fn, c.refObjects];
    // Reference object at 0.4; test at 0.3 is inside the band: still found.
    expect(pick(matchFrame([at(0, 0.4)], [at(0, 0.3)], band))).to.deep.equal([1, 0, 0, 1]);
    // Test at 0.2 fell through the band: a miss (and not an FP).
    expect(pick(matchFrame([at(0, 0.4)], [at(0, 0.2)], band))).to.deep.equal([0, 0, 1, 1]);
    // Reference at 0.3 is uncertain: losing it is no FN...
    expect(pick(matchFrame([at(0, 0.3)], [], band))).to.deep.equal([0, 0, 0, 0]);
    // ...and a test detection at 0.5 matched to it is no FP (nor TP).
    expect(pick(matchFrame([at(0, 0.3)], [at(0, 0.5)], band))).to.deep.equal([0, 0, 0, 0]);
    // An unmatched test detection inside the band is ignored; at or above high it is an FP.
    expect(pick(matchFrame([], [at(0, 0.3)], band))).to.deep.equal([0, 0, 0, 0]);
    expect(pick(matchFrame([], [at(0, 0.35)], band))).to.deep.equal([0, 1, 0, 0]);
    // A reference below low does not exist for the band: the test at 0.5 crossed it, an FP.
    expect(pick(matchFrame([at(0, 0.2)], [at(0, 0.5)], band))).to.deep.equal([0, 1, 0, 0]);
    // Edges: a reference exactly at high is an object; a test exactly at low can match.
    expect(pick(matchFrame([at(0, 0.35)], [at(0, 0.25)], band))).to.deep.equal([1, 0, 0, 1]);
  });

  it('matches greedily by descending test score, taking the highest IoU', () => {
    // A = [0, 10], B = [5, 15]. T1 = [2, 12]: IoU(A) = 8/12 = 0.67, IoU(B) = 7/13 = 0.54.
    // T2 = [0, 9]: IoU(A) = 9/10, IoU(B) = 4/15 (below 0.5).
    const ref = [strip(0, 10, 0.9), strip(5, 15, 0.9)];
    // T1 first (0.9): takes A; T2 (0.5) finds A taken and B too far -> FP, B -> FN.
    const t1First = matchFrame(ref, [strip(0, 9, 0.5), strip(2, 12, 0.9)], band);
    expect([t1First.tp, t1First.fp, t1First.fn]).to.deep.equal([1, 1, 1]);
    // T2 first (0.9): takes A; T1 (0.5) takes B -> both found, whatever the input order.
    const t2First = matchFrame(ref, [strip(2, 12, 0.5), strip(0, 9, 0.9)], band);
    expect([t2First.tp, t2First.fp, t2First.fn]).to.deep.equal([2, 0, 0]);
    // IoU threshold is inclusive: [0, 10] vs [0, 5] is exactly 0.5.
    expect(matchFrame([strip(0, 10, 0.9)], [strip(0, 5, 0.9)], band).tp).to.equal(1);
  });

  it('prefers a reference object over an uncertain one, whatever their IoUs', () => {
    // Object O = [0, 10] at 0.8, uncertain U = [1, 11] at 0.3; T = [1, 11]: IoU(U) = 1, IoU(O) = 9/11.
    const counts = matchFrame([strip(0, 10, 0.8), strip(1, 11, 0.3)], [strip(1, 11, 0.7)], band);
    expect([counts.tp, counts.fp, counts.fn]).to.deep.equal([1, 0, 0]);
  });

  it('handles empty frames: nothing to find and nothing invented is F1 1', () => {
    const tally = new DetectionTally(band);
    expect(tally.summary()).to.deep.include({ f1: 1, frames: 0, reference_objects_per_frame: null, map50: null });
    const counts = tally.add([], []);
    expect([counts.tp, counts.fp, counts.fn, counts.refObjects]).to.deep.equal([0, 0, 0, 0]);
    tally.add([at(0, 0.3)], [at(50, 0.3)]); // only band-level detections: still nothing
    const s = tally.summary();
    expect(s).to.deep.include({
      f1: 1,
      precision: null,
      recall: null,
      map50: null,
      map50_weighted: null,
      class_agreement: null,
      reference_objects: 0,
      reference_objects_per_frame: 0,
      frames: 2,
    });
    expect(s.per_class).to.deep.equal({});
    // Only invented objects: F1 0.
    tally.add([], [at(0, 0.9)]);
    expect(tally.summary().f1).to.equal(0);
    expect(tally.summary().precision).to.equal(0);
  });

  it('computes VOC all-point AP with the monotone precision envelope', () => {
    // 3 GT, 5 ranked predictions TP FP TP FP TP:
    //   rank:      1    2    3    4    5
    //   recall:   1/3  1/3  2/3  2/3   1
    //   precision: 1   1/2  2/3  1/2  3/5
    // Envelope at recall 1/3 -> 1, at 2/3 -> 2/3, at 1 -> 3/5.
    // AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/5 = (15 + 10 + 9) / 45 = 34/45.
    expect(vocAveragePrecision([1, 0, 1, 0, 1], 3)).to.be.closeTo(34 / 45, 1e-12);
    expect(vocAveragePrecision([true, false], 2)).to.equal(0.5); // half the GT never found
    expect(vocAveragePrecision([0, 0, 1], 1)).to.be.closeTo(1 / 3, 1e-12);
    expect(vocAveragePrecision([], 2)).to.equal(0);
    expect(vocAveragePrecision([0, 1], 0)).to.equal(null);
    expect(() => vocAveragePrecision([1, 1], 1)).to.throw(RangeError, /at most 1 true positives/);
  });

  it('ranks predictions across frames for mAP@0.5, with uncertain references as ignore regions', () => {
    const tally = new DetectionTally(band);
    // Frame A: GT g1 at 0, g2 at 100; predictions 0.9 on g1 (TP), 0.8 elsewhere (FP), 0.5 on g2 (TP).
    tally.add([at(0, 0.9), at(100, 0.9)], [at(0, 0.9), at(300, 0.8), at(100, 0.5)]);
    // Frame B: GT g3 at 0; 0.7 on g3 (TP), 0.6 elsewhere (FP); 0.65 on an uncertain reference (ignored).
    tally.add([at(0, 0.9), at(500, 0.3)], [at(0, 0.7), at(300, 0.6), at(500, 0.65)]);
    // Ranking 0.9 TP, 0.8 FP, 0.7 TP, 0.6 FP, 0.5 TP over 3 GT: AP = 34/45 (see above).
    const s = tally.summary();
    expect(s.map50).to.be.closeTo(34 / 45, 1e-12);
    expect(s.per_class['0'].ap50).to.be.closeTo(34 / 45, 1e-12);
    // F1 counts the same frames: tp 3, fp 2 (0.8 and 0.6), fn 0, the 0.65 on the uncertain one ignored.
    expect([s.tp, s.fp, s.fn]).to.deep.equal([3, 2, 0]);
  });

  it('uses every test detection for mAP, also those below the band', () => {
    const tally = new DetectionTally(band);
    // The only prediction on the object is at 0.1: no TP for F1, but the AP still finds it
    // (after one FP at 0.9): ranking FP TP over 1 GT -> AP = 1/2.
    tally.add([at(0, 0.9)], [at(200, 0.9), at(0, 0.1)]);
    const s = tally.summary();
    expect([s.tp, s.fp, s.fn]).to.deep.equal([0, 1, 1]);
    expect(s.map50).to.equal(0.5);
  });

  it('weights mAP by the classes’ reference counts in map50_weighted', () => {
    const tally = new DetectionTally(band);
    // Class 0: the 34/45 case above (3 GT). Class 1: one GT, never found -> AP 0.
    tally.add([at(0, 0.9), at(100, 0.9), at(700, 0.9, 1)], [at(0, 0.9), at(300, 0.8), at(100, 0.5)]);
    tally.add([at(0, 0.9)], [at(0, 0.7), at(300, 0.6)]);
    const s = tally.summary();
    expect(s.per_class['1']).to.deep.equal({ reference: 1, tp: 0, fp: 0, fn: 1, ap50: 0 });
    expect(s.map50).to.be.closeTo(34 / 45 / 2, 1e-12); // (34/45 + 0) / 2 = 17/45
    expect(s.map50_weighted).to.be.closeTo(((34 / 45) * 3) / 4, 1e-12); // 17/30
    // Predictions of a class without reference objects do not enter the mAP.
    tally.add([], [at(0, 0.9, 5)]);
    expect(tally.summary().map50).to.be.closeTo(17 / 45, 1e-12);
    expect(tally.summary().per_class['5']).to.deep.equal({ reference: 0, tp: 0, fp: 1, fn: 0, ap50: null });
  });

  it('rejects bad options and detections', () => {
    expect(() => new DetectionTally({ ...band, low: 0.5, high: 0.3 })).to.throw(RangeError, /low <= high/);
    expect(() => matchFrame([], [], { ...band, iou: 0 })).to.throw(RangeError, /Expected a match IoU in \(0, 1\] but received 0/);
    expect(() => matchFrame([{ cls: 1.5, score: 1, box: { x1: 0, y1: 0, x2: 1, y2: 1 } }], [], band)).to.throw(
      RangeError,
      /integer class for reference detection 0/,
    );
    expect(() => matchFrame([], [{ cls: 1, score: 1, box: { x1: 2, y1: 0, x2: 1, y2: 1 } }], band)).to.throw(
      RangeError,
      /x1 <= x2 and y1 <= y2 for test detection 0/,
    );
    expect(() => matchFrame([], [at(0, Number.NaN)], band)).to.throw(RangeError, /finite score/);
  });
});
