/**
 * Container-level facts about a video file without decoding: frame count (video
 * packets), presentation duration from packet timestamps, size, frame rate, aspect
 * ratio, bitrate and audio. Used by `inspect`, reports and tests.
 */
import '../util/polyfill.ts';
import { statSync } from 'node:fs';
import { AV_NOPTS_VALUE } from 'node-av/constants';
import { Codec } from 'node-av/lib';
import { demuxPackets, openInput, type InputSpec } from './source.ts';

export interface MediaInfo {
  path: string;
  bytes: number;
  format: string;
  codec: string;
  width: number;
  height: number;
  /** Display aspect ratio as "w:h" after the sample aspect ratio. */
  displayAspect: number;
  sampleAspect: { num: number; den: number };
  frameRate: number;
  frames: number;
  /** Seconds from the first presentation timestamp to the end of the last frame. */
  duration: number;
  bitrateKbps: number;
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

export async function probeMedia(spec: InputSpec | string): Promise<MediaInfo> {
  const input = await openInput(spec);
  try {
    const { video, audio, label } = input;
    let frames = 0;
    let minPts: bigint | undefined;
    let maxEnd: bigint | undefined;
    for await (const packet of demuxPackets(input, 'probe')) {
      if (packet.streamIndex !== video.index) continue;
      frames++;
      const pts = packet.pts !== AV_NOPTS_VALUE ? packet.pts : packet.dts;
      if (pts !== AV_NOPTS_VALUE) {
        const end = pts + (packet.duration > 0n ? packet.duration : 0n);
        if (minPts === undefined || pts < minPts) minPts = pts;
        if (maxEnd === undefined || end > maxEnd) maxEnd = end;
      }
    }
    const tb = video.timeBase;
    const fr = video.avgFrameRate.num > 0 ? video.avgFrameRate : video.rFrameRate;
    const frameRate = fr.den ? fr.num / fr.den : 0;
    let duration = minPts !== undefined && maxEnd !== undefined ? (Number(maxEnd - minPts) * tb.num) / tb.den : 0;
    if (duration <= 0 && frameRate > 0) duration = frames / frameRate;
    const bytes = spec !== null && typeof spec === 'object' && spec.lavfi ? 0 : statSync(typeof spec === 'string' ? spec : spec.source).size;
    const sar = video.codecpar.sampleAspectRatio;
    const sarValue = sar.num > 0 && sar.den > 0 ? sar.num / sar.den : 1;
    return {
      path: label,
      bytes,
      format: input.demuxer.inputFormat()?.name ?? 'unknown',
      codec: codecName(video.codecpar.codecId),
      width: video.codecpar.width,
      height: video.codecpar.height,
      displayAspect: (video.codecpar.width * sarValue) / video.codecpar.height,
      sampleAspect: { num: sar.num || 1, den: sar.den || 1 },
      frameRate,
      frames,
      duration,
      bitrateKbps: duration > 0 ? (bytes * 8) / duration / 1000 : 0,
      audio: audio
        ? { codec: codecName(audio.codecpar.codecId), sampleRate: audio.codecpar.sampleRate, channels: audio.codecpar.channels }
        : null,
    };
  } finally {
    await input.close();
  }
}

function codecName(id: number): string {
  return Codec.findDecoder(id as never)?.name ?? `codec#${id}`;
}
