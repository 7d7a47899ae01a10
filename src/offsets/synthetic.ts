import type { MacroblockGrid } from '../media/mb-grid.ts';

/**
 * Synthetic offset maps for exercising the per-MB QP path without a model:
 *   none            no ROI side data at all
 *   uniform:<d>     every macroblock gets d
 *   split:<l>,<r>   left half of the MB columns gets l, right half r
 *   columns:<a>,<b>,...  MB column c gets the (c mod n)-th value
 */
export type SyntheticOffsetSpec =
  | { kind: 'none' }
  | { kind: 'uniform'; delta: number }
  | { kind: 'split'; left: number; right: number }
  | { kind: 'columns'; pattern: number[] };

export const SYNTHETIC_OFFSET_HELP = 'none | uniform:<d> | split:<left>,<right> | columns:<d1>,<d2>,...';

export function parseSyntheticOffsets(text: string): SyntheticOffsetSpec {
  const [kind, rest = ''] = text.split(/:(.*)/s);
  const numbers = (): number[] => {
    const parts = rest.split(',').map((s) => s.trim());
    const values = parts.map(Number);
    if (rest.trim() === '' || values.some((v) => !Number.isFinite(v))) {
      throw new RangeError(`Expected numbers after "${kind}:" in --offsets but received "${rest}"`);
    }
    return values;
  };
  switch (kind) {
    case 'none':
      return { kind: 'none' };
    case 'uniform': {
      const v = numbers();
      if (v.length !== 1) throw new RangeError(`Expected one number in uniform:<d> but received "${rest}"`);
      return { kind: 'uniform', delta: v[0] };
    }
    case 'split': {
      const v = numbers();
      if (v.length !== 2) throw new RangeError(`Expected two numbers in split:<left>,<right> but received "${rest}"`);
      return { kind: 'split', left: v[0], right: v[1] };
    }
    case 'columns':
      return { kind: 'columns', pattern: numbers() };
    default:
      throw new RangeError(`Expected --offsets to be one of ${SYNTHETIC_OFFSET_HELP} but received "${text}"`);
  }
}

/** The map for one frame, or null for "no ROI side data". */
export function syntheticOffsetMap(spec: SyntheticOffsetSpec, grid: MacroblockGrid): Float32Array | null {
  if (spec.kind === 'none') return null;
  const map = new Float32Array(grid.count);
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.cols; col++) {
      map[row * grid.cols + col] = offsetAt(spec, col, grid.cols);
    }
  }
  return map;
}

function offsetAt(spec: Exclude<SyntheticOffsetSpec, { kind: 'none' }>, col: number, cols: number): number {
  switch (spec.kind) {
    case 'uniform':
      return spec.delta;
    case 'split':
      return col < cols / 2 ? spec.left : spec.right;
    case 'columns':
      return spec.pattern[col % spec.pattern.length];
  }
}
