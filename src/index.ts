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
export { encode, jndOffsetProvider, DEFAULT_JND, type EncodeOptions, type EncodeReport, type JndSettings } from './pipeline.ts';
export { verifyVideos, type VerifyOptions, type VerifyReport } from './analysis/verify.ts';
export { FrameAnalyser, type ClassifierDecisions, type FrameJnd } from './analysis/analyser.ts';
export { viewSizeFor, windowGrid, type ViewSize, type WindowGrid } from './analysis/machine-view.ts';
export { loadModels, type ModelSet, type UserClassifierSpec } from './inference/models.ts';
export type { Provider } from './inference/onnx.ts';
export { qpOffsetsFromJnd, poolJndPerMacroblock, targetQpForStep, type JndPooling, type QpMappingOptions } from './jnd/qp-mapping.ts';
export { bdRate, kneeRate, type RateQualityPoint } from './metrics/bd-rate.ts';
export { softmaxTop1, rcaCounts, type Decisions, type RcaCounts } from './metrics/rca.ts';
export { spearman } from './metrics/spearman.ts';
export { hvsJnd } from './offsets/hvs-jnd.ts';
export { camRoiOffsets, shuffledOffsets } from './offsets/controls.ts';
export { runBench } from './bench/run-bench.ts';
export { searchTarget } from './bench/search.ts';
export { loadMachine, parseMachine, DEFAULT_MACHINE, type MachineSpec, type LoadMachineOptions } from './machines/registry.ts';
export type { Machine, MachineScores, AgreementTally } from './machines/machine.ts';
export type { Box, Detection, FrameDetections, SaliencyMap } from './machines/types.ts';
export { DetectionTally, matchFrame, iou, DEFAULT_DETECTION_MATCH, type DetectionMatchOptions, type DetectionSummary } from './metrics/detection.ts';
export { detRoiOffsets, detHeatOffsets, boxSaliency } from './offsets/detector-roi.ts';
export { parseDetectorOffsets, type DetectorOffsetSpec } from './offsets/detector-methods.ts';
export { runDetectorBench } from './bench/detector-bench.ts';
