/**
 * Is an output path the input file itself: the same path, a symbolic link to it, or a
 * hard link (another name for the same inode)? Writing the encode there would replace
 * the input (the temp file is renamed over it), so `encode` and `batch` refuse it.
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DmvjndError } from '../errors.ts';
import type { InputSpec } from '../media/source.ts';

/** True when both paths name the same file. An output that does not exist yet names nothing. */
export function isSameFile(a: string, b: string): boolean {
  const ra = resolveExisting(a);
  const rb = resolveExisting(b);
  if (ra === undefined || rb === undefined) return false;
  if (ra === rb) return true;
  try {
    const sa = statSync(ra);
    const sb = statSync(rb);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

function resolveExisting(path: string): string | undefined {
  try {
    return realpathSync(resolve(path));
  } catch {
    return undefined;
  }
}

/** Throws the one-sentence error when `output` is the input file (lavfi inputs are not files). */
export function checkOutputIsNotInput(spec: InputSpec | string, output: string): void {
  if (typeof spec !== 'string' && spec.lavfi) return;
  const input = typeof spec === 'string' ? spec : spec.source;
  if (isSameFile(input, output)) {
    throw new DmvjndError('write output', output, `the output is the input file ${input}: choose another output path`);
  }
}
