import { expect } from 'chai';
import { macroblockGrid } from '../../src/media/mb-grid.ts';
import { parseSyntheticOffsets, syntheticOffsetMap } from '../../src/offsets/synthetic.ts';

describe('offsets/synthetic', () => {
  it('parses the documented forms', () => {
    expect(parseSyntheticOffsets('none')).to.deep.equal({ kind: 'none' });
    expect(parseSyntheticOffsets('uniform:-3')).to.deep.equal({ kind: 'uniform', delta: -3 });
    expect(parseSyntheticOffsets('split:-6,+6')).to.deep.equal({ kind: 'split', left: -6, right: 6 });
    expect(parseSyntheticOffsets('columns:0,4,-4')).to.deep.equal({ kind: 'columns', pattern: [0, 4, -4] });
  });

  it('explains what it expected', () => {
    expect(() => parseSyntheticOffsets('split:1')).to.throw(/two numbers/);
    expect(() => parseSyntheticOffsets('uniform:x')).to.throw(/Expected numbers/);
    expect(() => parseSyntheticOffsets('jnd')).to.throw(/Expected --offsets to be one of/);
  });

  it('builds split and column maps on the MB grid', () => {
    const grid = macroblockGrid(80, 32); // 5x2
    expect([...syntheticOffsetMap({ kind: 'split', left: -6, right: 6 }, grid)!]).to.deep.equal([
      -6, -6, -6, 6, 6, -6, -6, -6, 6, 6,
    ]);
    expect([...syntheticOffsetMap({ kind: 'columns', pattern: [1, 2] }, grid)!]).to.deep.equal([1, 2, 1, 2, 1, 1, 2, 1, 2, 1]);
    expect(syntheticOffsetMap({ kind: 'none' }, grid)).to.equal(null);
  });
});
