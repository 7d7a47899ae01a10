/**
 * The end-of-batch summary table, as Markdown and CSV in --out: input, output, frames,
 * video kbit/s, saving against the input's video rate, agreement when verified (the machine's detection F1, or confident regional RCA for cifar)
 * when verified, time and status.
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DmvjndError } from '../errors.ts';

export interface SummaryRow {
  input: string;
  output: string;
  frames: number | null;
  video_kbps: number | null;
  saving: number | null;
  agreement: number | null;
  time_s: number;
  status: 'done' | 'skipped' | 'failed';
  reason?: string;
}

const COLUMNS = ['input', 'output', 'frames', 'video kbit/s', 'saving', 'agreement', 'time s', 'status'] as const;

function cells(r: SummaryRow, out: string): string[] {
  const num = (n: number | null, d: number) => (n === null || !Number.isFinite(n) ? '' : n.toFixed(d));
  return [
    r.input,
    relative(out, r.output) || r.output,
    r.frames === null ? '' : String(r.frames),
    num(r.video_kbps, 1),
    r.saving === null ? '' : `${(100 * r.saving).toFixed(1)}%`,
    r.agreement === null ? '' : `${(100 * r.agreement).toFixed(2)}%`,
    num(r.time_s, 1),
    r.status === 'failed' ? `failed: ${r.reason ?? ''}` : r.status,
  ];
}

export function summaryMarkdown(rows: SummaryRow[], out: string): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${cells(r, out).map(esc).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

export function summaryCsv(rows: SummaryRow[], out: string): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const header = ['input', 'output', 'frames', 'video_kbps', 'saving', 'agreement', 'time_s', 'status', 'reason'];
  const lines = [header.join(',')];
  for (const r of rows) {
    const c = cells(r, out);
    lines.push([c[0], c[1], c[2], c[3], r.saving === null ? '' : r.saving.toFixed(4), r.agreement === null ? '' : r.agreement.toFixed(4), c[6], r.status, r.reason ?? ''].map(q).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Writes batch-summary.md and batch-summary.csv in `out`; returns their paths. */
export function writeSummary(rows: SummaryRow[], out: string): { markdown: string; csv: string } {
  const markdown = join(out, 'batch-summary.md');
  const csv = join(out, 'batch-summary.csv');
  try {
    writeFileSync(markdown, summaryMarkdown(rows, out));
    writeFileSync(csv, summaryCsv(rows, out));
  } catch (err) {
    throw new DmvjndError('write output', out, (err as Error).message, { cause: err });
  }
  return { markdown, csv };
}
