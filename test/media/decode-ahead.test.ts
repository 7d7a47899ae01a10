import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeVideo, MAX_LOOKAHEAD, type OffsetProvider } from '../../src/media/encode.ts';
import { readAllQpMaps } from '../../src/media/qp-readback.ts';
import { sampleClip } from '../../src/media/sample-clip.ts';
import { tempDir } from '../helpers/env.ts';

/** The encoder's decode-ahead queue for offset providers that prepare frames early (the JND worker). */
describe('media: decode-ahead for offset providers with prepare()', function () {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  function recordingProvider(lookahead: number, events: string[], fail?: number): OffsetProvider {
    const provider: OffsetProvider = ({ index, grid }) => {
      events.push(`offsets ${index}`);
      if (index === fail) throw new Error(`offsets for frame ${index} failed`);
      return new Float32Array(grid.count).fill(index % 2 === 0 ? -3 : 3);
    };
    provider.prepare = ({ index }) => void events.push(`prepare ${index}`);
    provider.lookahead = lookahead;
    return provider;
  }

  it('prepares each frame up to `lookahead` frames before encoding it, in order, and encodes every frame', async () => {
    const events: string[] = [];
    const output = join(tmp.path, 'ahead.mp4');
    const r = await encodeVideo({ input: sampleClip('cellauto', { seconds: 0.4 }), output, offsets: recordingProvider(3, events), x264: { keyint: 1 } });
    const prepared = events.filter((e) => e.startsWith('prepare')).map((e) => Number(e.split(' ')[1]));
    const encoded = events.filter((e) => e.startsWith('offsets')).map((e) => Number(e.split(' ')[1]));
    const all = Array.from({ length: r.frames }, (_, i) => i);
    expect(prepared).to.deep.equal(all);
    expect(encoded).to.deep.equal(all);
    for (const i of all) {
      // When frame i is encoded, frames up to i + 3 (or the last) have been prepared.
      const at = events.indexOf(`offsets ${i}`);
      expect(events.indexOf(`prepare ${Math.min(i + 3, r.frames - 1)}`), `frame ${i}`).to.be.lessThan(at);
      if (i + 4 < r.frames) expect(events.indexOf(`prepare ${i + 4}`), `frame ${i}`).to.be.greaterThan(at);
    }
    // The offsets reach x264 frame by frame: even frames finer than odd ones (all intra).
    const maps = await readAllQpMaps(output);
    expect(maps).to.have.length(r.frames);
    const meanQp = (i: number) => maps[i].qp.reduce((s, v) => s + v, 0) / maps[i].qp.length;
    for (let i = 0; i + 1 < maps.length; i += 2) expect(meanQp(i + 1) - meanQp(i), `frames ${i}, ${i + 1}`).to.be.greaterThan(4);
  });

  it('caps the queue at MAX_LOOKAHEAD frames and leaves no output when a queued frame fails', async () => {
    const events: string[] = [];
    const output = join(tmp.path, 'fail.mp4');
    let error: unknown;
    await encodeVideo({ input: sampleClip('cellauto', { seconds: 2 }), output, offsets: recordingProvider(1000, events, 2) }).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/offsets for frame 2 failed/);
    expect(existsSync(output)).to.equal(false);
    const at = events.indexOf('offsets 0');
    expect(events.slice(0, at).filter((e) => e.startsWith('prepare'))).to.have.length(MAX_LOOKAHEAD + 1);
  });
});
