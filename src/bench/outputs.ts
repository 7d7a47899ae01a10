/**
 * Benchmark outputs: bench.json (everything), points.csv (one row per point), summary.md
 * (tables a person reads), and plots: per clip, bitrate versus confident and all-decision
 * regional RCA with one line per method (Vega-Lite, rendered headless to SVG by Vega's
 * scenegraph, rasterised to PNG by sharp), plus the mean BD-rate per method as bars.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { DmvjndError } from '../errors.ts';
import { ANCHOR_METHOD } from './methods.ts';
import { RCA_KINDS, type BenchPoint, type BenchResult, type RcaKind } from './run-bench.ts';

const KIND_LABEL: Record<RcaKind, string> = {
  regional_confident: 'regional conf.',
  global_confident: 'global conf.',
  regional_all: 'regional all',
};

/** Write every output under `dir`; returns the file names relative to it. */
/**
 * Writes report files under `dir` (each to a temp file, then renamed) and lists them,
 * relative to `dir`, in the order written.
 */
export function outputWriter(dir: string): { write: (name: string, data: string | Buffer) => void; files: string[] } {
  const files: string[] = [];
  const write = (name: string, data: string | Buffer): void => {
    const path = join(dir, name);
    try {
      mkdirSync(join(path, '..'), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, data);
      renameSync(tmp, path);
    } catch (err) {
      throw new DmvjndError('write output', path, (err as Error).message, { cause: err });
    }
    files.push(name);
  };
  return { write, files };
}

export async function writeBenchOutputs(result: BenchResult, dir: string): Promise<string[]> {
  const { write, files } = outputWriter(dir);
  const used = new Set<string>();
  for (const clip of result.clips) {
    const spec = clipChartSpec(result, clip.name);
    const svg = await renderSvg(spec);
    let name = slug(clip.name);
    for (let i = 2; used.has(name); i++) name = `${slug(clip.name)}-${i}`;
    used.add(name);
    const base = `plots/${name}`;
    write(`${base}.svg`, svg);
    write(`${base}.png`, await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
  }
  if (result.summary.length > 0) {
    const svg = await renderSvg(bdRateChartSpec(result));
    write('plots/bd-rate.svg', svg);
    write('plots/bd-rate.png', await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
  }
  write('points.csv', pointsCsv(result.points));
  write('summary.md', summaryMarkdown(result));
  // The JSON last, listing every file including itself.
  const all = [...files, 'bench.json'];
  write('bench.json', `${JSON.stringify({ ...result, files: all }, null, 1)}\n`);
  return all;
}

/** A file-name-safe form of a clip name ("a b.mp4" -> "a_b_mp4"). */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9-]+/g, '_').replace(/^_+|_+$/g, '') || 'clip';
}

/** Tableau 10, with the anchor (plain x264) in black. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
export function methodColours(methods: string[]): string[] {
  let i = 0;
  return methods.map((m) => (m === ANCHOR_METHOD ? '#000000' : PALETTE[i++ % PALETTE.length]));
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec, { logger: vega.logger(vega.None) });
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Per clip: two panels (confident / all-decision regional RCA) against bitrate, one line per method. */
export function clipChartSpec(result: BenchResult, clip: string): TopLevelSpec {
  const info = result.clips.find((c) => c.name === clip);
  const floor = info?.noise_floor.regional_all ?? null;
  const rows = result.points
    .filter((p) => p.clip === clip && !p.reference)
    .map((p) => ({
      method: p.method,
      crf: p.crf,
      kbps: p.bitrate_kbps,
      regional_confident: p.rca.regional.confident,
      regional_all: p.rca.regional.all,
    }));
  const methods = result.settings.methods.map((m) => m.name);
  const panel = (field: 'regional_confident' | 'regional_all', title: string, threshold: number | null, thresholdLabel: string) => ({
    width: 380,
    height: 280,
    title: { text: title, fontSize: 13 },
    layer: [
      {
        mark: { type: 'line' as const, point: { filled: true, size: 36 }, strokeWidth: 2 },
        transform: [{ filter: `datum.${field} !== null` }],
        encoding: {
          x: { field: 'kbps', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'video bitrate (kbit/s, log scale)' },
          y: { field, type: 'quantitative' as const, scale: { zero: false }, title: 'RCA', axis: { format: '.1%' } },
          color: { field: 'method', type: 'nominal' as const, scale: { domain: methods, range: methodColours(methods) }, title: 'method' },
          // x264-noaq coincides with x264 under today's settings: dashed, so both stay visible.
          strokeDash: {
            field: 'method',
            type: 'nominal' as const,
            scale: { domain: methods, range: methods.map((m) => (m === 'x264-noaq' ? [6, 4] : [1, 0])) },
            title: 'method',
          },
          order: { field: 'kbps', type: 'quantitative' as const },
          tooltip: [{ field: 'method' }, { field: 'crf' }, { field: 'kbps', format: '.1f' }, { field, format: '.4f' }],
        },
      },
      ...(threshold === null
        ? []
        : [
            {
              data: { values: [{ y: threshold, label: thresholdLabel }] },
              mark: { type: 'rule' as const, strokeDash: [5, 4], color: '#555' },
              encoding: { y: { field: 'y', type: 'quantitative' as const } },
            },
            {
              data: { values: [{ y: threshold, label: thresholdLabel }] },
              mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -6, x: 0, color: '#555', fontSize: 10 },
              encoding: { y: { field: 'y', type: 'quantitative' as const }, text: { field: 'label' } },
            },
          ]),
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${clip}: bitrate versus machine accuracy`,
      subtitle: `${info?.frames ?? '?'} frames, ${info?.width}x${info?.height}; RCA vs original (tau ${result.settings.tau}, view ${result.settings.jnd.view} px); x264 preset ${result.settings.x264.preset}`,
      anchor: 'start',
    },
    data: { values: rows },
    hconcat: [
      panel('regional_confident', 'Confident regional decisions', 0.99, 'knee 99%'),
      panel(
        'regional_all',
        'All regional decisions',
        floor === null ? null : floor - 0.01,
        floor === null ? '' : `noise floor (x264 CRF ${result.settings.reference_crf}) - 1 pt`,
      ),
    ],
    resolve: { scale: { color: 'shared' } },
    config: { background: 'white', font: 'sans-serif' },
  } as TopLevelSpec;
}

/** Mean BD-rate per method and RCA kind (percent; negative = fewer bits than x264). */
export function bdRateChartSpec(result: BenchResult): TopLevelSpec {
  const rows = result.summary
    .filter((s) => s.method !== ANCHOR_METHOD)
    .flatMap((s) =>
      RCA_KINDS.map((k) => ({ method: s.method, kind: KIND_LABEL[k], bd: s.bd_rate_mean[k], clips: s.bd_rate_clips[k] })),
    )
    .filter((r) => r.bd !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `BD-rate versus plain x264 at equal RCA (mean over ${result.clips.length} clip${result.clips.length === 1 ? '' : 's'})`,
      subtitle: 'negative = fewer bits for the same classifier agreement',
      anchor: 'start',
    },
    data: { values: rows },
    width: 420,
    height: { step: 14 },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'method', type: 'nominal', sort: result.settings.methods.map((m) => m.name), title: null },
      yOffset: { field: 'kind', sort: RCA_KINDS.map((k) => KIND_LABEL[k]) },
      x: { field: 'bd', type: 'quantitative', title: 'BD-rate (%)' },
      color: { field: 'kind', type: 'nominal', sort: RCA_KINDS.map((k) => KIND_LABEL[k]), title: 'RCA kind' },
      tooltip: [{ field: 'method' }, { field: 'kind' }, { field: 'bd', format: '.1f' }, { field: 'clips' }],
    },
    config: { background: 'white', font: 'sans-serif' },
  } as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------
// CSV

export function pointsCsv(points: BenchPoint[]): string {
  const classifiers = new Set<string>();
  const users = new Set<string>();
  for (const p of points) {
    for (const n of Object.keys(p.rca.per_classifier.regional.all)) classifiers.add(n);
    for (const n of Object.keys(p.rca.user)) users.add(n);
  }
  const cls = [...classifiers].sort();
  const usr = [...users].sort();
  const header = [
    'clip', 'method', 'crf', 'reference', 'frames', 'width', 'height', 'bytes', 'video_bytes', 'bitrate_kbps', 'bpp', 'psnr_y_db',
    'rca_regional_confident', 'rca_regional_all', 'rca_global_confident', 'rca_global_all',
    'heldout_regional_confident', 'heldout_regional_all', 'heldout_global_confident', 'heldout_global_all',
    ...cls.flatMap((c) => [`${c}_regional_confident`, `${c}_regional_all`, `${c}_global_confident`, `${c}_global_all`]),
    ...usr.flatMap((u) => [`user_${u}_global_confident`, `user_${u}_global_all`]),
    'decisions_regional_all', 'decisions_regional_confident', 'encode_fps', 'analysis_fps',
  ];
  const lines = [header.map(csvCell).join(',')];
  for (const p of points) {
    const pc = p.rca.per_classifier;
    lines.push(
      [
        p.clip, p.method, p.crf, p.reference, p.frames, p.width, p.height, p.bytes, p.video_bytes, p.bitrate_kbps, p.bpp, p.psnr_y_db,
        p.rca.regional.confident, p.rca.regional.all, p.rca.global.confident, p.rca.global.all,
        p.rca.heldout.regional.confident, p.rca.heldout.regional.all, p.rca.heldout.global.confident, p.rca.heldout.global.all,
        ...cls.flatMap((c) => [pc.regional.confident[c], pc.regional.all[c], pc.global.confident[c], pc.global.all[c]]),
        ...usr.flatMap((u) => [p.rca.user[u]?.global.confident, p.rca.user[u]?.global.all]),
        p.rca.decisions.regional.all, p.rca.decisions.regional.confident, p.encode_fps, p.analysis_fps,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(10))) : '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ---------------------------------------------------------------------------------------
// Markdown

const pctText = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(d)}%`);
const frac = (v: number | null | undefined, d = 2): string => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(d)}%`);

/** A path inside the working folder as a relative path (reports are committed and moved). */
function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? p : rel;
}

export function summaryMarkdown(r: BenchResult): string {
  const s = r.settings;
  const methods = s.methods.map((m) => m.name);
  const out: string[] = [
    '# Bitrate versus machine accuracy',
    '',
    `${r.clips.length} clip${r.clips.length === 1 ? '' : 's'}, ${s.frames === null ? 'all frames' : `first ${s.frames} frames`}; CRF ${s.crfs.join(', ')}; ` +
      `x264 preset ${s.x264.preset}, keyint ${s.x264.keyint}${s.x264.tune ? `, tune ${s.x264.tune}` : ''}${s.x264.x264Params ? `, ${s.x264.x264Params}` : ''}; ` +
      `view ${s.jnd.view} px, pooling ${typeof s.jnd.pooling === 'object' ? `p${s.jnd.pooling.percentile}` : s.jnd.pooling}, analysis stride ${s.jnd.analysisStride}, offsets clamped to [${s.jnd.minOffset}, ${s.jnd.maxOffset}]; ` +
      `RCA against the original, tau ${s.tau}; models \`${displayPath(s.models)}\` (${s.provider}).`,
    '',
    'Bitrate: the H.264 stream alone (any audio and the MP4 container are left out). ' +
    `BD-rate: Bjontegaard delta rate against \`${s.anchor}\` at equal RCA (PCHIP of log-rate over RCA on curves made monotone, over the overlapping RCA range); negative = fewer bits for the same classifier agreement. ` +
      `Knee: the lowest bitrate from which confident regional RCA stays >= ${frac(s.knee.regional_confident, 0)} (all decisions: >= the noise floor, plain x264 at CRF ${s.reference_crf}, minus ${(100 * s.knee.regional_all_margin).toFixed(0)} pt); knee saving = 1 - knee / knee of x264.`,
    '',
    `## Mean (and median) over clips`,
    '',
    '| method | BD-rate regional conf. (headline) | BD-rate global conf. | BD-rate regional all | median BD-rate regional conf. / all | knee saving conf. | knee saving all | clips with a BD-rate (reg. conf / glob. conf / reg. all) |',
    '|---|---|---|---|---|---|---|---|',
    ...r.summary.map(
      (m) =>
        `| ${m.method} | ${pctText(m.bd_rate_mean.regional_confident)} | ${pctText(m.bd_rate_mean.global_confident)} | ${pctText(m.bd_rate_mean.regional_all)} | ${pctText(m.bd_rate_median.regional_confident)} / ${pctText(m.bd_rate_median.regional_all)} | ${frac(m.knee_saving_mean.regional_confident, 1)} | ${frac(m.knee_saving_mean.regional_all, 1)} | ${m.bd_rate_clips.regional_confident} / ${m.bd_rate_clips.global_confident} / ${m.bd_rate_clips.regional_all} |`,
    ),
    '',
    '## BD-rate at equal confident regional RCA, per clip',
    '',
    `| clip | ${methods.join(' | ')} |`,
    `|---|${methods.map(() => '---').join('|')}|`,
    ...r.clips.map(
      (c) => `| ${c.name} | ${methods.map((m) => pctText(r.per_clip.find((x) => x.clip === c.name && x.method === m)?.bd_rate.regional_confident)).join(' | ')} |`,
    ),
    '',
    '## BD-rate at equal all-decision regional RCA, per clip',
    '',
    `| clip | ${methods.join(' | ')} |`,
    `|---|${methods.map(() => '---').join('|')}|`,
    ...r.clips.map(
      (c) => `| ${c.name} | ${methods.map((m) => pctText(r.per_clip.find((x) => x.clip === c.name && x.method === m)?.bd_rate.regional_all)).join(' | ')} |`,
    ),
    '',
    '## Knees per clip (kbit/s at CRF; confident / all decisions)',
    '',
    `| clip | noise floor (regional all, x264 CRF ${s.reference_crf}) | ${methods.join(' | ')} |`,
    `|---|---|${methods.map(() => '---').join('|')}|`,
    ...r.clips.map((c) => {
      const cells = methods.map((m) => {
        const k = r.per_clip.find((x) => x.clip === c.name && x.method === m)?.knee;
        const one = (p: { kbps: number; crf: number } | null | undefined) => (p ? `${p.kbps.toFixed(0)} @${p.crf}` : 'none');
        return `${one(k?.regional_confident)} / ${one(k?.regional_all)}`;
      });
      return `| ${c.name} | ${frac(c.noise_floor.regional_all)} | ${cells.join(' | ')} |`;
    }),
    '',
    ...kneeSpanLines(r),
  ];
  const notes = r.per_clip.flatMap((x) =>
    RCA_KINDS.filter((k) => x.bd_rate[k] === null).map((k) => `- ${x.clip}, ${x.method}, ${KIND_LABEL[k]}: no BD-rate: ${x.bd_rate_notes[k]}.`),
  );
  if (notes.length) out.push('## Missing BD-rates', '', ...notes, '');
  out.push(
    '## Methods',
    '',
    ...s.methods.map((m) => `- \`${m.name}\`: ${m.describe}`),
    '',
    `Plots: \`plots/<clip>.svg\` / \`.png\` (bitrate versus RCA, one line per method) and \`plots/bd-rate.svg\` / \`.png\`. Raw points: \`points.csv\`, everything: \`bench.json\`.`,
    '',
  );
  return out.join('\n');
}

/** Which curves the CRF grid brackets the knee of, and why the others do not. */
function kneeSpanLines(r: BenchResult): string[] {
  const kinds = [
    ['regional_confident', 'confident'],
    ['regional_all', 'all-decision'],
  ] as const;
  const lines = kinds.map(([k, label]) => {
    const inside = r.per_clip.filter((x) => x.knee_span[k] === 'inside').length;
    return `- ${label} regional RCA: the CRF points bracket the knee on ${inside} of ${r.per_clip.length} method x clip curves`;
  });
  const misses = r.per_clip.flatMap((x) =>
    kinds
      .filter(([k]) => x.knee_span[k] !== 'inside')
      .map(([k, label]) => {
        const why =
          x.knee_span[k] === 'above'
            ? `meets the threshold at every CRF, up to ${Math.max(...r.settings.crfs)} (knee at or below the lowest rate measured)`
            : x.knee_span[k] === 'below'
              ? `misses the threshold at every CRF, down to ${Math.min(...r.settings.crfs)}`
              : 'no RCA values';
        return `  - ${x.clip}, ${x.method}, ${label}: ${why}`;
      }),
  );
  return [
    '## Knee coverage',
    '',
    `CRFs above 51 run x264 at CRF 51 with (CRF - 51) QP added to every macroblock's offset (x264 quantises QPs up to 69).`,
    '',
    ...lines,
    ...(misses.length ? ['- not bracketed:', ...misses] : []),
    '',
  ];
}
