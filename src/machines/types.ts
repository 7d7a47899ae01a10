/**
 * Shared types of the machines (the consumers dmvjnd encodes for): detectors and
 * classifiers behind one interface (machine.ts). Boxes are in source-frame pixels.
 */

/** Axis-aligned box in frame pixels: x1 <= x2, y1 <= y2. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Detection {
  /** Class index (COCO-80 order for the bundled detectors). */
  cls: number;
  /** Confidence in [0, 1]. */
  score: number;
  box: Box;
}

/**
 * A detector's decisions on one frame: every detection above the machine's floor score
 * (the low edge of the hysteresis band, or lower for mAP), in frame pixels.
 */
export interface FrameDetections {
  width: number;
  height: number;
  detections: Detection[];
}

/** A per-pixel map in [0, 1] at its own resolution (row-major), e.g. a class-max heatmap. */
export interface SaliencyMap {
  width: number;
  height: number;
  data: Float32Array;
}
