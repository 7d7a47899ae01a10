/** Shared bits of the benchmark scripts: dev clip discovery, flags, output. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
export const DATA_DIR = process.env.DMVJND_DATA ?? resolve(REPO, '..', 'shared', 'data');
export const VIDEOS_DIR = join(DATA_DIR, 'videos');
export const RESULTS_DIR = join(REPO, 'bench', 'results');

export function devClips(): string[] {
  if (!existsSync(VIDEOS_DIR)) throw new Error(`dev clips not found at ${VIDEOS_DIR} (set DMVJND_DATA)`);
  return readdirSync(VIDEOS_DIR)
    .filter((f) => /\.(mp4|mkv)$/.test(f))
    .sort()
    .map((f) => join(VIDEOS_DIR, f));
}

export function flag(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}

export function writeResult(name: string, json: unknown, markdown: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(json, null, 1)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), markdown);
}

export const pct = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(d)}%`);

/** Middle value (upper median for even counts); null for no values. */
export function median(values: readonly number[]): number | null {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
}

/** A path as reports show it: relative to the repository (results are committed). */
export const repoRelative = (p: string): string => relative(REPO, p) || '.';
