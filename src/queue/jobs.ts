/** What a queue job carries: paths every worker sees (a shared mount), settings, the input's identity. */
import type { EncodeArgs } from '../batch/encode-args.ts';
import type { InputIdentity } from '../batch/identity.ts';

export const JOB_NAME = 'encode';

export interface QueueJobData {
  /** Absolute path on the shared mount, or lavfi:<graph>. */
  input: string;
  output: string;
  report: string;
  settings: EncodeArgs;
  identity: InputIdentity;
  settings_hash: string;
  submitted_at: string;
}

/** What a completed job returns (BullMQ keeps it as the job's return value). */
export interface QueueJobResult {
  status: 'done' | 'skipped';
  output: string;
  report: string;
  frames: number;
  video_kbps: number;
  saving: number | null;
  agreement: number | null;
  worker: string;
  time_s: number;
}
