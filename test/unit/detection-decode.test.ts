import { expect } from 'chai';
import { DmvjndError } from '../../src/errors.ts';
import type { Detection } from '../../src/machines/types.ts';
import {
  centernetDetections,
  classMaxHeatmap,
  detectYoloLayout,
  letterbox,
  nms,
  yoloDetections,
} from '../../src/machines/detection-decode.ts';

const det = (x1: number, y1: number, x2: number, y2: number, score: number, cls = 0): Detection => ({
  cls,
  score,
  box: { x1, y1, x2, y2 },
});

describe('machines/detection-decode', () => {
  describe('CenterNet', () => {
    // 2 classes on a 4x4 grid for a 16x16 input (stride 4), frame 32x24 (x * 2, y * 1.5).
    const dims = { classes: 2, height: 4, width: 4 };
    const plane = 16;
    const heatmap = new Float32Array(2 * plane);
    heatmap[1 * 4 + 1] = 0.8; // class 0, peak at (r 1, c 1)
    heatmap[1 * 4 + 2] = 0.6; // its neighbour: above the floor but not a 3x3 maximum
    heatmap[plane + 2 * 4 + 3] = 0.5; // class 1, peak at (r 2, c 3) on the right edge
    heatmap[plane + 0] = 0.05; // class 1, a local maximum below the floor
    const wh = new Float32Array(4 * plane);
    const setWh = (cell: number, l: number, t: number, r: number, b: number): void => {
      [l, t, r, b].forEach((v, k) => (wh[k * plane + cell] = v));
    };
    setWh(1 * 4 + 1, 2, 3, 4, 5);
    setWh(1 * 4 + 2, 1, 1, 1, 1);
    setWh(2 * 4 + 3, 1, 1, 10, 10);
    const opts = { inputWidth: 16, inputHeight: 16, frameWidth: 32, frameHeight: 24, floor: 0.1 };

    it('finds 3x3 peaks above the floor and builds boxes in frame pixels', () => {
      const dets = centernetDetections(heatmap, wh, dims, opts);
      expect(dets).to.have.length(2);
      // (1, 1): cx = cy = 4; input box [4-2, 4-3, 4+4, 4+5] = [2, 1, 8, 9] -> frame [4, 1.5, 16, 13.5].
      expect(dets[0].cls).to.equal(0);
      expect(dets[0].score).to.be.closeTo(0.8, 1e-6);
      expect(dets[0].box).to.deep.equal({ x1: 4, y1: 1.5, x2: 16, y2: 13.5 });
      // (2, 3): cx = 12, cy = 8; input [11, 7, 22, 18] -> frame [22, 10.5, 44, 27], clipped to 32x24.
      expect(dets[1].cls).to.equal(1);
      expect(dets[1].score).to.equal(0.5);
      expect(dets[1].box).to.deep.equal({ x1: 22, y1: 10.5, x2: 32, y2: 24 });
    });

    it('keeps the top maxDetections and both of two equal neighbours', () => {
      expect(centernetDetections(heatmap, wh, dims, { ...opts, maxDetections: 1 }).map((d) => d.cls)).to.deep.equal([0]);
      const flat = new Float32Array(plane);
      flat[5] = 0.7;
      flat[6] = 0.7; // a plateau: CenterNet's hmax == heat keeps both
      const two = centernetDetections(flat, new Float32Array(4 * plane), { classes: 1, height: 4, width: 4 }, opts);
      expect(two.map((d) => d.box.x1)).to.deep.equal([8, 16]); // cells (1, 1), (1, 2): cx = 4, 8, x 2, zero extents
    });

    it('rejects outputs that do not fit the dims', () => {
      expect(() => centernetDetections(new Float32Array(31), wh, dims, opts)).to.throw(
        RangeError,
        /Expected 32 heatmap values for 2x4x4 but received 31/,
      );
      expect(() => centernetDetections(heatmap, new Float32Array(10), dims, opts)).to.throw(RangeError, /Expected 64 wh values/);
    });

    it('takes the class maximum per cell as a saliency map', () => {
      const sal = classMaxHeatmap(heatmap, dims);
      expect([sal.width, sal.height]).to.deep.equal([4, 4]);
      const expected = new Array(16).fill(0);
      expected[0] = 0.05;
      expected[5] = 0.8;
      expected[6] = 0.6;
      expected[11] = 0.5;
      Array.from(sal.data).forEach((v, i) => expect(v).to.be.closeTo(expected[i], 1e-6));
    });
  });

  describe('NMS', () => {
    // a = [0, 0, 10, 10]; b = [1, 0, 11, 10]: IoU 9/11 = 0.82; c = [5, 0, 15, 10]: IoU(a) 1/3.
    const a = det(0, 0, 10, 10, 0.9);
    const b = det(1, 0, 11, 10, 0.95);
    const c = det(5, 0, 15, 10, 0.8);

    it('suppresses lower-scored overlaps of the same class, returns by score', () => {
      expect(nms([a, b, c], 0.5)).to.deep.equal([b, c]);
      expect(nms([a, b, c], 0.9)).to.deep.equal([b, a, c]);
      expect(nms([], 0.5)).to.deep.equal([]);
    });

    it('keeps overlaps of other classes unless class-agnostic', () => {
      const other = { ...a, cls: 3 };
      expect(nms([other, b], 0.5)).to.deep.equal([b, other]);
      expect(nms([other, b], 0.5, false)).to.deep.equal([b]);
    });

    it('suppresses only above the threshold', () => {
      const half = det(0, 0, 5, 10, 0.5); // IoU with a = 0.5 exactly
      expect(nms([a, half], 0.5)).to.deep.equal([a, half]);
      expect(nms([a, half], 0.49)).to.deep.equal([a]);
      expect(() => nms([a], 1.5)).to.throw(RangeError, /NMS IoU threshold in \[0, 1\]/);
    });
  });

  describe('letterbox', () => {
    it('fits the frame with even padding, as Ultralytics', () => {
      expect(letterbox(640, 360, 640, 640)).to.deep.equal({ scale: 1, padX: 0, padY: 140, newW: 640, newH: 360 });
      expect(letterbox(1280, 720, 640, 640)).to.deep.equal({ scale: 0.5, padX: 0, padY: 140, newW: 640, newH: 360 });
      expect(letterbox(360, 640, 640, 640)).to.deep.equal({ scale: 1, padX: 140, padY: 0, newW: 360, newH: 640 });
      // 100x51 into 64: scale 0.64, 64x33 (32.64), pad 31 -> 15 on top, 16 below.
      expect(letterbox(100, 51, 64, 64)).to.deep.equal({ scale: 0.64, padX: 0, padY: 15, newW: 64, newH: 33 });
    });

    it('rounds halves to even like Python', () => {
      // 5x2 into 100x1: scale 0.5 -> width round(2.5) = 2 (Python), pad round(48.9) = 49.
      expect(letterbox(5, 2, 100, 1)).to.deep.equal({ scale: 0.5, padX: 49, padY: 0, newW: 2, newH: 1 });
      expect(letterbox(7, 2, 100, 1).newW).to.equal(4); // round(3.5) = 4
    });
  });

  describe('YOLO', () => {
    // v8: [1, 4 + 2, 8], rows cx, cy, w, h, score0, score1; one anchor per column.
    const v8 = (anchors: number[][]): Float32Array => {
      const n = 8;
      const out = new Float32Array(6 * n);
      anchors.forEach((row, i) => row.forEach((v, k) => (out[k * n + i] = v)));
      return out;
    };

    it('decodes v8/v11 output, undoing the letterbox, with class-aware NMS', () => {
      const output = v8([
        [100, 240, 40, 20, 0.9, 0.1], // input [80, 230, 120, 250]
        [102, 240, 40, 20, 0.8, 0.0], // same class, IoU 38/42 with the first: suppressed at 0.7
        [100, 240, 40, 20, 0.1, 0.85], // same box, other class: kept
        [300, 300, 10, 10, 0.1, 0.2], // below the floor
        [630, 150, 40, 40, 0.3, 0.0], // input [610, 130, 650, 170], partly outside the frame
      ]);
      // 1280x720 into 640x640: scale 0.5, padY 140; frame = (input - pad) / 0.5.
      const lb = letterbox(1280, 720, 640, 640);
      const dets = yoloDetections(output, [1, 6, 8], { letterbox: lb, frameWidth: 1280, frameHeight: 720, floor: 0.25 });
      expect(dets.map((d) => d.cls)).to.deep.equal([0, 1, 0]);
      expect(dets[0].score).to.be.closeTo(0.9, 1e-6);
      expect(dets[0].box).to.deep.equal({ x1: 160, y1: 180, x2: 240, y2: 220 });
      expect(dets[1].box).to.deep.equal({ x1: 160, y1: 180, x2: 240, y2: 220 });
      expect(dets[2].box).to.deep.equal({ x1: 1220, y1: 0, x2: 1280, y2: 60 }); // clipped
      const one = yoloDetections(output, [1, 6, 8], { letterbox: lb, frameWidth: 1280, frameHeight: 720, floor: 0.25, maxDetections: 1 });
      expect(one).to.have.length(1);
    });

    it('decodes v5 output with score = objectness x class probability', () => {
      // [1, 8, 5 + 2]: cx, cy, w, h, obj, p0, p1.
      const rows = [
        [100, 240, 40, 20, 0.9, 0.5, 0.9], // 0.81, class 1, input [80, 230, 120, 250]
        [100, 240, 40, 20, 0.5, 0.8, 0.1], // 0.4, class 0: other class, kept
        [300, 300, 10, 10, 0.2, 1.0, 1.0], // objectness below the floor
        [104, 240, 40, 20, 0.8, 0.0, 0.9], // 0.72, class 1, IoU 36/44 with the first: suppressed
        [110, 240, 40, 20, 0.7, 0.0, 0.9], // 0.63, class 1, IoU 30/50 = 0.6: suppressed at v5's 0.45, kept at 0.7
      ];
      const output = new Float32Array(8 * 7);
      rows.forEach((row, i) => output.set(row, i * 7));
      const lb = letterbox(640, 360, 640, 640); // scale 1, padY 140
      const base = { letterbox: lb, frameWidth: 640, frameHeight: 360, floor: 0.25 };
      const dets = yoloDetections(output, [1, 8, 7], base);
      expect(dets.map((d) => [d.cls, Math.round(d.score * 100)])).to.deep.equal([[1, 81], [0, 40]]);
      expect(dets[0].box).to.deep.equal({ x1: 80, y1: 90, x2: 120, y2: 110 });
      const looser = yoloDetections(output, [1, 8, 7], { ...base, nmsIou: 0.7, layout: 'v5' });
      expect(looser.map((d) => Math.round(d.score * 100))).to.deep.equal([81, 63, 40]);
      expect(looser[1].box).to.deep.equal({ x1: 90, y1: 90, x2: 130, y2: 110 });
    });

    it('detects the layout and refuses shapes that are no YOLO output', () => {
      expect(detectYoloLayout([1, 84, 8400])).to.equal('v8');
      expect(detectYoloLayout([1, 84, 8400], 'm.onnx', 80)).to.equal('v8');
      expect(detectYoloLayout([1, 25200, 85])).to.equal('v5');
      expect(detectYoloLayout([1, 25200, 85], 'm.onnx', 80)).to.equal('v5');
      const sentence = (shape: string) =>
        `Load model failed for classifier.onnx: expected a YOLO output of shape [1, 4+C, N] (v8/v11) or [1, N, 5+C] (v5) but received ${shape}.`;
      for (const [dims, text] of [
        [[1, 1000], '[1, 1000]'],
        [[1, 84], '[1, 84]'],
        [[2, 84, 8400], '[2, 84, 8400]'],
        [[1, 4, 8400], '[1, 4, 8400]'],
        [[1, 100, 5], '[1, 100, 5]'],
      ] as const) {
        let caught: unknown;
        try {
          detectYoloLayout(dims, 'classifier.onnx');
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(DmvjndError);
        expect((caught as DmvjndError).message).to.equal(sentence(text));
        expect((caught as DmvjndError).stage).to.equal('load model');
      }
      expect(() => detectYoloLayout([1, 85, 8400], 'm.onnx', 80)).to.throw(
        DmvjndError,
        'expected a YOLO output of shape [1, 84, N] (v8/v11) or [1, N, 85] (v5) for 80 classes but received [1, 85, 8400]',
      );
    });

    it('rejects a forced layout that the shape contradicts, and outputs of the wrong length', () => {
      const lb = letterbox(640, 360, 640, 640);
      const base = { letterbox: lb, frameWidth: 640, frameHeight: 360, floor: 0.25 };
      expect(() => yoloDetections(new Float32Array(48), [1, 6, 8], { ...base, layout: 'v5', file: 'y.onnx' })).to.throw(
        DmvjndError,
        'expected a YOLO v5 output of shape [1, N, 5+C] but received [1, 6, 8]',
      );
      expect(() => yoloDetections(new Float32Array(47), [1, 6, 8], base)).to.throw(RangeError, /Expected 48 YOLO output values/);
    });
  });
});
