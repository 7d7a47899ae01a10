/**
 * The picture that shows what dmvjnd does to a frame: four panels side by side
 * (frame, merged CAM, DMV-JND map, per-MB QP offsets), colour-mapped, with titles and
 * legends, rendered with sharp (SVG text and gradients composited over raw pixels).
 */
import sharp from 'sharp';

type Rgb = [number, number, number];

/** Viridis, 5 anchors, linear in between: perceptually ordered, colour-blind safe. */
const VIRIDIS: Rgb[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
/** Diverging blue - white - red for signed QP offsets (blue = finer, red = coarser). */
const DIVERGING: Rgb[] = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];

function lut(stops: Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as Rgb;
}

/** Map a scalar field to packed RGB with a colour map over [lo, hi]. */
export function colourise(values: Float32Array, lo: number, hi: number, stops: Rgb[] = VIRIDIS): Buffer {
  const out = Buffer.alloc(values.length * 3);
  const span = hi - lo || 1;
  for (let i = 0; i < values.length; i++) {
    const [r, g, b] = lut(stops, (values[i] - lo) / span);
    out[3 * i] = r;
    out[3 * i + 1] = g;
    out[3 * i + 2] = b;
  }
  return out;
}

export interface FigureInput {
  /** Packed RGB of the frame, any size. */
  frameRgb: { data: Uint8Array; width: number; height: number };
  view: { width: number; height: number };
  mergedCam: Float32Array;
  jnd: Float32Array;
  offsets: Float32Array;
  grid: { cols: number; rows: number };
  offsetRange: [number, number];
  title: string;
}

const PANEL_W = 360;
const HEADER = 34;
const FOOTER = 46;
const GAP = 8;

export async function renderJndFigure(input: FigureInput): Promise<Buffer> {
  const aspect = input.frameRgb.height / input.frameRgb.width;
  const panelH = Math.max(60, Math.round(PANEL_W * aspect));
  const jndMax = Math.max(1, percentile(input.jnd, 0.99));
  const [lo, hi] = input.offsetRange;
  const panels: Panel[] = [
    {
      title: 'frame',
      img: await resized(Buffer.from(input.frameRgb.data.buffer, input.frameRgb.data.byteOffset, input.frameRgb.data.byteLength), input.frameRgb.width, input.frameRgb.height, panelH, 'lanczos3'),
      legend: '',
    },
    {
      title: 'merged CAM (machine attention)',
      img: await resized(colourise(input.mergedCam, 0, 1), input.view.width, input.view.height, panelH, 'nearest'),
      legend: gradientLegend(VIRIDIS, '0', '1'),
    },
    {
      title: 'DMV-JND (0-255 units)',
      img: await resized(colourise(input.jnd, 0, jndMax), input.view.width, input.view.height, panelH, 'nearest'),
      legend: gradientLegend(VIRIDIS, '0', jndMax.toFixed(1)),
    },
    {
      title: 'QP offset per macroblock',
      img: await resized(colourise(input.offsets, lo, hi, DIVERGING), input.grid.cols, input.grid.rows, panelH, 'nearest'),
      legend: gradientLegend(DIVERGING, `${lo} finer`, `+${hi} coarser`),
    },
  ];
  return renderPanels(panels, panelH, input.title);
}

interface Panel {
  title: string;
  img: Buffer;
  legend: string;
  /** SVG drawn over the panel image (panel pixel coordinates). */
  overlay?: string;
}

/** Panels side by side with titles, legends and a caption. */
async function renderPanels(panels: Panel[], panelH: number, title: string): Promise<Buffer> {
  const width = panels.length * PANEL_W + (panels.length + 1) * GAP;
  const height = HEADER + panelH + FOOTER + 20;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    `<style>text{font-family:DejaVu Sans,Arial,sans-serif;fill:#222}</style>`,
    `<text x="${GAP}" y="${height - 6}" font-size="12">${escapeXml(title)}</text>`,
    ...panels.map((p, i) => {
      const x = GAP + i * (PANEL_W + GAP);
      return (
        `<text x="${x}" y="22" font-size="14">${escapeXml(p.title)}</text>` +
        (p.legend ? `<g transform="translate(${x},${HEADER + panelH + 8})">${p.legend}</g>` : '') +
        (p.overlay ? `<g transform="translate(${x},${HEADER})">${p.overlay}</g>` : '')
      );
    }),
    '</svg>',
  ].join('');
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite([
      ...panels.map((p, i) => ({ input: p.img, left: GAP + i * (PANEL_W + GAP), top: HEADER })),
      { input: Buffer.from(svg), left: 0, top: 0 },
    ])
    .png()
    .toBuffer();
}

async function resized(rgb: Buffer, w: number, h: number, panelH: number, kernel: 'nearest' | 'lanczos3'): Promise<Buffer> {
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).resize(PANEL_W, panelH, { fit: 'fill', kernel }).png().toBuffer();
}

function gradientLegend(stops: Rgb[], left: string, right: string): string {
  const id = `g${Math.random().toString(36).slice(2, 8)}`;
  const stopTags = stops.map((c, i) => `<stop offset="${(100 * i) / (stops.length - 1)}%" stop-color="rgb(${c.join(',')})"/>`).join('');
  return (
    `<defs><linearGradient id="${id}">${stopTags}</linearGradient></defs>` +
    `<rect width="${PANEL_W}" height="12" fill="url(#${id})" stroke="#555" stroke-width="0.5"/>` +
    `<text x="0" y="28" font-size="12">${escapeXml(left)}</text>` +
    `<text x="${PANEL_W}" y="28" font-size="12" text-anchor="end">${escapeXml(right)}</text>`
  );
}

function percentile(values: Float32Array, p: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

export interface DetectorFigureInput {
  frameRgb: { data: Uint8Array; width: number; height: number };
  /** The source frame size the boxes are in. */
  frameSize: { width: number; height: number };
  detections: Array<{ cls: number; score: number; box: { x1: number; y1: number; x2: number; y2: number } }>;
  /** Detections at or above this score are drawn solid, those in the hysteresis band dashed. */
  threshold: number;
  low: number;
  classes: string[];
  /** Class-max heatmap (CenterNet), or box saliency. */
  heatmap: { width: number; height: number; data: Float32Array };
  /** The detector-trained DMV-JND (0-255 units), when the offsets come from it. */
  jnd?: { width: number; height: number; data: Float32Array };
  offsets: Float32Array;
  offsetsTitle: string;
  grid: { cols: number; rows: number };
  offsetRange: [number, number];
  title: string;
}

/** What the detector sees and what dmvjnd does with it: frame with boxes, heatmap, QP offsets. */
export async function renderDetectorFigure(input: DetectorFigureInput): Promise<Buffer> {
  const aspect = input.frameRgb.height / input.frameRgb.width;
  const panelH = Math.max(60, Math.round(PANEL_W * aspect));
  const sx = PANEL_W / input.frameSize.width;
  const sy = panelH / input.frameSize.height;
  const boxes = input.detections
    .filter((d) => d.score >= input.low)
    .map((d) => {
      const solid = d.score >= input.threshold;
      const x = d.box.x1 * sx;
      const y = d.box.y1 * sy;
      const label = `${input.classes[d.cls] ?? d.cls} ${d.score.toFixed(2)}`;
      return (
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${((d.box.x2 - d.box.x1) * sx).toFixed(1)}" height="${((d.box.y2 - d.box.y1) * sy).toFixed(1)}" fill="none" stroke="${solid ? '#ffdd00' : '#ff8800'}" stroke-width="${solid ? 2 : 1}"${solid ? '' : ' stroke-dasharray="4,3"'}/>` +
        `<text x="${(x + 2).toFixed(1)}" y="${Math.max(10, y - 3).toFixed(1)}" font-size="10" style="fill:${solid ? '#ffdd00' : '#ff8800'};paint-order:stroke;stroke:#000;stroke-width:2px">${escapeXml(label)}</text>`
      );
    })
    .join('');
  const [lo, hi] = input.offsetRange;
  const h = input.heatmap;
  const panels: Panel[] = [
    {
      title: 'frame and detections',
      img: await resized(Buffer.from(input.frameRgb.data.buffer, input.frameRgb.data.byteOffset, input.frameRgb.data.byteLength), input.frameRgb.width, input.frameRgb.height, panelH, 'lanczos3'),
      legend: `<text x="0" y="12" font-size="12">solid: score >= ${input.threshold}; dashed: ${input.low}-${input.threshold} (hysteresis band)</text>`,
      overlay: boxes,
    },
    {
      title: 'detector heatmap (max over classes)',
      img: await resized(colourise(h.data, 0, 1), h.width, h.height, panelH, 'nearest'),
      legend: gradientLegend(VIRIDIS, '0', '1'),
    },
    ...(input.jnd
      ? [{
          title: 'DMV-JND for the detector (0-255 units)',
          img: await resized(colourise(input.jnd.data, 0, Math.max(1, percentile(input.jnd.data, 0.99))), input.jnd.width, input.jnd.height, panelH, 'nearest'),
          legend: gradientLegend(VIRIDIS, '0', Math.max(1, percentile(input.jnd.data, 0.99)).toFixed(1)),
        }]
      : []),
    {
      title: input.offsetsTitle,
      img: await resized(colourise(input.offsets, lo, hi, DIVERGING), input.grid.cols, input.grid.rows, panelH, 'nearest'),
      legend: gradientLegend(DIVERGING, `${lo} finer`, `+${hi} coarser`),
    },
  ];
  return renderPanels(panels, panelH, input.title);
}
