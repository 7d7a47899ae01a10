/**
 * x264 settings and the guard against configurations in which libx264 silently drops
 * per-MB QP offsets (measured, see ../shared/NOTES.md):
 *   - constant-QP rate control (x264 turns AQ off),
 *   - aq-mode=0 (the wrapper warns once and skips ROI),
 *   - aq-strength=0 with MB-tree off (keyint=1, rc-lookahead=0, tune zerolatency, no-mbtree).
 * Interlaced frames are handled in the encoder (the flag is cleared; x264 codes them
 * as progressive frames). Pure module: no native calls.
 */
import { DmvjndError } from '../errors.ts';

export const X264_PRESETS = [
  'ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo',
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export type RateControl = { mode: 'crf'; crf: number } | { mode: 'bitrate'; kbps: number };

/** x264's highest CRF for 8-bit video. */
export const X264_MAX_CRF = 51;
/**
 * Highest CRF dmvjnd accepts: x264's internal QP ceiling for 8-bit video (QP_MAX = 51 + 18).
 * Above 51, x264 runs at CRF 51 and every macroblock's QP is raised by (CRF - 51) through
 * the ROI offsets; x264 codes such QPs as 51 with its dead-zone "emergency" quantiser, so
 * the rate keeps falling (measured: car_ferrari at CRF 51 plus 0/6/12/18 QP gave
 * 24.9/21.8/20.4/19.0 kB and 27.6/26.1/24.7/21.9 dB PSNR-Y). Machines tolerate far more
 * distortion than people, so their knee can lie beyond CRF 51.
 */
export const EXTENDED_MAX_CRF = 69;

/**
 * The CRF handed to x264 and the QP shift added to every macroblock's offset: the shift
 * is CRF - 51 above 51, else 0 (and always 0 in bitrate mode).
 */
export function x264CrfAndShift(rc: RateControl): { crf: number | undefined; qpShift: number } {
  if (rc.mode !== 'crf') return { crf: undefined, qpShift: 0 };
  return rc.crf > X264_MAX_CRF ? { crf: X264_MAX_CRF, qpShift: rc.crf - X264_MAX_CRF } : { crf: rc.crf, qpShift: 0 };
}

export interface X264Settings {
  rateControl: RateControl;
  preset: X264Preset;
  tune?: string;
  /** Maximum GOP length in frames (1 = all intra). */
  keyint: number;
  /** Encoder threads; 0 lets x264 decide. */
  threads: number;
  /** Extra x264 parameters in x264's own key=value:key=value form. */
  x264Params?: string;
}

export const DEFAULT_X264: X264Settings = {
  rateControl: { mode: 'crf', crf: 23 },
  preset: 'medium',
  keyint: 250,
  threads: 0,
};

export function parseX264Params(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!text) return out;
  for (const part of text.split(':')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().replace(/_/g, '-');
    out.set(key, eq < 0 ? '1' : part.slice(eq + 1).trim());
  }
  return out;
}

export interface OffsetApplicability {
  applies: boolean;
  /** Why offsets would be ignored, as a phrase that fits "offsets are ignored ..." */
  reason?: string;
}

/** Decide, from the settings alone, whether libx264 will apply ROI QP offsets. */
export function offsetApplicability(s: X264Settings): OffsetApplicability {
  const p = parseX264Params(s.x264Params);
  if (p.has('qp') || p.has('qp-constant')) {
    return { applies: false, reason: 'in constant-QP mode (x264 turns adaptive quantisation off)' };
  }
  if (s.rateControl.mode === 'crf' && s.rateControl.crf === 0) {
    return { applies: false, reason: 'at --crf 0 (lossless: x264 switches to constant QP 0)' };
  }
  const aqMode = p.has('aq-mode') ? Number(p.get('aq-mode')) : 1;
  if (aqMode === 0) return { applies: false, reason: 'with aq-mode=0 (libx264 skips ROI without adaptive quantisation)' };
  const aqStrength = p.has('aq-strength') ? Number(p.get('aq-strength')) : 1;
  const tunes = (s.tune ?? '').split(/[,+]/);
  const lookahead = p.has('rc-lookahead') ? Number(p.get('rc-lookahead')) : undefined;
  const mbtreeOff =
    p.get('mbtree') === '0' || p.has('no-mbtree') || s.keyint <= 1 || lookahead === 0 || tunes.includes('zerolatency');
  if (aqStrength <= 0 && mbtreeOff) {
    return {
      applies: false,
      reason: 'with aq-strength=0 and MB-tree off (keyint=1, rc-lookahead=0, zerolatency or no-mbtree)',
    };
  }
  return { applies: true };
}

/** Validate settings; throws a DmvjndError naming the bad value. */
export function checkX264Settings(s: X264Settings, opts: { withOffsets: boolean }): void {
  const bad = (what: string) => new DmvjndError('arguments', undefined, what);
  if (s.rateControl.mode === 'crf') {
    const crf = s.rateControl.crf;
    if (!Number.isFinite(crf) || crf < 0 || crf > EXTENDED_MAX_CRF) {
      throw bad(`expected --crf between 0 and ${EXTENDED_MAX_CRF} (above ${X264_MAX_CRF}: CRF ${X264_MAX_CRF} plus that many QP on every macroblock) but received ${crf}`);
    }
  } else if (!Number.isFinite(s.rateControl.kbps) || s.rateControl.kbps <= 0) {
    throw bad(`expected a positive --bitrate in kbit/s but received ${s.rateControl.kbps}`);
  }
  if (!X264_PRESETS.includes(s.preset)) {
    throw bad(`expected --preset to be one of ${X264_PRESETS.join(', ')} but received "${s.preset}"`);
  }
  if (!Number.isInteger(s.keyint) || s.keyint < 1) throw bad(`expected --keyint >= 1 but received ${s.keyint}`);
  if (!Number.isInteger(s.threads) || s.threads < 0) throw bad(`expected --threads >= 0 but received ${s.threads}`);
  // Above CRF 51 the extra QP travels as ROI offsets, so the same conditions apply.
  if (opts.withOffsets || x264CrfAndShift(s.rateControl).qpShift > 0) {
    const a = offsetApplicability(s);
    if (!a.applies) {
      throw bad(`per-macroblock QP offsets are ignored by x264 ${a.reason}; change these settings or drop the offsets`);
    }
  }
}

/** The private options handed to FFmpeg's libx264 wrapper. */
export function libx264Options(s: X264Settings): Record<string, string> {
  const opts: Record<string, string> = { preset: s.preset };
  if (s.tune) opts.tune = s.tune;
  const { crf } = x264CrfAndShift(s.rateControl);
  if (crf !== undefined) opts.crf = String(crf);
  if (s.x264Params) opts['x264-params'] = s.x264Params;
  return opts;
}
