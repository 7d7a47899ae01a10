/**
 * Outputs of the detector benchmark: bench.json, points.csv, summary.md and plots (per
 * clip: bitrate versus F1 and versus mAP@0.5 of the headline detector, one line per
 * method; and the mean BD-rate per method), rendered like the CIFAR bench's.
 */
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import { DETECTOR_ANCHOR, DETECTOR_KINDS, type DetectorBenchPoint, type DetectorBenchResult } from './detector-bench.ts';
import { methodColours, outputWriter, renderSvg, slug } from './outputs.ts';


export async function writeDetectorBenchOutputs(result: DetectorBenchResult, dir: string): Promise<string[]> {
  const { write, files } = outputWriter(dir);
  const used = new Set<string>();
  for (const clip of result.clips) {
    const svg = await renderSvg(clipChart(result, clip.name));
    let name = slug(clip.name);
    for (let i = 2; used.has(name); i++) name = `${slug(clip.name)}-${i}`;
    used.add(name);
    write(`plots/${name}.svg`, svg);
    write(`plots/${name}.png`, await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
  }
  const bars = await renderSvg(bdRateChart(result));
  write('plots/bd-rate.svg', bars);
  write('plots/bd-rate.png', await sharp(Buffer.from(bars), { density: 144 }).png().toBuffer());
  write('points.csv', pointsCsv(result));
  write('summary.md', detectorSummaryMarkdown(result));
  const all = [...files, 'bench.json'];
  write('bench.json', `${JSON.stringify({ ...result, files: all }, null, 1)}\n`);
  return all;
}

function clipChart(r: DetectorBenchResult, clip: string): TopLevelSpec {
  const scorer = r.settings.scored_by[0];
  const info = r.clips.find((c) => c.name === clip);
  const floor = info?.noise_floor[scorer];
  const rows = r.points
    .filter((p) => p.clip === clip && !p.reference)
    .map((p) => ({ method: p.method, crf: p.crf, kbps: p.bitrate_kbps, f1: p.machines[scorer]?.f1 ?? null, map50: p.machines[scorer]?.map50 ?? null }));
  const methods = r.settings.methods.map((m) => m.name);
  const panel = (field: 'f1' | 'map50', title: string, rule: number | null | undefined, label: string) => ({
    width: 360,
    height: 260,
    title: { text: title, fontSize: 13 },
    layer: [
      {
        mark: { type: 'line' as const, point: { filled: true, size: 36 }, strokeWidth: 2 },
        transform: [{ filter: `datum.${field} !== null` }],
        encoding: {
          x: { field: 'kbps', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'video bitrate (kbit/s, log scale)' },
          y: { field, type: 'quantitative' as const, scale: { zero: false }, title: field === 'f1' ? 'detection F1 vs source' : 'mAP@0.5 vs source', axis: { format: '.0%' } },
          color: { field: 'method', type: 'nominal' as const, scale: { domain: methods, range: methodColours(methods) }, title: 'method' },
          order: { field: 'kbps', type: 'quantitative' as const },
          tooltip: [{ field: 'method' }, { field: 'crf' }, { field: 'kbps', format: '.1f' }, { field, format: '.4f' }],
        },
      },
      ...(rule === null || rule === undefined
        ? []
        : [
            { data: { values: [{ y: rule }] }, mark: { type: 'rule' as const, strokeDash: [5, 4], color: '#555' }, encoding: { y: { field: 'y', type: 'quantitative' as const } } },
            { data: { values: [{ y: rule, label }] }, mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -6, x: 0, color: '#555', fontSize: 10 }, encoding: { y: { field: 'y', type: 'quantitative' as const }, text: { field: 'label' } } },
          ]),
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${clip}: bitrate versus detection agreement (${scorer})`,
      subtitle: `${info?.frames ?? '?'} frames, ${info?.width}x${info?.height}, ${info?.reference_objects_per_frame?.toFixed(1) ?? '?'} objects per frame; x264 preset ${r.settings.x264.preset}`,
      anchor: 'start',
    },
    data: { values: rows },
    hconcat: [
      panel('f1', 'F1 (same class, IoU >= 0.5, score hysteresis)', floor?.f1, `noise floor: x264 CRF ${r.settings.noise_crf}`),
      panel('map50', 'mAP@0.5, source detections as ground truth', floor?.map50, `x264 CRF ${r.settings.noise_crf}`),
    ],
    resolve: { scale: { color: 'shared' } },
    config: { background: 'white', font: 'sans-serif' },
  } as TopLevelSpec;
}

function bdRateChart(r: DetectorBenchResult): TopLevelSpec {
  const rows = r.summary
    .filter((s) => s.method !== DETECTOR_ANCHOR)
    .flatMap((s) => r.settings.scored_by.flatMap((m) => DETECTOR_KINDS.map((k) => ({ method: s.method, kind: `${m} ${k}`, bd: s.by_machine[m]?.bd_rate_mean[k] ?? null }))))
    .filter((x) => x.bd !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `BD-rate versus plain x264 at equal detection agreement (mean over ${r.clips.filter((c) => c.has_objects).length} clips with objects)`,
      subtitle: 'negative = fewer bits for the same detections',
      anchor: 'start',
    },
    data: { values: rows },
    width: 420,
    height: { step: 12 },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'method', type: 'nominal', sort: r.settings.methods.map((m) => m.name), title: null },
      yOffset: { field: 'kind' },
      x: { field: 'bd', type: 'quantitative', title: 'BD-rate (%)' },
      color: { field: 'kind', type: 'nominal', title: 'scored by, agreement' },
      tooltip: [{ field: 'method' }, { field: 'kind' }, { field: 'bd', format: '.1f' }],
    },
    config: { background: 'white', font: 'sans-serif' },
  } as TopLevelSpec;
}

function pointsCsv(r: DetectorBenchResult): string {
  const scorers = r.settings.scored_by;
  const fields = ['f1', 'precision', 'recall', 'map50', 'map50_weighted', 'class_agreement', 'reference_objects', 'tp', 'fp', 'fn'];
  const header = ['clip', 'method', 'crf', 'reference', 'guided_by', 'frames', 'width', 'height', 'bytes', 'video_bytes', 'bitrate_kbps', 'bpp', 'psnr_y_db', ...scorers.flatMap((s) => fields.map((f) => `${s}_${f}`)), 'encode_fps'];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(Number(v.toPrecision(10))) : '') : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const line = (p: DetectorBenchPoint) =>
    [p.clip, p.method, p.crf, p.reference, p.guided_by, p.frames, p.width, p.height, p.bytes, p.video_bytes, p.bitrate_kbps, p.bpp, p.psnr_y_db, ...scorers.flatMap((s) => fields.map((f) => p.machines[s]?.[f])), p.encode_fps].map(cell).join(',');
  return `${[header.join(','), ...r.points.map(line)].join('\n')}\n`;
}

const pctText = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(d)}%`);
const ciText = (ci: [number, number] | null | undefined): string => (ci ? `${pctText(ci[0])} to ${pctText(ci[1])}` : 'n/a');
const frac = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(d)}%`);

export function detectorSummaryMarkdown(r: DetectorBenchResult): string {
  const s = r.settings;
  const headline = s.scored_by[0];
  const methods = s.methods.map((m) => m.name);
  const withObjects = r.clips.filter((c) => c.has_objects);
  const without = r.clips.filter((c) => !c.has_objects);
  const m = s.match as { high?: number; low?: number; iou?: number } | undefined;
  const out = [
    `# Bitrate versus detection agreement (${s.scored_by.join(', ')})`,
    '',
    `${r.clips.length} clips, ${s.frames === null ? 'all frames' : `${s.frames} frames each (${s.start === 'middle' ? 'around the middle' : s.start === 'last' ? 'at the end' : 'from the start'})`}; CRF ${s.crfs.join(', ')}; x264 preset ${s.x264.preset}, keyint ${s.x264.keyint}; detector-guided offsets every ${s.jnd.analysisStride} frames.`,
    '',
    `Agreement: the scoring detector's detections on the decoded frame against its detections on the source frame (same class, IoU >= ${m?.iou ?? 0.5}; a detection counts once its score is >= ${m?.high ?? '?'}, and may match down to ${m?.low ?? '?'}: the hysteresis band). F1 is micro over all frames; mAP@0.5 takes the source detections as ground truth. ` +
      `BD-rate: Bjontegaard delta rate against \`${s.anchor}\` at equal F1 (headline) or mAP@0.5 (PCHIP on monotone curves over the overlapping range), video bitrate only; negative = fewer bits for the same detections. Means are over the ${withObjects.length} clips with objects${without.length ? `; left out (no object detected): ${without.map((c) => c.name).join(', ')}` : ''}.`,
    '',
    `## Mean BD-rate over clips with objects, scored by ${headline}`,
    '',
    '| method | guided by | BD-rate at equal F1 (headline) | 95% interval (clips resampled) | median | at equal mAP@0.5 | median | clips (F1 / mAP) | F1 knee saving |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.summary.map((x) => `| ${x.method} | ${x.guided_by} | ${pctText(x.bd_rate_mean.f1)} | ${ciText(x.bd_rate_ci95?.f1)} | ${pctText(x.bd_rate_median.f1)} | ${pctText(x.bd_rate_mean.map50)} | ${pctText(x.bd_rate_median.map50)} | ${x.bd_rate_clips.f1} / ${x.bd_rate_clips.map50} | ${frac(x.knee_saving_mean.f1)} |`),
    '',
  ];
  for (const other of s.scored_by.slice(1)) {
    out.push(
      `## Mean BD-rate scored by ${other} (it placed no offsets and chose no setting)`,
      '',
      '| method | BD-rate at equal F1 | median | at equal mAP@0.5 | clips |',
      '|---|---|---|---|---|',
      ...r.summary.map((x) => {
        const b = x.by_machine[other];
        return `| ${x.method} | ${pctText(b?.bd_rate_mean.f1)} | ${pctText(b?.bd_rate_median.f1)} | ${pctText(b?.bd_rate_mean.map50)} | ${b?.bd_rate_clips.f1 ?? 0} / ${b?.bd_rate_clips.map50 ?? 0} |`;
      }),
      '',
    );
  }
  out.push(
    `## BD-rate at equal F1 (${headline}), per clip`,
    '',
    `| clip | objects / frame | noise floor F1 (CRF ${s.noise_crf} / consecutive frames) | ${methods.join(' | ')} |`,
    `|---|---|---|${methods.map(() => '---').join('|')}|`,
    ...r.clips.map((c) => {
      const f = c.noise_floor[headline];
      return `| ${c.name} | ${c.reference_objects_per_frame?.toFixed(1) ?? 'n/a'} | ${frac(f?.f1)} / ${frac(f?.consecutive_f1)} | ${methods.map((mm) => pctText(r.per_clip.find((x) => x.clip === c.name && x.method === mm)?.bd_rate.f1)).join(' | ')} |`;
    }),
    '',
    `## BD-rate at equal mAP@0.5 (${headline}), per clip`,
    '',
    `| clip | ${methods.join(' | ')} |`,
    `|---|${methods.map(() => '---').join('|')}|`,
    ...r.clips.map((c) => `| ${c.name} | ${methods.map((mm) => pctText(r.per_clip.find((x) => x.clip === c.name && x.method === mm)?.bd_rate.map50)).join(' | ')} |`),
    '',
    `## F1 knees (kbit/s @ CRF: the lowest rate from which F1 stays >= the CRF-${s.noise_crf} noise floor - ${(100 * s.f1_knee_margin).toFixed(0)} pt)`,
    '',
    `| clip | ${methods.join(' | ')} |`,
    `|---|${methods.map(() => '---').join('|')}|`,
    ...r.clips.map((c) => `| ${c.name} | ${methods.map((mm) => { const k = r.per_clip.find((x) => x.clip === c.name && x.method === mm)?.knee.f1; return k ? `${k.kbps.toFixed(0)} @${k.crf}` : 'none'; }).join(' | ')} |`),
    '',
    '## Methods',
    '',
    ...s.methods.map((x) => `- \`${x.name}\` (guided by ${x.guided_by}): ${x.describe}`),
    '',
    'Plots: `plots/<clip>.png` (bitrate versus F1 and mAP@0.5), `plots/bd-rate.png`. Raw points: `points.csv`; everything: `bench.json`.',
    '',
  );
  const missing = r.per_clip.flatMap((x) => DETECTOR_KINDS.filter((k) => x.bd_rate[k] === null).map((k) => `- ${x.clip}, ${x.method}, ${k}: ${x.bd_rate_notes[k]}`));
  if (missing.length) out.push('## Missing BD-rates', '', ...missing, '');
  return out.join('\n');
}
