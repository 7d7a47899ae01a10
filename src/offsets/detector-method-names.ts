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

/** Separates a method's lowest box score from its name and numbers: `det-roi@0,+16/0.25`. */
export const BOX_SCORE_SEPARATOR = '/';

/**
 * `det-scale-interp@-2,+12/0.25` -> its method, whether boxes move, where its numbers start
 * (`at`, an index into `base`) and the text of its box score; undefined for names of other families.
 */
export function detectorMethodOf(text: string): { method: DetectorMethod; interpolate: boolean; at: number; base: string; boxScore: string | undefined } | undefined {
  const full = text.trim();
  const slash = full.lastIndexOf(BOX_SCORE_SEPARATOR);
  const t = slash < 0 ? full : full.slice(0, slash).trim();
  const at = t.indexOf('@');
  const named = at < 0 ? t : t.slice(0, at);
  const interpolate = named.endsWith(INTERP_SUFFIX) && INTERPOLATING_METHODS.includes(named.slice(0, -INTERP_SUFFIX.length) as DetectorMethod);
  const method = (interpolate ? named.slice(0, -INTERP_SUFFIX.length) : named) as DetectorMethod;
  return DETECTOR_METHODS.includes(method) ? { method, interpolate, at, base: t, boxScore: slash < 0 ? undefined : full.slice(slash + 1).trim() } : undefined;
}
