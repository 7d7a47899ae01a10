/**
 * Progress on stderr, only when stderr is a terminal (pipelines and CI get clean logs).
 */
export interface ProgressLine {
  update(done: number, total: number | undefined, extra?: string): void;
  done(): void;
}

export function progressLine(label: string, enabled = Boolean(process.stderr.isTTY)): ProgressLine {
  if (!enabled) return { update() {}, done() {} };
  const t0 = performance.now();
  let last = 0;
  let shown = false;
  return {
    update(done, total, extra) {
      const now = performance.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const secs = (now - t0) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      const pct = total ? ` ${Math.min(100, (100 * done) / total).toFixed(0).padStart(3)}%` : '';
      const eta = total && rate > 0 ? `  ETA ${Math.max(0, (total - done) / rate).toFixed(0)}s` : '';
      const of = total ? `/${total}` : '';
      process.stderr.write(`\r\x1b[K${label}${pct}  ${done}${of} frames  ${rate.toFixed(1)} fps${eta}${extra ? `  ${extra}` : ''}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
