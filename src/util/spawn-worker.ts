import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Start a worker-thread module given relative to the caller (`base` = its import.meta.url):
 * the compiled JavaScript under dist/, or the TypeScript source through tsx, whose loader
 * is registered per thread (so it is registered in the worker before the import).
 */
export function spawnWorker(base: string, name: string, workerData: unknown): Worker {
  const fromSource = base.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, base).href;
  if (!fromSource) return new Worker(new URL(entry), { workerData });
  // import.meta.resolve is missing where a loader rewrote import.meta (tests under tsx's require hook).
  const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
