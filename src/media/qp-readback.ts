/**
 * Per-frame, per-macroblock QP maps of an encoded H.264 file, read back from the
 * decoder's AV_FRAME_DATA_VIDEO_ENC_PARAMS export (the same numbers as
 * `ffmpeg -debug qp`). Skipped MBs and MBs without coded residual report the
 * predicted QP, so exact assertions belong on intra frames of textured content.
 */
import '../util/polyfill.ts';
import { Decoder } from 'node-av/api';
import { AV_FRAME_DATA_VIDEO_ENC_PARAMS, AV_PICTURE_TYPE_B, AV_PICTURE_TYPE_I, AV_PICTURE_TYPE_P } from 'node-av/constants';
import type { Frame } from 'node-av/lib';
import { DmvjndError, asDmvjndError, reasonOf } from '../errors.ts';
import { macroblockGrid, MB_SIZE, type MacroblockGrid } from './mb-grid.ts';
import { demuxPackets, openInput } from './source.ts';

export interface FrameQp {
  index: number;
  /** Presentation time in seconds. */
  time: number;
  type: 'I' | 'P' | 'B' | '?';
  grid: MacroblockGrid;
  /** Row-major QP per macroblock. */
  qp: Uint8Array;
  mean: number;
  min: number;
  max: number;
}

/** Parse one AVVideoEncParams blob into a per-MB QP map. */
export function parseVideoEncParams(sd: Buffer, grid: MacroblockGrid): Uint8Array {
  // struct AVVideoEncParams { u32 nb_blocks; size_t blocks_offset; size_t block_size;
  //   enum type; int32 qp; int32 delta_qp[4][2]; } followed by blocks of
  // struct AVVideoBlockParams { int src_x, src_y, w, h; int32 delta_qp; }.
  const nbBlocks = sd.readUInt32LE(0);
  const blocksOffset = Number(sd.readBigUInt64LE(8));
  const blockSize = Number(sd.readBigUInt64LE(16));
  const baseQp = sd.readInt32LE(28);
  const qp = new Uint8Array(grid.count).fill(baseQp);
  for (let b = 0; b < nbBlocks; b++) {
    const o = blocksOffset + b * blockSize;
    const col = Math.floor(sd.readInt32LE(o) / MB_SIZE);
    const row = Math.floor(sd.readInt32LE(o + 4) / MB_SIZE);
    if (col < grid.cols && row < grid.rows) qp[row * grid.cols + col] = baseQp + sd.readInt32LE(o + 16);
  }
  return qp;
}

function pictType(t: number): FrameQp['type'] {
  if (t === AV_PICTURE_TYPE_I) return 'I';
  if (t === AV_PICTURE_TYPE_P) return 'P';
  if (t === AV_PICTURE_TYPE_B) return 'B';
  return '?';
}

/** Stream the QP maps of every frame of an H.264 file, in presentation order. */
export async function* readQpMaps(path: string): AsyncGenerator<FrameQp> {
  const input = await openInput(path);
  const { video, label } = input;
  let decoder: Decoder;
  try {
    // One decoder thread: with frame threads the exported QPs of skipped MBs vary run to run.
    decoder = await Decoder.create(video, { options: { export_side_data: 'venc_params' } as never, context: { threadCount: 1 } as never });
  } catch (err) {
    await input.close();
    throw new DmvjndError('read back', label, `cannot decode this stream (${reasonOf(err)})`, { cause: err });
  }
  const grid = macroblockGrid(video.codecpar.width, video.codecpar.height);
  const tb = video.timeBase;
  let index = 0;
  const toQp = (f: Frame): FrameQp => {
    const sd = f.getSideData(AV_FRAME_DATA_VIDEO_ENC_PARAMS);
    if (!sd) throw new DmvjndError('read back', label, `frame ${index} carries no QP data (is the stream H.264?)`);
    const qp = parseVideoEncParams(sd, grid);
    let sum = 0;
    let min = 255;
    let max = 0;
    for (const q of qp) {
      sum += q;
      if (q < min) min = q;
      if (q > max) max = q;
    }
    const pts = f.pts !== undefined && f.pts >= 0n ? f.pts : f.bestEffortTimestamp;
    return { index: index++, time: (Number(pts) * tb.num) / tb.den, type: pictType(f.pictType), grid, qp, mean: sum / qp.length, min, max };
  };
  try {
    for await (const packet of demuxPackets(input, 'read back')) {
      if (packet.streamIndex !== video.index) continue;
      for (const f of await decoder.decodeAll(packet)) {
        try {
          yield toQp(f);
        } finally {
          f.free();
        }
      }
    }
    for (const f of await decoder.decodeAll(null)) {
      try {
        yield toQp(f);
      } finally {
        f.free();
      }
    }
  } catch (err) {
    throw asDmvjndError(err, 'read back', label);
  } finally {
    decoder.close();
    await input.close();
  }
}

/** Collect all QP maps (small files and tests). */
export async function readAllQpMaps(path: string): Promise<FrameQp[]> {
  const out: FrameQp[] = [];
  for await (const f of readQpMaps(path)) out.push(f);
  return out;
}
