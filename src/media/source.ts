/**
 * Reading video: open a file (or a synthetic lavfi source), demux packet by packet,
 * decode the video stream and normalise every frame to 8-bit yuv420p with even
 * dimensions (what libx264 accepts), keeping the decoder's timestamps. Packets of
 * other streams are handed to a callback so audio can be copied.
 *
 * We read packets ourselves instead of using Demuxer.packets(): that generator treats
 * every read error as end of stream, so a truncated file would "succeed" with fewer
 * frames. Here a read error other than EOF is an error.
 */
import '../util/polyfill.ts';
import { existsSync, statSync } from 'node:fs';
import { Decoder, Demuxer, FilterAPI } from 'node-av/api';
import {
  AVERROR_EOF,
  AVMEDIA_TYPE_AUDIO,
  AV_FRAME_FLAG_INTERLACED,
  AV_LOG_ERROR,
  AV_LOG_QUIET,
  AV_NOPTS_VALUE,
  AV_PIX_FMT_YUV420P,
} from 'node-av/constants';
import { FFmpegError, Log, Packet, type Frame, type Stream } from 'node-av/lib';
import { DmvjndError, asDmvjndError, reasonOf, type Stage } from '../errors.ts';

let logLevelSet = false;
/** FFmpeg's own log lines would break our one-sentence errors and progress output. */
export function quietFfmpegLogs(): void {
  if (logLevelSet) return;
  logLevelSet = true;
  Log.setLevel(process.env.DMVJND_FFMPEG_LOG === '1' ? AV_LOG_ERROR : AV_LOG_QUIET);
}

export interface InputSpec {
  /** A file path, or a lavfi graph when `lavfi` is true. */
  source: string;
  lavfi?: boolean;
  /** How to name the input in messages (defaults to source). */
  label?: string;
  /** Makes what the graph reads (the embedded street scene's PNG) before it is opened. */
  prepare?: () => Promise<void>;
}

export interface OpenedInput {
  readonly label: string;
  readonly demuxer: Demuxer;
  readonly video: Stream;
  readonly audio: Stream | undefined;
  close(): Promise<void>;
}

export async function openInput(spec: InputSpec | string): Promise<OpenedInput> {
  quietFfmpegLogs();
  const s: InputSpec = typeof spec === 'string' ? { source: spec } : spec;
  const label = s.label ?? s.source;
  if (!s.lavfi) checkReadableFile(s.source);
  try {
    await s.prepare?.();
  } catch (err) {
    throw new DmvjndError('open input', label, `could not make what the graph reads (${reasonOf(err)})`, { cause: err });
  }
  let demuxer: Demuxer;
  try {
    demuxer = s.lavfi
      ? await Demuxer.open(s.source, { format: 'lavfi' })
      : await Demuxer.open(s.source);
  } catch (err) {
    throw new DmvjndError('open input', label, `${reasonOf(err)} (not a readable media file?)`, { cause: err });
  }
  const video = demuxer.video();
  if (!video) {
    await demuxer.close();
    throw new DmvjndError('open input', label, 'no video stream found (not a video, or a truncated file)');
  }
  const w = video.codecpar.width;
  const h = video.codecpar.height;
  if (!(w > 0 && h > 0)) {
    await demuxer.close();
    throw new DmvjndError('open input', label, `the video stream has no valid frame size (${w}x${h})`);
  }
  return {
    label,
    demuxer,
    video,
    audio: demuxer.streams.find((st) => st.codecpar.codecType === AVMEDIA_TYPE_AUDIO),
    close: () => demuxer.close(),
  };
}

/** Open and close an input: fails fast, before expensive set-up such as loading models. */
export async function preflightInput(spec: InputSpec | string): Promise<void> {
  const input = await openInput(spec);
  await input.close();
}

function checkReadableFile(path: string): void {
  if (!existsSync(path)) throw new DmvjndError('open input', path, 'no such file');
  const st = statSync(path);
  if (st.isDirectory()) throw new DmvjndError('open input', path, 'the path is a folder, not a video file');
  if (st.size === 0) throw new DmvjndError('open input', path, 'the file is empty (0 bytes)');
}

export interface DecodeOptions {
  /** Called with every packet that is not from the video stream (do not keep it). */
  onOtherPacket?: (packet: Packet) => Promise<void> | void;
  signal?: AbortSignal;
}

export interface DecodedFrame {
  /** 0-based index in decode (presentation) order. */
  index: number;
  /** 8-bit yuv420p, even width and height; pts in `timeBase`. Owned by the caller. */
  frame: Frame;
  /** True when the source frame was flagged interlaced (we code it progressive). */
  interlaced: boolean;
}

/**
 * Every packet of an opened input, in file order, with its stream's time base set
 * (the muxer's interleaving queue needs it). A read error other than end of file is
 * an error naming `stage`, never a silent early end. The packet is reused: do not keep it.
 */
export async function* demuxPackets(input: OpenedInput, stage: Stage): AsyncGenerator<Packet> {
  const fmt = input.demuxer.getFormatContext();
  const packet = new Packet();
  packet.alloc();
  let count = 0;
  try {
    for (;;) {
      const ret = await fmt.readFrame(packet);
      if (ret === AVERROR_EOF) return;
      if (ret < 0) {
        throw new DmvjndError(stage, input.label, `reading packet ${count} failed (${FFmpegError.strerror(ret)}; truncated or corrupt file?)`);
      }
      const stream = input.demuxer.streams[packet.streamIndex];
      if (stream) packet.timeBase = stream.timeBase;
      count++;
      try {
        yield packet;
      } finally {
        packet.unref();
      }
    }
  } finally {
    packet.free();
  }
}

/** The filter that makes any decoded frame libx264-ready. */
export function normaliseFilter(width: number, height: number): string {
  const parts: string[] = [];
  // x264's 4:2:0 needs even sizes; pad by one pixel rather than resample the picture.
  if (width % 2 !== 0 || height % 2 !== 0) parts.push('pad=ceil(iw/2)*2:ceil(ih/2)*2');
  parts.push('format=yuv420p');
  return parts.join(',');
}

/**
 * Decode the video stream of an opened input into normalised frames.
 * Throws on read or decode errors, and when no frame at all could be decoded.
 */
export async function* decodeVideo(input: OpenedInput, opts: DecodeOptions = {}): AsyncGenerator<DecodedFrame> {
  const { video, label } = input;
  let decoder: Decoder;
  try {
    decoder = await Decoder.create(video, { exitOnError: true });
  } catch (err) {
    throw new DmvjndError('decode', label, `no decoder for this video stream (${reasonOf(err)})`, { cause: err });
  }
  const filter = FilterAPI.create(normaliseFilter(video.codecpar.width, video.codecpar.height));
  let index = 0;
  const emit = function* (frames: Frame[], interlaced: boolean): Generator<DecodedFrame> {
    for (const f of frames) {
      if (f.pts === AV_NOPTS_VALUE) f.pts = f.bestEffortTimestamp;
      yield { index: index++, frame: f, interlaced };
    }
  };
  const filterFrames = async (frames: Frame[]): Promise<{ out: Frame[]; interlaced: boolean }> => {
    const out: Frame[] = [];
    let interlaced = false;
    for (const f of frames) {
      if (f.pts === AV_NOPTS_VALUE) f.pts = f.bestEffortTimestamp;
      if (f.hasFlags(AV_FRAME_FLAG_INTERLACED)) {
        interlaced = true;
        // libx264 skips ROI on interlaced frames; we encode progressive frames anyway.
        f.clearFlags(AV_FRAME_FLAG_INTERLACED);
      }
      try {
        out.push(...(await filter.processAll(f)));
      } catch (err) {
        throw new DmvjndError('filter', label, `cannot convert frame ${index} to yuv420p (${reasonOf(err)})`, { cause: err });
      } finally {
        f.free();
      }
    }
    return { out, interlaced };
  };
  try {
    for await (const packet of demuxPackets(input, 'decode')) {
      if (opts.signal?.aborted) throw new DmvjndError('decode', label, 'interrupted');
      if (packet.streamIndex === video.index) {
        let frames: Frame[];
        try {
          frames = await decoder.decodeAll(packet);
        } catch (err) {
          throw new DmvjndError('decode', label, `corrupt video data after ${index} frames (${reasonOf(err)})`, { cause: err });
        }
        const { out, interlaced } = await filterFrames(frames);
        yield* emit(out, interlaced);
      } else if (opts.onOtherPacket) {
        await opts.onOtherPacket(packet);
      }
    }
    let tail: Frame[];
    try {
      tail = await decoder.decodeAll(null);
    } catch (err) {
      throw new DmvjndError('decode', label, `corrupt video data at the end of the stream (${reasonOf(err)})`, { cause: err });
    }
    const { out, interlaced } = await filterFrames(tail);
    yield* emit(out, interlaced);
    yield* emit(await filter.processAll(null), false);
    if (index === 0) throw new DmvjndError('decode', label, 'no video frame could be decoded');
  } catch (err) {
    throw asDmvjndError(err, 'decode', label);
  } finally {
    filter.close();
    decoder.close();
  }
}
