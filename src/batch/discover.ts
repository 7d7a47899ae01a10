/**
 * Which jobs a batch (or a queue submission) runs: files, folders (recursive, video files
 * only), globs, `lavfi:<graph>` sources, or a JSONL manifest with one job per line. Each
 * job's output mirrors its input's place under the folder or glob it came from, inside
 * `--out`, with a report JSON beside it. Collisions are refused before anything runs.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DmvjndError } from '../errors.ts';
import { isSameFile } from '../util/same-file.ts';
import { mergeJobOptions, type EncodeArgs } from './encode-args.ts';

/** Extensions taken from folders and from globs that name no extension of their own. */
export const VIDEO_EXTENSIONS = new Set([
  '.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.ts', '.mts', '.m2ts', '.mpg', '.mpeg', '.flv', '.wmv', '.y4m', '.3gp', '.ogv', '.mxf', '.dv', '.vob', '.h264', '.264', '.hevc', '.ivf',
]);

export interface JobSpec {
  /** 1-based position in the batch. */
  index: number;
  /** A path as given (relative to the working folder or the manifest), or `lavfi:<graph>`. */
  input: string;
  /** Absolute output path (MP4) and report path beside it. */
  output: string;
  report: string;
  /** The job's settings (command line, then its manifest line). */
  settings: EncodeArgs;
  /** Where the job came from, for messages: an argument or `manifest.jsonl:LINE`. */
  origin: string;
}

export interface DiscoverOptions {
  inputs: string[];
  manifest?: string;
  out: string;
  settings: EncodeArgs;
}

const usage = (file: string | undefined, reason: string) => new DmvjndError('arguments', file, reason);

export function discoverJobs(o: DiscoverOptions): JobSpec[] {
  const out = resolve(o.out);
  const found: Omit<JobSpec, 'index'>[] = [];
  const place = (input: string, rel: string | undefined, settings: EncodeArgs, origin: string, output?: string) => {
    const target = output !== undefined ? resolve(out, output) : join(out, rel ?? lavfiName(input));
    const stem = target.slice(0, target.length - extname(target).length);
    const mp4 = output !== undefined ? target : `${stem}.mp4`;
    found.push({ input, output: mp4, report: `${mp4.slice(0, mp4.length - extname(mp4).length)}.report.json`, settings, origin });
  };
  for (const arg of o.inputs) {
    if (arg.startsWith('lavfi:')) {
      place(arg, undefined, o.settings, arg);
    } else if (hasGlob(arg)) {
      const matches = expandGlob(arg, out);
      if (matches.length === 0) throw usage(arg, 'the pattern matches no video file');
      for (const m of matches) place(m.path, m.rel, o.settings, arg);
    } else if (!existsSync(arg)) {
      throw usage(arg, 'no such file or folder');
    } else if (statSync(arg).isDirectory()) {
      const files = walk(resolve(arg), out).filter((f) => VIDEO_EXTENSIONS.has(extname(f).toLowerCase()));
      if (files.length === 0) throw usage(arg, 'the folder holds no video file');
      for (const f of files) place(join(arg, f), f, o.settings, arg);
    } else {
      place(arg, basename(arg), o.settings, arg);
    }
  }
  if (o.manifest) readManifest(o.manifest, o.settings, place);
  if (found.length === 0) throw usage(undefined, 'expected at least one input (files, folders, globs or --manifest)');
  const jobs = found.map((j, i) => ({ ...j, index: i + 1 }));
  checkCollisions(jobs);
  return jobs;
}

function readManifest(
  path: string,
  settings: EncodeArgs,
  place: (input: string, rel: string | undefined, settings: EncodeArgs, origin: string, output?: string) => void,
): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw usage(path, 'the manifest cannot be read (no such file?)');
  }
  const base = dirname(resolve(path));
  text.split('\n').forEach((line, i) => {
    const where = `${path}:${i + 1}`;
    if (line.trim() === '') return;
    let job: unknown;
    try {
      job = JSON.parse(line);
    } catch {
      throw usage(where, 'expected one JSON object per line');
    }
    if (!job || typeof job !== 'object' || Array.isArray(job)) throw usage(where, 'expected one JSON object per line');
    const { input, output, ...options } = job as Record<string, unknown>;
    if (typeof input !== 'string' || input === '') throw usage(where, 'expected an "input" path or lavfi:<graph>');
    if (output !== undefined && typeof output !== 'string') throw usage(where, 'expected "output" to be a path');
    const merged = mergeJobOptions(settings, options, where);
    const inputPath = input.startsWith('lavfi:') || isAbsolute(input) ? input : join(base, input);
    if (!input.startsWith('lavfi:') && existsSync(inputPath) && statSync(inputPath).isDirectory()) {
      throw usage(where, `the input ${input} is a folder: a manifest names one file per line`);
    }
    // A relative output is relative to --out; without one, the input's own name.
    place(inputPath, input.startsWith('lavfi:') ? undefined : basename(input), merged, where, output);
  });
}

function lavfiName(input: string): string {
  return `lavfi-${createHash('sha256').update(input).digest('hex').slice(0, 10)}.mp4`;
}

/** Files under `root` (relative paths), hidden entries and the output folder left out. */
function walk(root: string, skip: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (full === skip) continue;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = statSync(full);
          isDir = false; // links to folders are not followed (no cycles)
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isDir) visit(full);
      else if (isFile) out.push(relative(root, full));
    }
  };
  visit(root);
  return out;
}

export function hasGlob(arg: string): boolean {
  return /[*?[{]/.test(arg);
}

/** A glob (`*`, `?`, `[...]`, `{a,b}`, `**` for any depth) expanded from its literal leading folders. */
export function expandGlob(pattern: string, skip: string): { path: string; rel: string }[] {
  const parts = pattern.split(/[\\/]+/);
  const firstGlob = parts.findIndex((p) => hasGlob(p));
  const baseParts = parts.slice(0, firstGlob);
  const base = baseParts.length === 0 ? '.' : baseParts.join('/') || '/';
  const rest = parts.slice(firstGlob);
  if (!existsSync(base) || !statSync(base).isDirectory()) return [];
  const re = new RegExp(`^${rest.map(globPart).join('/').replace(/\(\?:\.\*\/\)\?\//g, '(?:.*/)?')}$`);
  const last = rest[rest.length - 1];
  const namesExtension = /\.[A-Za-z0-9]+$/.test(last);
  return walk(resolve(base), skip)
    .map((rel) => rel.split(sep).join('/'))
    .filter((rel) => re.test(rel) && (namesExtension || VIDEO_EXTENSIONS.has(extname(rel).toLowerCase())))
    .map((rel) => ({ path: join(base, rel), rel }));
}

function globPart(part: string): string {
  if (part === '**') return '(?:.*/)?';
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${part.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = part.indexOf('}', i + 1);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${part.slice(i + 1, end).split(',').map((s) => s.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*')).join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return re;
}

/** Two jobs to one output, or an output (or report) that is an input: refused up front. */
export function checkCollisions(jobs: JobSpec[]): void {
  const byOutput = new Map<string, JobSpec>();
  for (const j of jobs) {
    for (const path of [j.output, j.report]) {
      const other = byOutput.get(path);
      if (other) {
        throw usage(path, `two jobs write this output (${other.input} from ${other.origin} and ${j.input} from ${j.origin}): give them distinct outputs`);
      }
      byOutput.set(path, j);
    }
  }
  const inputs = jobs.filter((j) => !j.input.startsWith('lavfi:'));
  for (const j of jobs) {
    for (const path of [j.output, j.report]) {
      const hit = inputs.find((i) => resolve(i.input) === path || isSameFile(i.input, path));
      if (hit) throw usage(path, `the output is the input file ${hit.input}: choose another --out folder or output`);
    }
  }
}
