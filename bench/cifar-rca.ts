/**
 * Independent re-computation, in TypeScript with onnxruntime-node on the exported ONNX
 * files, of the model card's CIFAR-10 test-split numbers: per-classifier RCA, mean RCA,
 * held-out RCA, PSNR(x, x_hat) and mean |e| (0-255 units). Nothing here shares code with
 * training/: the JPEGs are extracted with `tar`, decoded with sharp (libjpeg-turbo, not
 * PIL; the two gave identical pixels on the 300 test images compared), normalised, the
 * four CAMs merged and the generator run here.
 * Acceptance (issue 3): within 0.5 points of RCA and 0.2 dB of PSNR of the card.
 *
 *   npx tsx bench/cifar-rca.ts [--n 10000] [--models models]
 * Writes bench/results/cifar-rca.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MODELS_DIR, GENERATOR, HELDOUT_CLASSIFIER, JND_CLASSIFIERS } from '../src/inference/models.ts';
import { loadSession, runSession, type LoadedSession } from '../src/inference/onnx.ts';
import { DATA_DIR, flag, repoRelative, writeResult } from './common.ts';

const args = process.argv.slice(2);
const n = Number(flag(args, 'n', '10000'));
const modelsDir = flag(args, 'models', DEFAULT_MODELS_DIR);
const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dmvjnd', 'cifar10-ts');
const tar = join(DATA_DIR, 'cifar10', 'cifar10-jpg.tar.gz');
if (!existsSync(join(cache, 'test'))) {
  mkdirSync(cache, { recursive: true });
  console.error(`extracting ${tar} -> ${cache}`);
  execFileSync('tar', ['-xzf', tar, '-C', cache, '--wildcards', 'test/*']);
}
const rows = readFileSync(join(DATA_DIR, 'cifar10', 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
// labels.csv is sorted by class, so a subset (--n below 10000) takes every k-th row to keep
// all ten classes (the first 2,000 rows are only airplanes and automobiles).
const allTest = rows.filter((r) => r[3] === 'test');
const step = Math.max(1, Math.floor(allTest.length / n));
const testRows = allTest.filter((_, i) => i % step === 0).slice(0, n);
const N = testRows.length;
const px = 32 * 32;
const x = new Float32Array(N * 3 * px);
for (let i = 0; i < N; i++) {
  const { data } = await sharp(join(cache, testRows[i][0])).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  for (let c = 0; c < 3; c++) for (let p = 0; p < px; p++) x[i * 3 * px + c * px + p] = data[3 * p + c] / 127.5 - 1;
}

const open = (name: string, inputs: string[], outputs: string[]) =>
  loadSession({ path: join(modelsDir, `${name}.onnx`), inputs, outputs }, { provider: 'cpu' });
const classifiers: Record<string, LoadedSession> = {};
for (const name of [...JND_CLASSIFIERS, HELDOUT_CLASSIFIER]) classifiers[name] = await open(name, ['x'], ['logits', 'cam']);
const generator = await open(GENERATOR, ['x', 'cam'], ['x_hat', 'e']);

const BATCH = 200;
const argmax = (logits: Float32Array, row: number) => {
  let best = 0;
  for (let k = 1; k < 10; k++) if (logits[row * 10 + k] > logits[row * 10 + best]) best = k;
  return best;
};
const agree: Record<string, number> = Object.fromEntries(Object.keys(classifiers).map((k) => [k, 0]));
let psnrSum = 0;
let absSum = 0;
for (let b = 0; b < N; b += BATCH) {
  const m = Math.min(BATCH, N - b);
  const xb = x.subarray(b * 3 * px, (b + m) * 3 * px);
  const dims = [m, 3, 32, 32];
  const ref: Record<string, number[]> = {};
  const cam = new Float32Array(m * px);
  for (const [name, s] of Object.entries(classifiers)) {
    const r = await runSession(s, { x: { data: xb, dims } }, ['logits', 'cam']);
    ref[name] = Array.from({ length: m }, (_, i) => argmax(r.logits.data, i));
    if ((JND_CLASSIFIERS as readonly string[]).includes(name)) for (let i = 0; i < cam.length; i++) cam[i] += r.cam.data[i] / JND_CLASSIFIERS.length;
  }
  const g = await runSession(generator, { x: { data: xb, dims }, cam: { data: cam, dims: [m, 1, 32, 32] } }, ['x_hat', 'e']);
  const xh = g.x_hat.data;
  for (const [name, s] of Object.entries(classifiers)) {
    const r = await runSession(s, { x: { data: xh, dims } }, ['logits']);
    for (let i = 0; i < m; i++) if (argmax(r.logits.data, i) === ref[name][i]) agree[name]++;
  }
  for (let i = 0; i < m; i++) {
    let se = 0;
    let ae = 0;
    for (let k = 0; k < 3 * px; k++) {
      const d = (xh[i * 3 * px + k] - xb[i * 3 * px + k]) * 127.5;
      se += d * d;
      ae += Math.abs(d);
    }
    psnrSum += 10 * Math.log10((255 * 255) / Math.max(1e-10, se / (3 * px)));
    absSum += ae / (3 * px);
  }
  process.stderr.write(`\r${b + m}/${N}`);
}
process.stderr.write('\n');
const rca = Object.fromEntries(Object.entries(agree).map(([k, v]) => [k, v / N]));
const mean = JND_CLASSIFIERS.reduce((s, k) => s + rca[k], 0) / JND_CLASSIFIERS.length;
const result = { n: N, models: repoRelative(modelsDir), rca_per: rca, rca_mean: mean, heldout_rca: rca[HELDOUT_CLASSIFIER], psnr_db: psnrSum / N, mean_abs_e_255: absSum / N };

// Compare with the model card when present.
let card: any;
try {
  card = JSON.parse(readFileSync(join(modelsDir, 'model-card.json'), 'utf8'));
} catch {
  card = undefined;
}
const cardTest = card?.generator?.test;
const cmp = cardTest
  ? {
      rca_mean_diff_points: 100 * (mean - cardTest.rca_mean),
      psnr_diff_db: result.psnr_db - cardTest.psnr_db,
      within_tolerance: Math.abs(100 * (mean - cardTest.rca_mean)) <= 0.5 && Math.abs(result.psnr_db - cardTest.psnr_db) <= 0.2,
    }
  : null;
const md = [
  '# CIFAR-10 test split, re-computed in TypeScript (onnxruntime-node)',
  '',
  `${N} test images (the whole test split when 10000), models \`${repoRelative(modelsDir)}/\`.`,
  '',
  '| metric | TypeScript | model card |',
  '|---|---|---|',
  ...Object.keys(rca).map((k) => `| RCA ${k} | ${(100 * rca[k]).toFixed(2)}% | ${cardTest?.rca_per?.[k] !== undefined ? `${(100 * cardTest.rca_per[k]).toFixed(2)}%` : 'n/a'} |`),
  `| mean RCA (4 classifiers) | ${(100 * mean).toFixed(2)}% | ${cardTest ? `${(100 * cardTest.rca_mean).toFixed(2)}%` : 'n/a'} |`,
  `| PSNR (dB) | ${result.psnr_db.toFixed(2)} | ${cardTest ? cardTest.psnr_db.toFixed(2) : 'n/a'} |`,
  `| mean abs e (0-255) | ${result.mean_abs_e_255.toFixed(2)} | ${cardTest ? cardTest.mean_abs_e_255.toFixed(2) : 'n/a'} |`,
  '',
  cmp ? `Difference: ${cmp.rca_mean_diff_points.toFixed(2)} RCA points, ${cmp.psnr_diff_db.toFixed(3)} dB: ${cmp.within_tolerance ? 'within' : 'OUTSIDE'} the 0.5 point / 0.2 dB tolerance.` : 'No model card to compare with.',
  '',
].join('\n');
writeResult('cifar-rca', { ...result, card_comparison: cmp }, md);
console.log(md);
