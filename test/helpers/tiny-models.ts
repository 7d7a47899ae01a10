import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './env.ts';

/**
 * The tiny seeded ONNX models of test/fixtures/make_tiny_models.py (YOLO v8 and v5
 * layouts, a classifier, a detector-like graph of neither layout), made on demand into a
 * temp folder: nothing binary is committed.
 */
export const PYTHON = '/usr/bin/python3';
export const TINY_MODELS_SCRIPT = join(REPO, 'test', 'fixtures', 'make_tiny_models.py');

function checkPythonOnnx(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import onnx, numpy'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not runnable (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} -c "import onnx, numpy" failed (${(r.stderr.trim().split('\n').pop() ?? '').trim()}): pip install onnx numpy`;
  return undefined;
}

/** Why the tiny models cannot be made here, or undefined when they can. */
export const NO_TINY_MODELS_REASON = checkPythonOnnx();
export const canMakeTinyModels = NO_TINY_MODELS_REASON === undefined;

export interface TinyModels {
  yoloV8: string;
  yoloV5: string;
  classifier: string;
  yoloBad: string;
}

/** Run the script into `dir` (about a second). */
export function makeTinyModels(dir: string): TinyModels {
  const r = spawnSync(PYTHON, [TINY_MODELS_SCRIPT, dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${TINY_MODELS_SCRIPT} failed (exit ${r.status}): ${r.stderr || r.error?.message}`);
  return {
    yoloV8: join(dir, 'yolo-v8.onnx'),
    yoloV5: join(dir, 'yolo-v5.onnx'),
    classifier: join(dir, 'classifier.onnx'),
    yoloBad: join(dir, 'yolo-bad.onnx'),
  };
}
