/**
 * Colour maps for the engine's PNG figures: the panel's diverging blue–white–red map (src/shared/colorScale.ts)
 * centred on zero for signed values (weights, projections), a sequential viridis-like map for magnitudes
 * (feature maps, norms), and grey. Each returns `[r, g, b]` bytes.
 */
import { diverging as divergingUnit, type Rgb } from '../../shared/colorScale';

export type { Rgb };

/** Control points of viridis at 0 … 1. */
const VIRIDIS: Rgb[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [181, 222, 43],
  [253, 231, 37],
];

function lerpTable(table: Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (table.length - 1);
  const i = Math.min(table.length - 2, Math.floor(x));
  const f = x - i;
  const a = table[i];
  const b = table[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** `v` in [-maxAbs, maxAbs] → blue (negative) … white (0) … red (positive). */
export function diverging(v: number, maxAbs: number): Rgb {
  return divergingUnit(maxAbs > 0 ? v / maxAbs : 0);
}

/** `t` in [0, 1] → viridis. */
export function sequential(t: number): Rgb {
  return lerpTable(VIRIDIS, t);
}

/** `t` in [0, 1] → grey. */
export function grey(t: number): Rgb {
  const g = Math.round(Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * 255);
  return [g, g, g];
}
