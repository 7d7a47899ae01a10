/**
 * The embedded street scene behind the default sample clip: a drawn panorama (a brick wall
 * with a clock, a stop sign, a traffic light, a textured road) in which the COCO detector
 * finds a clock, a stop sign and a traffic light, so that `dmvjnd encode` with no input
 * shows what the product is for without any file. The SVG is made here; sharp renders it
 * once to a PNG in the OS temp folder (named by the SVG's hash), which the sample's lavfi
 * graph pans across.
 */
import { createHash } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const STREET_WIDTH = 1280;
export const STREET_HEIGHT = 360;

const octagon = (cx: number, cy: number, r: number): string =>
  Array.from({ length: 8 }, (_, i) => {
    const a = Math.PI / 8 + (i * Math.PI) / 4;
    return `${(cx + r * Math.cos(a)).toFixed(1)},${(cy + r * Math.sin(a)).toFixed(1)}`;
  }).join(' ');

const clockTicks = (cx: number, cy: number, r: number): string =>
  Array.from({ length: 12 }, (_, i) => {
    const a = (i * Math.PI) / 6;
    const at = (k: number) => [(cx + k * r * Math.cos(a)).toFixed(1), (cy + k * r * Math.sin(a)).toFixed(1)];
    const [x1, y1] = at(0.78);
    const [x2, y2] = at(0.93);
    return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#111" stroke-width="${i % 3 ? 3 : 6}"/>`;
  }).join('');

/** The panorama as SVG (pure; deterministic). */
export function streetSceneSvg(): string {
  const W = STREET_WIDTH;
  const H = STREET_HEIGHT;
  // Fractal-noise grain over the walls and the road: flat colours would cost x264 nothing,
  // and the point of the demo is the bits a textured background costs.
  const grain = (x: number, y: number, w: number, h: number) => `<rect x="${x}" y="${y}" width="${w}" height="${h}" filter="url(#grain)" fill="#fff"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
<defs>
<linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6fa8dc"/><stop offset="1" stop-color="#cfe2f3"/></linearGradient>
<filter id="grain" x="0" y="0" width="100%" height="100%"><feTurbulence type="fractalNoise" baseFrequency="0.9" numOctaves="2" seed="7"/><feColorMatrix type="matrix" values="0 0 0 0 0.5  0 0 0 0 0.45  0 0 0 0 0.4  0 0 0 0.55 0"/><feComposite in2="SourceGraphic" operator="in"/></filter>
<pattern id="bricks" width="48" height="24" patternUnits="userSpaceOnUse"><rect width="48" height="24" fill="#9c4a32"/><path d="M0 0H48M0 12H48M12 0V12M36 12V24" stroke="#d8c8b8" stroke-width="2"/></pattern>
</defs>
<rect width="${W}" height="${H}" fill="url(#sky)"/>
<rect x="0" y="40" width="520" height="200" fill="url(#bricks)"/>${grain(0, 40, 520, 200)}
<rect x="760" y="70" width="520" height="170" fill="#b9b2a3"/>${grain(760, 70, 520, 170)}
${[800, 900, 1000, 1100, 1200].map((x) => `<rect x="${x}" y="100" width="50" height="70" fill="#33475b"/>`).join('')}
<rect x="0" y="240" width="${W}" height="120" fill="#55565b"/>${grain(0, 240, W, 120)}
${Array.from({ length: 14 }, (_, i) => `<rect x="${i * 96}" y="300" width="48" height="6" fill="#eee"/>`).join('')}
<circle cx="300" cy="120" r="62" fill="#222"/><circle cx="300" cy="120" r="56" fill="#f5f4ee"/>${clockTicks(300, 120, 56)}
<line x1="300" y1="120" x2="330" y2="100" stroke="#111" stroke-width="7" stroke-linecap="round"/><line x1="300" y1="120" x2="294" y2="74" stroke="#111" stroke-width="4" stroke-linecap="round"/>
<rect x="626" y="150" width="8" height="150" fill="#9a9a9a"/>
<polygon points="${octagon(630, 140, 50)}" fill="#c8141e" stroke="#fff" stroke-width="4"/>
<!-- A machine without DejaVu or Liberation fonts draws no text: the bare octagon still scores 0.62 as a stop sign (0.75 with it). -->
<text x="630" y="151" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-weight="bold" font-size="28" fill="#fff" text-anchor="middle">STOP</text>
<rect x="966" y="160" width="8" height="140" fill="#555"/>
<rect x="948" y="60" width="44" height="110" rx="8" fill="#1d1d1d"/>
<circle cx="970" cy="83" r="13" fill="#e8231f"/><circle cx="970" cy="115" r="13" fill="#4a3b12"/><circle cx="970" cy="147" r="13" fill="#123a1a"/>
</svg>`;
}

/** Where the rendered panorama lives (the OS temp folder, named by the SVG's hash). */
export function streetScenePath(): string {
  const hash = createHash('sha256').update(streetSceneSvg()).digest('hex').slice(0, 12);
  return join(tmpdir(), `dmvjnd-street-${hash}.png`);
}

/** Renders the panorama once (beside its final name, then renamed: concurrent runs are safe). */
export async function ensureStreetScene(): Promise<string> {
  const path = streetScenePath();
  if (existsSync(path)) return path;
  const { default: sharp } = await import('sharp');
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await sharp(Buffer.from(streetSceneSvg())).png().toFile(temp);
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
  return path;
}
