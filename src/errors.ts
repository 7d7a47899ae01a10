/**
 * One error class for everything a user can get wrong or the platform can refuse.
 * The message is one sentence naming the file, the stage and the cause, so the CLI
 * can print it as-is; the original error stays reachable through `cause`.
 */
export type Stage =
  | 'arguments'
  | 'open input'
  | 'probe'
  | 'decode'
  | 'filter'
  | 'analyse'
  | 'encode'
  | 'write output'
  | 'read back'
  | 'load model'
  | 'verify'
  | 'queue';

export class DmvjndError extends Error {
  override readonly name = 'DmvjndError';
  readonly file: string | undefined;
  readonly stage: Stage;
  /** The cause in words, as given (the message adds stage and file). */
  readonly reason: string;

  constructor(stage: Stage, file: string | undefined, reason: string, options?: { cause?: unknown }) {
    super(composeMessage(stage, file, reason), options);
    this.stage = stage;
    this.file = file;
    this.reason = reason;
  }
}

function composeMessage(stage: Stage, file: string | undefined, reason: string): string {
  const cleaned = reason.trim().replace(/[.\s]+$/, '');
  const where = file === undefined ? '' : ` ${file}`;
  return `${capitalise(stage)} failed for${where || ' input'}: ${cleaned}.`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A short human reason from anything thrown by a native layer. */
export function reasonOf(err: unknown): string {
  // node-av prefixes FFmpeg's reason with its own step ("Failed to open input: ..."); the
  // step is already in our message, so keep FFmpeg's words only.
  if (err instanceof Error) return (err.message.split('\n')[0] ?? String(err)).replace(/^Failed to [^:]{1,40}: /, '');
  return String(err);
}

/** Wrap any error as a DmvjndError unless it already is one. */
export function asDmvjndError(err: unknown, stage: Stage, file: string | undefined): DmvjndError {
  if (err instanceof DmvjndError) return err;
  return new DmvjndError(stage, file, reasonOf(err), { cause: err });
}
