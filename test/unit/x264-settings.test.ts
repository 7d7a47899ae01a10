import { expect } from 'chai';
import {
  DEFAULT_X264,
  checkX264Settings,
  x264CrfAndShift,
  libx264Options,
  offsetApplicability,
  parseX264Params,
  type X264Settings,
} from '../../src/media/x264-settings.ts';

const s = (over: Partial<X264Settings>): X264Settings => ({ ...DEFAULT_X264, ...over });

describe('media/x264-settings', () => {
  it('parses x264 key=value lists, normalising underscores', () => {
    expect([...parseX264Params('aq_mode=0:no-mbtree:rc-lookahead=20')]).to.deep.equal([
      ['aq-mode', '0'],
      ['no-mbtree', '1'],
      ['rc-lookahead', '20'],
    ]);
  });

  it('accepts the defaults and default AQ with all-intra', () => {
    expect(offsetApplicability(DEFAULT_X264).applies).to.equal(true);
    expect(offsetApplicability(s({ keyint: 1 })).applies).to.equal(true);
    expect(offsetApplicability(s({ x264Params: 'aq-strength=0' })).applies).to.equal(true); // MB-tree still on
  });

  it('detects every configuration in which x264 silently drops offsets', () => {
    const dropped: Array<Partial<X264Settings>> = [
      { x264Params: 'qp=23' },
      { rateControl: { mode: 'crf', crf: 0 } },
      { x264Params: 'aq-mode=0' },
      { x264Params: 'aq-strength=0', keyint: 1 },
      { x264Params: 'aq-strength=0:mbtree=0' },
      { x264Params: 'aq-strength=0:no-mbtree' },
      { x264Params: 'aq-strength=0:rc-lookahead=0' },
      { x264Params: 'aq-strength=0', tune: 'zerolatency' },
    ];
    for (const over of dropped) {
      const a = offsetApplicability(s(over));
      expect(a.applies, JSON.stringify(over)).to.equal(false);
      expect(() => checkX264Settings(s(over), { withOffsets: true }), JSON.stringify(over)).to.throw(/ignored by x264/);
      expect(() => checkX264Settings(s(over), { withOffsets: false })).not.to.throw();
    }
  });

  it('names the bad value in argument errors', () => {
    expect(() => checkX264Settings(s({ rateControl: { mode: 'crf', crf: 70 } }), { withOffsets: false })).to.throw(
      /expected --crf between 0 and 69 .* but received 70/,
    );
    expect(() => checkX264Settings(s({ preset: 'warp' as never }), { withOffsets: false })).to.throw(/--preset/);
    expect(() => checkX264Settings(s({ keyint: 0 }), { withOffsets: false })).to.throw(/--keyint/);
  });

  it('runs CRFs above 51 as CRF 51 plus a QP shift carried by the offsets', () => {
    expect(x264CrfAndShift({ mode: 'crf', crf: 23 })).to.deep.equal({ crf: 23, qpShift: 0 });
    expect(x264CrfAndShift({ mode: 'crf', crf: 51 })).to.deep.equal({ crf: 51, qpShift: 0 });
    expect(x264CrfAndShift({ mode: 'crf', crf: 57 })).to.deep.equal({ crf: 51, qpShift: 6 });
    expect(x264CrfAndShift({ mode: 'bitrate', kbps: 500 })).to.deep.equal({ crf: undefined, qpShift: 0 });
    expect(libx264Options(s({ rateControl: { mode: 'crf', crf: 63 } })).crf).to.equal('51');
    // The shift travels as ROI offsets, so settings under which x264 drops them are refused
    // even without an offset method.
    expect(() => checkX264Settings(s({ rateControl: { mode: 'crf', crf: 57 }, x264Params: 'aq-mode=0' }), { withOffsets: false })).to.throw(
      /ignored by x264/,
    );
    expect(() => checkX264Settings(s({ rateControl: { mode: 'crf', crf: 57 } }), { withOffsets: false })).not.to.throw();
  });

  it('maps settings to libx264 private options', () => {
    expect(libx264Options(s({ tune: 'film', x264Params: 'aq-strength=0.8' }))).to.deep.equal({
      preset: 'medium',
      tune: 'film',
      crf: '23',
      'x264-params': 'aq-strength=0.8',
    });
    expect(libx264Options(s({ rateControl: { mode: 'bitrate', kbps: 800 } }))).to.not.have.property('crf');
  });
});
