import { expect } from 'chai';
import { join } from 'node:path';
import { encodeVideo } from '../../src/media/encode.ts';
import { probeMedia } from '../../src/media/probe.ts';
import { readAllQpMaps } from '../../src/media/qp-readback.ts';
import { demuxPackets, openInput, type InputSpec } from '../../src/media/source.ts';
import { NO_VIDEOS_REASON, VIDEOS_DIR, hasVideos, tempDir } from '../helpers/env.ts';

const splitOffsets = ({ grid }: { grid: { count: number; cols: number } }) => {
  const m = new Float32Array(grid.count);
  for (let i = 0; i < m.length; i++) m[i] = i % grid.cols < grid.cols / 2 ? -4 : 4;
  return m;
};

describe('media: the encode preserves frames, timing, aspect and audio', function () {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  describe('dev clips from ../shared/data/videos', function () {
    before(function () {
      if (!hasVideos) this.skip();
    });
    if (!hasVideos) it(`skipped: ${NO_VIDEOS_REASON}`, function () { this.skip(); });

    const clips: Array<[string, string]> = [
      ['car_ferrari_1080p_12frames.mp4', 'copied'],
      ['sports_marathon_540p.mkv', 're-encoded to AAC'],
      ['people_asl_walk_480p.mkv', 'none'],
      ['nature_stream_360p.mp4', 'copied'],
    ];
    for (const [name, audio] of clips) {
      it(`${name}: same frame count and duration, audio ${audio}`, async () => {
        const src = join(VIDEOS_DIR, name);
        const out = join(tmp.path, `${name}.mp4`);
        const r = await encodeVideo({ input: src, output: out, x264: { preset: 'ultrafast' }, offsets: splitOffsets });
        const a = await probeMedia(src);
        const b = await probeMedia(out);
        expect(b.frames, 'frames').to.equal(a.frames);
        expect(r.frames).to.equal(a.frames);
        expect(b.duration, 'duration (s)').to.be.closeTo(a.duration, 0.002);
        expect(b.displayAspect).to.be.closeTo(a.displayAspect, 0.01);
        expect(r.audio).to.equal(audio);
        expect(b.audio === null).to.equal(audio === 'none');
      });
    }
  });

  async function roundTrip(input: InputSpec, name: string) {
    const out = join(tmp.path, name);
    const result = await encodeVideo({ input, output: out, offsets: splitOffsets });
    return { result, info: await probeMedia(out), maps: await readAllQpMaps(out) };
  }

  it('keeps variable-frame-rate timestamps exactly', async () => {
    // Frame n at n/25 s, every third frame 13 ms late: not representable at any fixed rate.
    const graph = "testsrc2=size=160x120:rate=25:duration=1,settb=1/1000,setpts='(N/25+0.013*eq(mod(N\\,3)\\,0))/TB'";
    const { maps, result } = await roundTrip({ source: graph, lavfi: true }, 'vfr.mp4');
    expect(result.frames).to.equal(25);
    const times = maps.map((m) => m.time).sort((x, y) => x - y);
    const expected = Array.from({ length: 25 }, (_, n) => n / 25 + (n % 3 === 0 ? 0.013 : 0));
    times.forEach((t, i) => expect(t, `frame ${i}`).to.be.closeTo(expected[i], 0.0005));
  });

  it('selectFrames encodes only the chosen frames, each at its own timestamp', async () => {
    const out = join(tmp.path, 'selected.mp4');
    const picked = [3, 11, 20];
    const result = await encodeVideo({
      input: { source: 'testsrc2=size=160x120:rate=25:duration=1', lavfi: true },
      output: out, x264: { keyint: 1 }, selectFrames: (i) => picked.includes(i), maxFrames: 21,
    });
    expect(result.frames).to.equal(3);
    const maps = await readAllQpMaps(out);
    expect(maps.map((m) => m.type)).to.deep.equal(['I', 'I', 'I']);
    maps.forEach((m, k) => expect(m.time, `frame ${k}`).to.be.closeTo(picked[k] / 25, 0.0005));
  });

  it('pads odd frame sizes by one pixel instead of failing', async () => {
    const { info, result } = await roundTrip({ source: 'testsrc2=size=161x121:rate=25:duration=0.4,format=rgb24', lavfi: true }, 'odd.mp4');
    expect([info.width, info.height]).to.deep.equal([162, 122]);
    expect(info.frames).to.equal(10);
    expect(result.frames).to.equal(10);
  });

  it('converts 10-bit 4:2:2 input to 8-bit 4:2:0', async () => {
    const { info } = await roundTrip({ source: 'testsrc2=size=160x120:rate=25:duration=0.4,format=yuv422p10le', lavfi: true }, 'hbd.mp4');
    expect(info.frames).to.equal(10);
  });

  it('keeps a non-square sample aspect ratio', async () => {
    const { info } = await roundTrip({ source: 'testsrc2=size=160x120:rate=25:duration=0.2,setsar=4/3', lavfi: true }, 'sar.mp4');
    expect(info.sampleAspect).to.deep.equal({ num: 4, den: 3 });
  });

  it('re-encodes audio MP4 cannot hold, and copies audio it can', async () => {
    const graph = 'testsrc2=size=160x120:rate=25:duration=1[out0];sine=frequency=440:duration=1[out1]';
    const first = await roundTrip({ source: graph, lavfi: true }, 'with-pcm.mp4');
    expect(first.result.audio).to.equal('re-encoded to AAC');
    expect(first.info.audio?.codec).to.equal('aac');
    const second = await encodeVideo({ input: join(tmp.path, 'with-pcm.mp4'), output: join(tmp.path, 'copy.mp4') });
    expect(second.audio).to.equal('copied');
  });

  it('with maxFrames, the audio ends where the video does (re-encoded and copied)', async () => {
    const graph = 'testsrc2=size=160x120:rate=25:duration=3[out0];sine=frequency=440:duration=3[out1]';
    const whole = join(tmp.path, 'av-whole.mp4');
    await encodeVideo({ input: { source: graph, lavfi: true }, output: whole, x264: { preset: 'ultrafast' } });
    for (const [input, handling] of [[{ source: graph, lavfi: true }, 're-encoded to AAC'], [whole, 'copied']] as const) {
      const out = join(tmp.path, `av-cut-${handling.length}.mp4`);
      const r = await encodeVideo({ input, output: out, x264: { preset: 'ultrafast' }, maxFrames: 25 });
      expect(r.audio).to.equal(handling);
      const ends = await streamEnds(out);
      expect(ends.video, 'video end (s)').to.be.closeTo(1, 0.001);
      // One AAC frame (1024 samples at 44.1 kHz: 23 ms) of slack; without the gate the copied track ran to 1.045 s.
      expect(ends.audio, `audio end (s), ${handling}`).to.be.within(0.95, 1.03);
    }
  });
});

/** Where each stream's last packet ends, in seconds. */
async function streamEnds(file: string): Promise<{ video: number; audio: number }> {
  const input = await openInput(file);
  const ends = { video: 0, audio: 0 };
  try {
    for await (const p of demuxPackets(input, 'decode')) {
      const end = (Number(p.pts + p.duration) * p.timeBase.num) / p.timeBase.den;
      const kind = p.streamIndex === input.video.index ? 'video' : 'audio';
      ends[kind] = Math.max(ends[kind], end);
    }
  } finally {
    await input.close();
  }
  return ends;
}
