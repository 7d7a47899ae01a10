/**
 * `dmvjnd queue submit`: discovered jobs into a BullMQ queue. The job id is derived from
 * the input's identity (size, mtime, SHA-256 of its first and last MiB), the normalised
 * settings and the output path, so submitting the same work twice adds nothing.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { resolve } from 'node:path';
import { DmvjndError } from '../errors.ts';
import type { JobSpec } from '../batch/discover.ts';
import { normalisedSettings } from '../batch/encode-args.ts';
import { inputIdentity, jobId, settingsHash } from '../batch/identity.ts';
import { JOB_NAME, type QueueJobData } from './jobs.ts';

export interface SubmitOptions {
  connection: Redis;
  queue: string;
  jobs: JobSpec[];
  /** Tries per job before it is failed (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubled each time (default 10000). */
  backoffMs?: number;
  /** Re-add jobs that already completed or failed. */
  force?: boolean;
}

export interface SubmittedJob {
  id: string;
  input: string;
  output: string;
  /** added: new in the queue; exists: the same work is already there (in `state`). */
  status: 'added' | 'exists';
  state?: string;
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 10_000;

const PENDING_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;

export async function submitJobs(o: SubmitOptions): Promise<SubmittedJob[]> {
  // Identities first: a missing input is a usage error before anything is added.
  const prepared = o.jobs.map((j) => {
    const input = j.input.startsWith('lavfi:') ? j.input : resolve(j.input);
    const identity = inputIdentity(input);
    const normalised = normalisedSettings(j.settings);
    const sHash = settingsHash(normalised);
    const data: QueueJobData = {
      input, output: j.output, report: j.report, settings: j.settings, identity, settings_hash: sHash, submitted_at: new Date().toISOString(),
    };
    return { id: jobId(identity, sHash, j.output), data };
  });
  const queue = new Queue<QueueJobData>(o.queue, { connection: o.connection });
  try {
    // Another pending job (other settings or input version) writing the same output would race: refuse.
    const pending = await queue.getJobs([...PENDING_STATES] as never, 0, -1);
    const pendingByOutput = new Map(pending.filter((j) => j?.data?.output).map((j) => [j.data.output, j.id]));
    for (const p of prepared) {
      const other = pendingByOutput.get(p.data.output);
      if (other && other !== p.id) {
        throw new DmvjndError('arguments', p.data.output, `another pending job (${other}) in queue ${o.queue} writes this output: wait for it or choose another --out`);
      }
    }
    const results: SubmittedJob[] = [];
    for (const p of prepared) {
      const ref = { id: p.id, input: p.data.input, output: p.data.output };
      const existing = await queue.getJob(p.id);
      if (existing) {
        const state = await existing.getState();
        if (!(o.force && (state === 'completed' || state === 'failed'))) {
          results.push({ ...ref, status: 'exists', state });
          continue;
        }
        await existing.remove();
      }
      await queue.add(JOB_NAME, p.data, {
        jobId: p.id,
        attempts: o.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: 'exponential', delay: o.backoffMs ?? DEFAULT_BACKOFF_MS },
        removeOnComplete: false,
        removeOnFail: false,
      });
      results.push({ ...ref, status: 'added' });
    }
    return results;
  } finally {
    await queue.close();
  }
}
