import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODELS_DIR, GENERATOR, HELDOUT_CLASSIFIER, INT8_SUBDIR, JND_CLASSIFIERS } from '../../src/inference/models.ts';

/** The models tests use: DMVJND_MODELS, else models/ of the checkout. */
export const MODELS_DIR = DEFAULT_MODELS_DIR;
const needed = [...JND_CLASSIFIERS, HELDOUT_CLASSIFIER, GENERATOR].map((n) => join(MODELS_DIR, `${n}.onnx`));
export const missingModels = needed.filter((p) => !existsSync(p));
export const hasModels = missingModels.length === 0;
export const NO_MODELS_REASON = `trained models missing (${missingModels.map((p) => p.replace(/^.*\//, '')).join(', ')} in ${MODELS_DIR}; run npm run export or set DMVJND_MODELS)`;

/** The int8 analysis copies (`npm run quantize`), in <models>/int8/. */
const neededInt8 = [...JND_CLASSIFIERS, GENERATOR].map((n) => join(MODELS_DIR, INT8_SUBDIR, `${n}.onnx`));
export const hasInt8Models = hasModels && neededInt8.every((p) => existsSync(p));
export const NO_INT8_MODELS_REASON = `int8 analysis models missing in ${join(MODELS_DIR, INT8_SUBDIR)} (run npm run quantize)`;
