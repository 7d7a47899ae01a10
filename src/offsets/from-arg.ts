/**
 * `--offsets` as every command reads it. `jnd` is the encode machine's own DMV-JND (the
 * detector-trained generator for a detector, the CIFAR-trained one for cifar: resolved
 * in pipeline.encode), `jnd-cifar` the CIFAR-trained one whatever the machine.
 */
import type { EncodeOptions } from '../pipeline.ts';
import { parseDetectorOffsets } from './detector-methods.ts';
import { parseSyntheticOffsets } from './synthetic.ts';

/** undefined: the encode's own default (det-scale-interp for a detector, jnd for cifar). */
export function offsetsFromArg(text: string | undefined): EncodeOptions['offsets'] {
  if (text === undefined || text === 'jnd' || text === 'jnd-centred' || text === 'jnd-cifar') return text;
  return parseDetectorOffsets(text) ?? parseSyntheticOffsets(text);
}
