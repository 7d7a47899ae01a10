/**
 * Redis connections for BullMQ (ioredis instances: BullMQ cannot load ioredis itself
 * from ESM). Workers retry forever (maxRetriesPerRequest null, reconnect with backoff), so
 * a Redis restart only pauses them; submit and status fail fast with one sentence.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { DmvjndError } from '../errors.ts';

export const DEFAULT_QUEUE = 'dmvjnd';
export const DEFAULT_REDIS = process.env.DMVJND_REDIS ?? 'redis://127.0.0.1:6379';

export function parseRedisUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DmvjndError('arguments', undefined, `expected --redis as redis://host:port but received "${url}"`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new DmvjndError('arguments', undefined, `expected --redis as redis://host:port but received "${url}"`);
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** A worker's connection: commands wait through outages, reconnects back off to 2 s. */
export function workerConnection(url: string): Redis {
  return new Redis({
    ...parseRedisUrl(url),
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
}

/** A client's connection (submit, status): connects once, fails with a sentence. */
export async function clientConnection(url: string, timeoutMs = 5000): Promise<Redis> {
  const redis = new Redis({ ...parseRedisUrl(url), lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: timeoutMs, retryStrategy: () => null });
  let lastError: Error | undefined;
  redis.on('error', (err) => (lastError = err)); // surfaced by connect() below
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const why = (lastError ?? (err as Error)).message.split('\n')[0];
    throw new DmvjndError('queue', url, `Redis is not reachable (${why})`, { cause: err });
  }
  return redis;
}
