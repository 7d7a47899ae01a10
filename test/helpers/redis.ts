/**
 * A private redis-server for tests: a free loopback port, its own temp data folder,
 * never a system service. `restart()` stops it and starts it again on the same port and
 * folder (with persistence on, the data survives, as a restarted production Redis's would).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
export const NO_REDIS_REASON = 'redis-server not installed (apt-get install redis-server; .ci/run installs it)';

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  /** Stop (SIGKILL when `hard`) and start again on the same port and folder. */
  restart(opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        // Redis answers PING once it has loaded its data.
        sock.write('PING\r\n');
        sock.once('data', (d) => {
          sock.destroy();
          if (d.toString().startsWith('+PONG')) resolve();
          else retry();
        });
      });
      sock.once('error', () => {
        sock.destroy();
        retry();
      });
    };
    const retry = () => (Date.now() - t0 > timeoutMs ? reject(new Error(`redis-server did not start on port ${port}`)) : setTimeout(attempt, 50));
    attempt();
  });
}

/** Starts redis-server on 127.0.0.1 only. `persist`: append-only file in its folder (survives restart()). */
export async function startRedis(opts: { persist?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dmvjnd-redis-'));
  let child: ChildProcess | undefined;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', opts.persist ? 'yes' : 'no', '--protected-mode', 'yes', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'];
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(port, 10_000);
  };
  const kill = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  await start();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    async restart(o = {}) {
      await kill(o.hard ? 'SIGKILL' : 'SIGTERM');
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await start();
    },
    async stop() {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
