/**
 * The media core: decode any input, attach a per-macroblock QP offset map to every
 * frame as ROI side data, encode with libx264 and mux to MP4 (faststart), keeping
 * frame count, timestamps, frame rate and aspect ratio. Audio is copied when MP4 can
 * hold it and re-encoded to AAC otherwise. The output appears at its path only when
 * complete (see util/atomic-output.ts).
 */
import '../util/polyfill.ts';
import { statSync } from 'node:fs';
import { Decoder, Encoder, Muxer } from 'node-av/api';
import {
  AV_CODEC_ID_AAC,
  AV_CODEC_ID_AC3,
  AV_CODEC_ID_ALAC,
  AV_CODEC_ID_EAC3,
  AV_CODEC_ID_FLAC,
  AV_CODEC_ID_MP2,
  AV_CODEC_ID_MP3,
  AV_CODEC_ID_OPUS,
  AV_FRAME_DATA_REGIONS_OF_INTEREST,
  AV_NOPTS_VALUE,
  FF_ENCODER_AAC,
  FF_ENCODER_LIBX264,
} from 'node-av/constants';
import type { Frame, Packet, Stream } from 'node-av/lib';
import { DmvjndError, asDmvjndError, reasonOf } from '../errors.ts';
import { beginAtomicOutput } from '../util/atomic-output.ts';
import { macroblockGrid, roiSideData, type MacroblockGrid } from './mb-grid.ts';
import { decodeVideo, openInput, type DecodedFrame, type InputSpec } from './source.ts';
import { DEFAULT_X264, checkX264Settings, libx264Options, x264CrfAndShift, type X264Settings } from './x264-settings.ts';

export interface FrameContext {
  /** 0-based frame index. */
  index: number;
  /** yuv420p frame about to be encoded (read-only for the provider). */
  frame: Frame;
  grid: MacroblockGrid;
  /** Presentation time in seconds. */
  time: number;
}

/**
 * Supplies the per-MB QP offsets of one frame (grid.count values, row-major) or null for
 * none, called in order just before the frame is encoded. Optionally, `prepare` is called
 * in order as soon as each frame is decoded, and the encoder keeps up to `lookahead`
 * decoded frames queued before encoding them, so a provider can start slow work (the JND
 * analysis on a worker) while x264 encodes the frames before it.
 */
export type OffsetProvider = ((ctx: FrameContext) => Float32Array | null | Promise<Float32Array | null>) & {
  prepare?: (ctx: FrameContext) => void | Promise<void>;
  lookahead?: number;
};

export interface EncodeProgress {
  frames: number;
  /** Best estimate of the total, when the container says. */
  totalFrames: number | undefined;
  elapsedMs: number;
}

export interface EncodeVideoOptions {
  input: InputSpec | string;
  output: string;
  x264?: Partial<X264Settings>;
  /** Omit for a plain encode (no ROI side data at all). */
  offsets?: OffsetProvider;
  onProgress?: (p: EncodeProgress) => void;
  signal?: AbortSignal;
  /** Stop after this many decoded frames (samples, tests); default: the whole input. */
  maxFrames?: number;
  /**
   * Encode only the decoded frames (by 0-based decode index) this accepts; the others are
   * decoded and dropped, keeping the kept frames' own timestamps. For measurements on
   * frames spread over a clip (a clip's first frames can be a fade from black).
   */
  selectFrames?: (index: number) => boolean;
  /**
   * Refuse settings under which x264 silently ignores the offsets (default true).
   * Tests turn it off to show that x264 really does ignore them.
   */
  guardOffsets?: boolean;
}

export type AudioHandling = 'none' | 'copied' | 're-encoded to AAC';

export interface EncodeVideoResult {
  input: string;
  output: string;
  frames: number;
  width: number;
  height: number;
  /** Seconds, from first frame pts to last frame pts + its duration. */
  duration: number;
  /** The whole file: video, audio and MP4 container. */
  bytes: number;
  bitrateKbps: number;
  /** The H.264 stream alone (sum of its packets): what rate comparisons use. */
  videoBytes: number;
  videoBitrateKbps: number;
  audio: AudioHandling;
  /** The source had interlaced frames; they were coded as progressive frames. */
  interlacedInput: boolean;
  /** Frames whose timestamp had to be moved to stay strictly increasing. */
  timestampsRepaired: number;
  timingsMs: { total: number; offsets: number; encode: number };
  settings: X264Settings;
}

/** Most decoded frames an offset provider may ask the encoder to hold (memory bound: 32 frames of 1080p yuv420p are 100 MB). */
export const MAX_LOOKAHEAD = 32;

/** MP4 holds these audio codecs as-is. */
const MP4_AUDIO = new Set<number>([
  AV_CODEC_ID_AAC, AV_CODEC_ID_MP3, AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3,
  AV_CODEC_ID_OPUS, AV_CODEC_ID_FLAC, AV_CODEC_ID_ALAC, AV_CODEC_ID_MP2,
]);

export async function encodeVideo(opts: EncodeVideoOptions): Promise<EncodeVideoResult> {
  const settings: X264Settings = { ...DEFAULT_X264, ...opts.x264 };
  checkX264Settings(settings, { withOffsets: opts.offsets !== undefined && opts.guardOffsets !== false });
  // Above CRF 51: x264 runs at 51 and every macroblock's offset carries the rest.
  const { qpShift } = x264CrfAndShift(settings.rateControl);
  const offsetsOf: OffsetProvider | undefined =
    qpShift === 0
      ? opts.offsets
      : async (ctx) => {
          const map = opts.offsets ? await opts.offsets(ctx) : null;
          return map ? map.map((v) => v + qpShift) : new Float32Array(ctx.grid.count).fill(qpShift);
        };
  const prepare = opts.offsets?.prepare;
  // Bounded: at most this many decoded frames wait for the encoder.
  const lookahead = prepare ? Math.max(0, Math.min(MAX_LOOKAHEAD, Math.floor(opts.offsets?.lookahead ?? 0))) : 0;
  const out = beginAtomicOutput(opts.output);
  const t0 = performance.now();
  const input = await openInput(opts.input).catch((err) => {
    out.discard();
    throw err;
  });
  const label = input.label;
  let stage: 'encode' | 'write output' = 'encode';
  let mux: Muxer | undefined;
  let encoder: Encoder | undefined;
  let disposeAudio: (() => void) | undefined;
  try {
    mux = await Muxer.open(out.tempPath, { format: 'mp4', options: { movflags: '+faststart' } }).catch(
      (err: unknown) => {
        throw new DmvjndError('write output', opts.output, reasonOf(err), { cause: err });
      },
    );
    const video = input.video;
    // Every stream must exist before the first packet is written, so the video
    // encoder is set up from the stream's parameters, before any audio packet arrives.
    const videoEncoder = (encoder = await createVideoEncoder(settings, video));
    const muxer = mux;
    const videoOut = muxer.addStream(videoEncoder, { inputStream: video });
    // Audio packets arrive from the decode side (which runs a frame ahead of x264) and video
    // packets from the encode side: one muxer, so its writes go one at a time.
    const writePacket = serialised((p: Packet, stream: number) => muxer.writePacket(p, stream));
    const audio = await prepareAudio(input.audio, muxer, writePacket);
    // With --frames the audio stops where the video does, as ffmpeg's -frames:v does.
    const audioGate = opts.maxFrames !== undefined ? audioUntilVideoEnd(audio.onPacket) : { onPacket: audio.onPacket, videoReached: async () => {}, finish: async () => {}, dispose: () => {} };
    disposeAudio = audioGate.dispose;
    const estimated = estimateFrameCount(video);
    const totalFrames = opts.maxFrames !== undefined && estimated !== undefined ? Math.min(estimated, opts.maxFrames) : estimated ?? opts.maxFrames;
    let grid: MacroblockGrid | undefined;
    let frames = 0;
    let interlacedInput = false;
    let timestampsRepaired = 0;
    let lastPts: bigint | undefined;
    let firstPts = 0n;
    let timeBase = { num: video.timeBase.num, den: video.timeBase.den };
    let endPts = 0n;
    let offsetsMs = 0;
    let encodeMs = 0;
    let videoBytes = 0;

    const writeVideoPackets = async (packets: Packet[]): Promise<void> => {
      for (const p of packets) {
        videoBytes += p.size;
        try {
          stage = 'write output';
          await writePacket(p, videoOut);
          stage = 'encode';
        } finally {
          p.free();
        }
      }
    };

    // Frames decoded but not yet encoded (at most `lookahead`; freed on any error).
    const queue: FrameContext[] = [];
    const encodeNext = async (): Promise<void> => {
      const ctx = queue.shift()!;
      const { frame } = ctx;
      try {
        if (offsetsOf) {
          const tOff = performance.now();
          const map = await offsetsOf(ctx);
          if (map) {
            const roi = roiSideData(map, ctx.grid);
            frame.newSideData(AV_FRAME_DATA_REGIONS_OF_INTEREST, roi.length).set(roi);
          }
          offsetsMs += performance.now() - tOff;
        }
        const tEnc = performance.now();
        const packets = await videoEncoder.encodeAll(frame);
        encodeMs += performance.now() - tEnc;
        await writeVideoPackets(packets);
      } finally {
        frame.free();
      }
      frames++;
      opts.onProgress?.({ frames, totalFrames, elapsedMs: performance.now() - t0 });
    };
    try {
      const decodedFrames = decodeVideo(input, { onOtherPacket: audioGate.onPacket, signal: opts.signal });
      // The next frame decodes (on libuv's threads) while this one is prepared and encoded,
      // as ffmpeg's decoder thread does beside x264.
      for await (const decoded of readAhead(framesToEncode(decodedFrames, opts.selectFrames, opts.maxFrames), (f) => f.frame.free())) {
        const { frame } = decoded;
        let queued = false;
        try {
          interlacedInput ||= decoded.interlaced;
          if (!grid) {
            grid = macroblockGrid(frame.width, frame.height);
            firstPts = frame.pts;
            timeBase = { num: frame.timeBase.num, den: frame.timeBase.den };
          } else if (frame.width !== grid!.width || frame.height !== grid!.height) {
            throw new DmvjndError(
              'encode', label,
              `the frame size changes mid-stream (${grid!.width}x${grid!.height} to ${frame.width}x${frame.height}), which this encoder does not support`,
            );
          }
          // Unknown durations would make the muxer give the last frame one tick.
          if (frame.duration <= 0n) frame.duration = nominalFrameDuration(video, frame.timeBase);
          if (lastPts !== undefined && frame.pts <= lastPts) {
            frame.pts = lastPts + 1n;
            timestampsRepaired++;
          }
          lastPts = frame.pts;
          endPts = frame.pts + (frame.duration > 0n ? frame.duration : 0n);
          await audioGate.videoReached(toSeconds(endPts, timeBase));
          const ctx: FrameContext = { index: decoded.index, frame, grid: grid!, time: toSeconds(frame.pts, timeBase) };
          if (prepare) {
            const tOff = performance.now();
            await prepare(ctx);
            offsetsMs += performance.now() - tOff;
          }
          queue.push(ctx);
          queued = true;
        } finally {
          if (!queued) frame.free();
        }
        while (queue.length > lookahead) await encodeNext();
      }
      while (queue.length > 0) await encodeNext();
    } finally {
      for (const ctx of queue.splice(0)) ctx.frame.free();
    }
    if (!grid) throw new DmvjndError('decode', label, 'no video frame could be decoded');
    const tEnc = performance.now();
    await writeVideoPackets(await videoEncoder.encodeAll(null));
    encodeMs += performance.now() - tEnc;
    await audioGate.finish();
    await audio.finish();
    stage = 'write output';
    await muxer.close();
    out.commit();
    const bytes = statSync(out.path).size;
    const duration = toSeconds(endPts - firstPts, timeBase) || frames / Math.max(1e-9, rate(video.avgFrameRate));
    return {
      input: label,
      output: out.path,
      frames,
      width: grid!.width,
      height: grid!.height,
      duration,
      bytes,
      bitrateKbps: duration > 0 ? (bytes * 8) / duration / 1000 : 0,
      videoBytes,
      videoBitrateKbps: duration > 0 ? (videoBytes * 8) / duration / 1000 : 0,
      audio: audio.handling,
      interlacedInput,
      timestampsRepaired,
      timingsMs: { total: performance.now() - t0, offsets: offsetsMs, encode: encodeMs },
      settings,
    };
  } catch (err) {
    await mux?.close().catch(() => undefined);
    out.discard();
    throw asDmvjndError(err, stage, stage === 'write output' ? opts.output : label);
  } finally {
    disposeAudio?.();
    encoder?.close();
    await input.close().catch(() => undefined);
  }
}

/** The decoded frames an encode takes: those `select` accepts among the first `maxFrames` decoded. */
async function* framesToEncode(
  frames: AsyncGenerator<DecodedFrame>,
  select: ((index: number) => boolean) | undefined,
  maxFrames: number | undefined,
): AsyncGenerator<DecodedFrame> {
  let decoded = 0;
  for await (const f of frames) {
    decoded++;
    if (select && !select(f.index)) f.frame.free();
    else yield f;
    if (maxFrames !== undefined && decoded >= maxFrames) return;
  }
}

async function createVideoEncoder(settings: X264Settings, video: Stream): Promise<Encoder> {
  const fr = video.avgFrameRate.num > 0 ? video.avgFrameRate : video.rFrameRate;
  const context: Record<string, unknown> = {
    // Keep the input's time base so every timestamp is carried exactly (VFR too);
    // the frame rate still informs x264's rate control.
    timeBase: video.timeBase,
    framerate: fr.num > 0 ? fr : undefined,
    gopSize: settings.keyint,
    threadCount: settings.threads,
  };
  if (settings.rateControl.mode === 'bitrate') context.bitRate = BigInt(Math.round(settings.rateControl.kbps * 1000));
  try {
    return await Encoder.create(FF_ENCODER_LIBX264, {
      context: context as never,
      options: libx264Options(settings) as never,
    });
  } catch (err) {
    throw new DmvjndError('encode', undefined, `libx264 refused the settings (${reasonOf(err)})`, { cause: err });
  }
}

interface AudioPath {
  handling: AudioHandling;
  onPacket: (packet: Packet) => Promise<void>;
  finish: () => Promise<void>;
}

/** A function whose calls run one after another, in call order. */
function serialised<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (...args: A) => {
    const run = tail.then(() => fn(...args));
    tail = run.catch(() => undefined);
    return run;
  };
}

/**
 * Iterate `source` with its next item already being produced while the consumer works on
 * the current one. Items produced but never consumed (the consumer stopped) are disposed.
 */
export async function* readAhead<T>(source: AsyncGenerator<T>, dispose: (item: T) => void): AsyncGenerator<T> {
  let next = source.next();
  next.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
  let finished = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        finished = true;
        return;
      }
      next = source.next();
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    if (!finished) {
      const pending = await next.catch(() => undefined);
      if (pending && !pending.done) dispose(pending.value);
      await source.return(undefined);
    }
  }
}

async function prepareAudio(stream: Stream | undefined, mux: Muxer, writePacket: (p: Packet, stream: number) => Promise<void>): Promise<AudioPath> {
  const none: AudioPath = { handling: 'none', onPacket: async () => {}, finish: async () => {} };
  if (!stream) return none;
  if (MP4_AUDIO.has(stream.codecpar.codecId)) {
    const index = mux.addStream(stream);
    return {
      handling: 'copied',
      onPacket: async (p) => {
        if (p.streamIndex !== stream.index) return;
        await writePacket(p, index);
      },
      finish: async () => {},
    };
  }
  const decoder = await Decoder.create(stream);
  const encoder = await Encoder.create(FF_ENCODER_AAC, { decoder, autoResample: true, context: { bitRate: 128_000n } as never });
  const index = mux.addStream(encoder, { inputStream: stream });
  const writeAll = async (packets: Packet[]) => {
    for (const q of packets) {
      await writePacket(q, index);
      q.free();
    }
  };
  const encodeFrames = async (frames: Frame[]) => {
    for (const f of frames) {
      await writeAll(await encoder.encodeAll(f));
      f.free();
    }
  };
  return {
    handling: 're-encoded to AAC',
    onPacket: async (p) => {
      if (p.streamIndex !== stream.index) return;
      await encodeFrames(await decoder.decodeAll(p));
    },
    finish: async () => {
      await encodeFrames(await decoder.decodeAll(null));
      await writeAll(await encoder.encodeAll(null));
      encoder.close();
      decoder.close();
    },
  };
}

/**
 * Holds audio packets until the video has reached their start time; at the end, the ones
 * that start at or after the video's end are dropped (the demuxer reads audio up to ~0.5 s
 * ahead of the video, so without this a `maxFrames` cut leaves a longer audio track).
 */
function audioUntilVideoEnd(write: (p: Packet) => Promise<void>) {
  const held: Array<{ packet: Packet; start: number }> = [];
  let videoEnd = -Infinity;
  const dispose = () => {
    for (const { packet } of held.splice(0)) packet.free();
  };
  const release = async () => {
    while (held.length > 0 && held[0].start < videoEnd) {
      const { packet } = held.shift()!;
      try {
        await write(packet);
      } finally {
        packet.free();
      }
    }
  };
  return {
    onPacket: async (p: Packet) => {
      const start = p.pts === AV_NOPTS_VALUE ? NaN : toSeconds(p.pts, p.timeBase);
      // Untimed packets go through at once: there is nothing to compare with the video.
      if (Number.isNaN(start) || (held.length === 0 && start < videoEnd)) return write(p);
      const copy = p.clone();
      if (!copy) throw new Error('cannot copy an audio packet');
      held.push({ packet: copy, start });
    },
    videoReached: async (seconds: number) => {
      videoEnd = Math.max(videoEnd, seconds);
      await release();
    },
    finish: async () => {
      await release();
      dispose();
    },
    /** Frees what is still held (the rest of a cut, or everything after an error). */
    dispose,
  };
}

function rate(r: { num: number; den: number }): number {
  return r.den ? r.num / r.den : 0;
}

function toSeconds(pts: bigint, tb: { num: number; den: number }): number {
  return (Number(pts) * tb.num) / tb.den;
}

function nominalFrameDuration(video: Stream, tb: { num: number; den: number }): bigint {
  const fr = video.avgFrameRate.num > 0 ? video.avgFrameRate : video.rFrameRate;
  if (!(fr.num > 0 && fr.den > 0)) return 1n;
  return BigInt(Math.max(1, Math.round((fr.den * tb.den) / (fr.num * tb.num))));
}

export function estimateFrameCount(stream: Stream): number | undefined {
  const n = Number(stream.nbFrames);
  if (n > 0) return n;
  const tb = stream.timeBase;
  const d = (Number(stream.duration) * tb.num) / tb.den;
  const fps = rate(stream.avgFrameRate);
  return d > 0 && fps > 0 ? Math.round(d * fps) : undefined;
}
