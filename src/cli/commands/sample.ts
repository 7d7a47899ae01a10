import type { Argv } from 'yargs';
import { DmvjndError } from '../../errors.ts';
import { encodeVideo } from '../../media/encode.ts';
import { SAMPLE_CLIPS, sampleClip, type SampleClipName } from '../../media/sample-clip.ts';
import { fail, print } from '../shared.ts';

export const sampleCommand = {
  command: 'sample',
  describe: 'Write one of the built-in synthetic clips to a file (plain x264, CRF 18)',
  builder: (y: Argv) =>
    y
      .option('output', { alias: 'o', type: 'string', default: 'dmvjnd-sample-source.mp4' })
      .option('kind', { type: 'string', default: 'street', choices: Object.keys(SAMPLE_CLIPS), describe: 'street: the embedded default (a drawn street with a clock, a stop sign and a traffic light, the camera panning); testsrc: FFmpeg\'s test pattern; noise, cellauto: test textures' })
      .option('seconds', { type: 'number', default: 4 })
      .option('size', { type: 'string', describe: 'WxH, e.g. 640x360' }),
  handler: async (a: Record<string, unknown> & { json: boolean }) => {
    try {
      const m = a.size ? /^(\d+)x(\d+)$/.exec(String(a.size)) : null;
      if (a.size && !m) throw new DmvjndError('arguments', undefined, `expected --size as WxH but received "${a.size}"`);
      const r = await encodeVideo({
        input: sampleClip(a.kind as SampleClipName, { seconds: Number(a.seconds), ...(m ? { width: +m[1], height: +m[2] } : {}) }),
        output: String(a.output),
        x264: { rateControl: { mode: 'crf', crf: 18 } },
      });
      print(a.json, { ok: true, ...r }, () => `wrote ${r.output} (${r.frames} frames, ${r.width}x${r.height})`);
    } catch (err) {
      fail(err, a.json);
    }
  },
};
