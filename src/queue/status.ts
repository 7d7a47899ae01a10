/** `dmvjnd queue status`: counts per state and the reasons of failed jobs. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueJobData } from './jobs.ts';

export interface QueueStatus {
  queue: string;
  counts: { waiting: number; active: number; completed: number; failed: number; delayed: number };
  failed: { id: string; input: string; output: string; reason: string; attempts: number }[];
}

export async function queueStatus(connection: Redis, name: string, maxFailed = 100): Promise<QueueStatus> {
  const queue = new Queue<QueueJobData>(name, { connection });
  try {
    const c = await queue.getJobCounts('wait', 'prioritized', 'active', 'completed', 'failed', 'delayed');
    const failed = await queue.getFailed(0, maxFailed - 1);
    return {
      queue: name,
      counts: { waiting: c.wait + c.prioritized, active: c.active, completed: c.completed, failed: c.failed, delayed: c.delayed },
      failed: failed.filter(Boolean).map((j) => ({ id: j.id ?? '', input: j.data?.input ?? '', output: j.data?.output ?? '', reason: j.failedReason, attempts: j.attemptsMade })),
    };
  } finally {
    await queue.close();
  }
}
