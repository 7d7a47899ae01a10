import { expect } from 'chai';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/pipeline.ts';
import { runCli, tempDir, type CliResult } from '../helpers/env.ts';
import { NO_TINY_MODELS_REASON, canMakeTinyModels, makeTinyModels, type TinyModels } from '../helpers/tiny-models.ts';

interface Case {
  name: string;
  /** Needs the tiny ONNX models (Python with onnx). */
  tiny?: boolean;
  /** Arguments; `dir` is the case's own (empty) folder, also the working directory. */
  args: (ctx: { clip: string; dir: string; models: TinyModels }) => string[];
  /** What the one sentence must contain (the flag or file, what was expected, what was received). */
  says: (ctx: { clip: string; dir: string; models: TinyModels }) => Array<string | RegExp>;
  json?: boolean;
  /** The sentence says what was expected (not for a missing file, which "does not exist"). */
  expected?: false;
}

const MACHINE_FORMS = 'centernet, nanodet, cifar, yolo:<file.onnx> or classifier:<file.onnx>';
const YOLO_LAYOUTS = ['[1, 4+C, N] (v8/v11)', '[1, N, 5+C] (v5)'];

// Commands that load an ONNX session get --provider cpu: with auto and no CUDA, a
// "CUDA unavailable" note line would precede the error sentence.
const CASES: Case[] = [
  {
    name: 'encode --analysis-max-stride 4 below the detector\'s default stride of 16',
    args: ({ clip, dir }) => ['encode', clip, '-o', join(dir, 'out.mp4'), '--analysis-max-stride', '4'],
    says: () => ['--analysis-max-stride', '0 (off) or an integer >= --analysis-stride (16)', 'received 4', /^Arguments failed/],
  },
  {
    name: 'encode --offsets det-scale@-2,+12,-1 (negative slope)',
    args: ({ clip, dir }) => ['encode', clip, '-o', join(dir, 'out.mp4'), '--offsets', 'det-scale@-2,+12,-1'],
    says: () => ['--offsets det-scale@<in>,<out>[,<slope>]', 'a slope in [0, 51]', '"det-scale@-2,+12,-1"', /^Arguments failed/],
  },
  {
    name: 'encode --offsets det-roi/qmax70 (a QP ceiling above x264\'s 69)',
    args: ({ clip, dir }) => ['encode', clip, '-o', join(dir, 'out.mp4'), '--offsets', 'det-roi/qmax70'],
    says: () => ['--offsets <method>/qmax<qp>', 'a QP ceiling of 1 to 69', '"det-roi/qmax70"', /^Arguments failed/],
  },
  {
    name: 'encode --bitrate 300 --offsets det-roi/qmax60 (a QP ceiling needs a CRF)',
    args: ({ clip, dir }) => ['encode', clip, '-o', join(dir, 'out.mp4'), '--bitrate', '300', '--offsets', 'det-roi/qmax60', '--provider', 'cpu'],
    says: () => ['--offsets det-roi/qmax60 with --crf', 'received a bitrate target', /^Arguments failed/],
  },
  {
    name: 'encode --machine foo (unknown machine)',
    args: ({ clip, dir }) => ['encode', clip, '-o', join(dir, 'out.mp4'), '--machine', 'foo'],
    says: () => ['--machine', MACHINE_FORMS, '"foo"', /^Arguments failed/],
  },
  {
    name: 'verify --machine yolo:<yolo-bad.onnx> (output [1, 7, 7, 7], neither layout)',
    tiny: true,
    args: ({ clip, models }) => ['verify', clip, clip, '--machine', `yolo:${models.yoloBad}`, '--provider', 'cpu'],
    says: ({ models }) => [models.yoloBad, /^Load model failed/, 'expected a YOLO output of shape', ...YOLO_LAYOUTS, 'received [1, 7, 7, 7]'],
  },
  {
    name: 'verify --machine yolo:<yolo-bad.onnx> --json: the error as JSON on stdout too',
    tiny: true,
    json: true,
    args: ({ clip, models }) => ['verify', clip, clip, '--machine', `yolo:${models.yoloBad}`, '--provider', 'cpu', '--json'],
    says: ({ models }) => [models.yoloBad, ...YOLO_LAYOUTS],
  },
  {
    name: 'verify --machine yolo:<classifier.onnx> (an image classifier passed as yolo:)',
    tiny: true,
    args: ({ clip, models }) => ['verify', clip, clip, '--machine', `yolo:${models.classifier}`, '--provider', 'cpu'],
    says: ({ models }) => [models.classifier, /^Load model failed/, ...YOLO_LAYOUTS, 'received [1, 10]'],
  },
  {
    name: 'verify --machine yolo:/no/such.onnx',
    args: ({ clip }) => ['verify', clip, clip, '--machine', 'yolo:/no/such.onnx'],
    says: () => ['/no/such.onnx', '--machine', 'yolo model file', /does not exist/],
    expected: false,
  },
  ...(['0', '1.5'] as const).map(
    (v): Case => ({
      name: `search --min-f1 ${v}`,
      args: ({ clip, dir }) => ['search', clip, '--min-f1', v, '--cache-dir', join(dir, 'search-cache')],
      says: () => ['--min-f1', 'in (0, 1]', `received ${v}`],
    }),
  ),
  {
    name: 'search --min-map50 -1',
    args: ({ clip, dir }) => ['search', clip, '--min-map50', '-1', '--cache-dir', join(dir, 'search-cache')],
    says: () => ['--min-map50', 'in (0, 1]', 'received -1'],
  },
  {
    name: 'encode --offsets det-roi@x,y',
    args: ({ clip, dir }) => ['encode', clip, '-o', join(dir, 'out.mp4'), '--offsets', 'det-roi@x,y'],
    says: () => ['det-roi@<in>,<out>', 'two QP offsets in [-51, 51]', '"det-roi@x,y"'],
  },
  {
    name: 'bench --machine cifar --machine centernet (cifar scores RCA, alone)',
    args: ({ clip, dir }) => ['bench', clip, '--machine', 'cifar', '--machine', 'centernet', '--out', join(dir, 'bench-out')],
    says: () => ['--machine cifar alone', 'received cifar, centernet'],
  },
];

/** Run `tasks` at most `limit` at a time (each CLI start costs a second or more of tsx start-up). */
function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Array<Promise<T>> {
  const gates = tasks.map(() => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { opened, open };
  });
  const results = tasks.map((task, i) => gates[i].opened.then(task));
  let next = 0;
  const startNext = (): void => {
    if (next >= tasks.length) return;
    const i = next++;
    gates[i].open();
    results[i].then(startNext, startNext);
  };
  for (let k = 0; k < Math.min(limit, tasks.length); k++) startNext();
  return results;
}

/**
 * Bad --machine values and detector thresholds through the real CLI: exit 1 (or 2 for a
 * yargs usage error), one sentence on stderr naming the flag or file, what was expected
 * and what was received, and nothing written (each case runs in its own empty folder,
 * its output paths inside it).
 */
describe('cli: bad machine input (--machine, yolo: files, --min-f1/--min-map50, det-roi offsets)', function () {
  const tmp = tempDir('dmvjnd-machine-bad-');
  let clip = '';
  let models: TinyModels;
  const results = new Map<string, Promise<CliResult>>();
  const dirs = new Map<string, string>();
  const runnable = CASES.filter((c) => !c.tiny || canMakeTinyModels);

  before(async () => {
    clip = join(tmp.path, 'in.mp4');
    await encode({ input: { source: 'testsrc2=size=64x64:rate=10:duration=1', lavfi: true, label: 'lavfi' }, output: clip, offsets: { kind: 'none' }, maxFrames: 10 });
    models = canMakeTinyModels
      ? makeTinyModels(join(tmp.path, 'models'))
      : { yoloV8: '', yoloV5: '', classifier: '', yoloBad: '' };
    const started = pool(
      runnable.map((c, i) => () => {
        const dir = join(tmp.path, `case-${i}`);
        mkdirSync(dir);
        dirs.set(c.name, dir);
        return runCli(c.args({ clip, dir, models }), { cwd: dir });
      }),
      3,
    );
    runnable.forEach((c, i) => results.set(c.name, started[i]));
    // Mocha would flag a rejection nobody awaited yet; each test awaits its own.
    for (const p of started) p.catch(() => undefined);
  });
  after(() => tmp.cleanup());

  for (const c of CASES) {
    if (c.tiny && !canMakeTinyModels) {
      it(`${c.name}: skipped: ${NO_TINY_MODELS_REASON}`, function () {
        this.skip();
      });
      continue;
    }
    it(c.name, async () => {
      const r = await results.get(c.name)!;
      const dir = dirs.get(c.name)!;
      const ctx = { clip, dir, models };
      expect(r.signal, r.stderr).to.equal(null);
      expect([1, 2], `exit code ${r.code}: ${r.stderr}`).to.include(r.code);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines, r.stderr).to.have.length(1);
      const line = lines[0];
      expect(line).to.match(/^dmvjnd: /);
      const sentence = line.slice('dmvjnd: '.length);
      expect(sentence, 'one sentence').to.match(/\.$/);
      if (c.expected !== false) expect(sentence).to.include('expected');
      for (const s of c.says(ctx)) {
        if (typeof s === 'string') expect(sentence).to.include(s);
        else expect(sentence).to.match(s);
      }
      expect(readdirSync(dir), 'nothing written (output, temp files, bench folder, search cache)').to.deep.equal([]);
      if (c.json) {
        const out = JSON.parse(r.stdout) as { ok: boolean; error: { stage: string; file: string | null; message: string } };
        expect(out.ok).to.equal(false);
        expect(out.error.stage).to.equal('load model');
        expect(out.error.file).to.equal(models.yoloBad);
        expect(out.error.message).to.equal(sentence);
      } else {
        expect(r.stdout).to.equal('');
      }
    });
  }
});
