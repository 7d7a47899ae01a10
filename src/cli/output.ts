/**
 * Printing results and the single error exit. Light on purpose: the CLI's entry point
 * imports it before any command (and its native modules) is loaded.
 */
import { DmvjndError, reasonOf } from '../errors.ts';

export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
}

export function fail(err: unknown, json: boolean): never {
  const e = err instanceof DmvjndError ? err : new DmvjndError('arguments', undefined, reasonOf(err), { cause: err });
  if (process.env.DMVJND_DEBUG === '1' && e.cause) console.error(e.cause);
  process.stderr.write(`dmvjnd: ${e.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { stage: e.stage, file: e.file ?? null, message: e.message } })}\n`);
  process.exit(1);
}

