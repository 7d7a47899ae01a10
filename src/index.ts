/**
 * dmvjnd library API: the same operations the CLI runs.
 */
export { DmvjndError, type Stage } from './errors.ts';
export {
  encodeVideo,
  type AudioHandling,
  type EncodeProgress,
  type EncodeVideoOptions,
  type EncodeVideoResult,
  type FrameContext,
  type OffsetProvider,
} from './media/encode.ts';
export {
  MB_SIZE,
  macroblockGrid,
  offsetsFromRoiSideData,
  quantiseQpDelta,
  roiSideData,
  type MacroblockGrid,
} from './media/mb-grid.ts';
export { probeMedia, type MediaInfo } from './media/probe.ts';
export { readAllQpMaps, readQpMaps, type FrameQp } from './media/qp-readback.ts';
export { SAMPLE_CLIPS, sampleClip, type SampleClipName, type SampleClipOptions } from './media/sample-clip.ts';
export type { InputSpec } from './media/source.ts';
export {
  DEFAULT_X264,
  X264_PRESETS,
  checkX264Settings,
  offsetApplicability,
  type RateControl,
  type X264Preset,
  type X264Settings,
} from './media/x264-settings.ts';
export { parseSyntheticOffsets, syntheticOffsetMap, type SyntheticOffsetSpec } from './offsets/synthetic.ts';
