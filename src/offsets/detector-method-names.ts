/**
 * The detector methods' names and how an --offsets text names one. Apart from
 * detector-methods.ts because the CLI reads them before it imports the pipeline (node-av):
 * detector-prestart.ts decides from them whether an encode will want the guide detector.
 */
export const DETECTOR_METHODS = ['det-roi', 'det-heat', 'det-roi-shuffled', 'det-scale', 'obj-jnd', 'dmv-jnd', 'dmv-jnd-roi', 'dmv-jnd-rel', 'dmv-jnd-outside'] as const;
export type DetectorMethod = (typeof DETECTOR_METHODS)[number];

/** The box methods that take the `-interp` suffix. */
export const INTERPOLATING_METHODS: readonly DetectorMethod[] = ['det-roi', 'det-scale', 'obj-jnd'];
export const INTERP_SUFFIX = '-interp';

/** Methods that need the detector-trained DMV-JND (a runner loaded withJnd). */
export function usesDetectorJnd(spec: { method: DetectorMethod }): boolean {
  return spec.method === 'dmv-jnd' || spec.method === 'dmv-jnd-roi' || spec.method === 'dmv-jnd-rel' || spec.method === 'dmv-jnd-outside';
}

/** Separates a box method's modifiers from its name and numbers: `det-roi@0,+16/0.25/8px`. */
export const BOX_SCORE_SEPARATOR = '/';
/** The unit that marks a modifier as the box dilation rather than the box score: `/8px`. */
export const DILATION_UNIT = 'px';
/** The prefix that marks a modifier as x264's variance-AQ strength for this method's encodes: `/aq0.5`. */
export const AQ_PREFIX = 'aq';
/** The prefix that marks a modifier as how many earlier analyses' boxes a frame also keeps: `/hold2`. */
export const HOLD_PREFIX = 'hold';
/** The prefix that marks a modifier as a second pass refining what the first lost: `/fix6`. */
export const FIX_PREFIX = 'fix';
/** The prefix that marks a modifier as the coarsest QP any macroblock gets (CRF mode): `/qmax60`. */
export const QP_MAX_PREFIX = 'qmax';

/**
 * `det-scale-interp@-2,+12/0.25/8px/aq0.5/hold2/fix6/qmax60` -> its method, whether boxes move, where
 * its numbers start (`at`, an index into `base`), and the texts of its box score (a bare
 * number), box dilation (a number of pixels, `8px`), AQ strength (`aq0.5`), box hold (`hold2`),
 * second-pass refinement (`fix6`) and QP ceiling (`qmax60`), each given at most once in any order; undefined for names of other families. The modifiers' texts
 * are checked by the parser, not here.
 */
export function detectorMethodOf(text: string): {
  method: DetectorMethod; interpolate: boolean; at: number; base: string;
  boxScore: string | undefined; dilate: string | undefined; aqStrength: string | undefined; hold: string | undefined; fix: string | undefined;
  qpMax: string | undefined; repeated: boolean;
} | undefined {
  const [head, ...modifiers] = text.trim().split(BOX_SCORE_SEPARATOR).map((p) => p.trim());
  const at = head.indexOf('@');
  const named = at < 0 ? head : head.slice(0, at);
  const interpolate = named.endsWith(INTERP_SUFFIX) && INTERPOLATING_METHODS.includes(named.slice(0, -INTERP_SUFFIX.length) as DetectorMethod);
  const method = (interpolate ? named.slice(0, -INTERP_SUFFIX.length) : named) as DetectorMethod;
  if (!DETECTOR_METHODS.includes(method)) return undefined;
  const dilations = modifiers.filter((m) => m.endsWith(DILATION_UNIT));
  const strengths = modifiers.filter((m) => m.startsWith(AQ_PREFIX));
  const holds = modifiers.filter((m) => m.startsWith(HOLD_PREFIX));
  const fixes = modifiers.filter((m) => m.startsWith(FIX_PREFIX));
  const ceilings = modifiers.filter((m) => m.startsWith(QP_MAX_PREFIX));
  const scores = modifiers.filter((m) => !m.endsWith(DILATION_UNIT) && ![AQ_PREFIX, HOLD_PREFIX, FIX_PREFIX, QP_MAX_PREFIX].some((p) => m.startsWith(p)));
  return {
    method, interpolate, at, base: head,
    boxScore: scores[0],
    dilate: dilations[0]?.slice(0, -DILATION_UNIT.length).trim(),
    aqStrength: strengths[0]?.slice(AQ_PREFIX.length).trim(),
    hold: holds[0]?.slice(HOLD_PREFIX.length).trim(),
    fix: fixes[0]?.slice(FIX_PREFIX.length).trim(),
    qpMax: ceilings[0]?.slice(QP_MAX_PREFIX.length).trim(),
    repeated: [dilations, scores, strengths, holds, fixes, ceilings].some((m) => m.length > 1),
  };
}
