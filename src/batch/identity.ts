/**
 * Job identity: what the input is (a file's size, mtime and a SHA-256 of its first and
 * last MiB; a lavfi graph's text) plus the normalised settings. Two runs with the same
 * identity produce the same result, so `batch` skips a job whose report carries it and the
 * queue uses it as the BullMQ job id (submitting the same work twice adds nothing).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { DmvjndError } from '../errors.ts';

const MIB = 1024 * 1024;

export type InputIdentity =
  | { kind: 'file'; size: number; mtime_ms: number; head_tail_sha256: string }
  | { kind: 'lavfi'; graph: string };

/** The identity of an input path or `lavfi:<graph>`; throws a sentence when the file is gone. */
export function inputIdentity(input: string): InputIdentity {
  if (input.startsWith('lavfi:')) return { kind: 'lavfi', graph: input.slice(6) };
  let st;
  try {
    st = statSync(input);
  } catch {
    throw new DmvjndError('open input', input, 'no such file');
  }
  if (!st.isFile()) throw new DmvjndError('open input', input, 'the path is not a regular file');
  const hash = createHash('sha256');
  const fd = openSync(input, 'r');
  try {
    const buf = Buffer.alloc(Math.min(MIB, st.size));
    hash.update(buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)));
    if (st.size > MIB) {
      const n = Math.min(MIB, st.size - MIB);
      const tail = Buffer.alloc(n);
      hash.update(tail.subarray(0, readSync(fd, tail, 0, n, st.size - n)));
    }
  } finally {
    closeSync(fd);
  }
  return { kind: 'file', size: st.size, mtime_ms: Math.round(st.mtimeMs), head_tail_sha256: hash.digest('hex') };
}

/** JSON with sorted keys, so equal values always hash alike. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function settingsHash(normalised: Record<string, unknown>): string {
  return sha256(canonicalJson(normalised));
}

export function identityHash(identity: InputIdentity): string {
  return sha256(canonicalJson(identity));
}

/** The job id: input identity + settings + output path (hex: BullMQ ids must not be integers or hold ':'). */
export function jobId(identity: InputIdentity, settings: string, output: string): string {
  return `j${sha256(canonicalJson({ input: identity, settings, output })).slice(0, 32)}`;
}

/** Why two identities differ, in words ('' when equal). */
export function identityChange(before: InputIdentity, now: InputIdentity): string {
  if (before.kind !== now.kind) return 'its kind changed';
  if (before.kind === 'lavfi' || now.kind === 'lavfi') return canonicalJson(before) === canonicalJson(now) ? '' : 'its graph changed';
  if (before.size !== now.size) return `its size changed from ${before.size} to ${now.size} bytes`;
  if (before.mtime_ms !== now.mtime_ms) return `its modification time changed`;
  if (before.head_tail_sha256 !== now.head_tail_sha256) return 'its content changed';
  return '';
}
