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

/** `det-scale-interp@-2,+12` -> its method and whether boxes move; undefined for names of other families. */
export function detectorMethodOf(text: string): { method: DetectorMethod; interpolate: boolean; at: number } | undefined {
  const t = text.trim();
  const at = t.indexOf('@');
  const named = at < 0 ? t : t.slice(0, at);
  const interpolate = named.endsWith(INTERP_SUFFIX) && INTERPOLATING_METHODS.includes(named.slice(0, -INTERP_SUFFIX.length) as DetectorMethod);
  const method = (interpolate ? named.slice(0, -INTERP_SUFFIX.length) : named) as DetectorMethod;
  return DETECTOR_METHODS.includes(method) ? { method, interpolate, at } : undefined;
}
