import type { Argv } from 'yargs';
import { probeMedia } from '../../media/probe.ts';
import { readQpMaps, type FrameQp } from '../../media/qp-readback.ts';
import { fail, fmt, print } from '../shared.ts';

export const inspectCommand = {
  command: 'inspect <file>',
  describe: 'Read back frame count, bitrate and per-macroblock QPs of an H.264 file',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .option('maps', { type: 'boolean', default: false, describe: 'Include the full per-MB QP map of every frame' })
      .example('$0 inspect out.mp4', 'Per-frame mean/min/max QP')
      .example('$0 inspect out.mp4 --json --maps > qp.json', 'Everything, for scripts'),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const file = String(a.file);
      const info = await probeMedia(file);
      const frames: Array<Omit<FrameQp, 'qp' | 'grid'> & { qp?: number[] }> = [];
      for await (const f of readQpMaps(file)) {
        frames.push({ index: f.index, time: f.time, type: f.type, mean: f.mean, min: f.min, max: f.max, ...(a.maps ? { qp: [...f.qp] } : {}) });
      }
      const mbCols = Math.ceil(info.width / 16);
      const mbRows = Math.ceil(info.height / 16);
      const meanQp = frames.reduce((s, f) => s + f.mean, 0) / Math.max(1, frames.length);
      print(a.json, { ok: true, ...info, mb_grid: { cols: mbCols, rows: mbRows }, mean_qp: meanQp, qp_frames: frames }, () =>
        [
          `${info.path}: ${info.codec} ${info.width}x${info.height} (MB grid ${mbCols}x${mbRows}), ${info.frames} frames, ${fmt(info.duration, 3)} s, ${fmt(info.frameRate, 3)} fps, ${fmt(info.bitrateKbps)} kbit/s, mean QP ${fmt(meanQp, 2)}`,
          'frame  type  time(s)   meanQP  minQP  maxQP',
          ...frames.map((f) => `${String(f.index).padStart(5)}  ${f.type.padStart(4)}  ${fmt(f.time, 3).padStart(7)}  ${fmt(f.mean, 2).padStart(7)}  ${String(f.min).padStart(5)}  ${String(f.max).padStart(5)}`),
        ].join('\n'),
      );
    } catch (err) {
      fail(err, a.json);
    }
  },
};
