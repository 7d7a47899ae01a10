import { expect } from 'chai';
import { readAhead } from '../../src/media/encode.ts';

async function* numbers(n: number, log: string[], failAt?: number): AsyncGenerator<number> {
  try {
    for (let i = 0; i < n; i++) {
      log.push(`make ${i}`);
      await new Promise((r) => setTimeout(r, 1));
      if (i === failAt) throw new Error(`failed at ${i}`);
      yield i;
    }
  } finally {
    log.push('closed');
  }
}

describe('readAhead (decode the next frame while this one encodes)', () => {
  it('yields every item in order and starts the next one before the consumer is done', async () => {
    const log: string[] = [];
    const got: number[] = [];
    for await (const x of readAhead(numbers(3, log), () => log.push('disposed'))) {
      log.push(`use ${x}`);
      got.push(x);
    }
    expect(got).to.deep.equal([0, 1, 2]);
    // item 1 is being made before item 0 is used
    expect(log.indexOf('make 1')).to.be.below(log.indexOf('use 0'));
    expect(log).to.not.include('disposed');
  });

  it('disposes the item made ahead when the consumer stops early, and closes the source', async () => {
    const log: string[] = [];
    const disposed: number[] = [];
    for await (const x of readAhead(numbers(5, log), (v) => disposed.push(v))) {
      if (x === 1) break;
    }
    expect(disposed).to.deep.equal([2]);
    expect(log).to.include('closed');
  });

  it('passes a source error to the consumer at the item that failed', async () => {
    const log: string[] = [];
    const got: number[] = [];
    let error: Error | undefined;
    try {
      for await (const x of readAhead(numbers(5, log, 2), () => undefined)) got.push(x);
    } catch (err) {
      error = err as Error;
    }
    expect(got).to.deep.equal([0, 1]);
    expect(error?.message).to.equal('failed at 2');
  });
});
