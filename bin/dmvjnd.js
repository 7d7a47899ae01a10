#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (built by `npm ci` / `npm run build`) when it is at
// least as new as every source file; otherwise (a working copy with edited sources) the
// TypeScript sources through tsx, which costs ~0.4 s of transpiling at every start.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// DMVJND_FROM_SOURCE=1 forces the sources, =0 the compiled files (benchmarks set one).
const forced = process.env.DMVJND_FROM_SOURCE;
const fresh = existsSync(compiled) && forced !== '1' && (forced === '0' || !existsSync(join(root, 'src')) || statSync(compiled).mtimeMs >= newestSource(join(root, 'src')));
if (fresh) {
  await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
