/**
 * The colour scale and number format shared by the panel (webview canvases, legends, charts), the tree views
 * and the CLI's PNG figures, so that a weight has the same colour and a value the same text everywhere.
 * Pure functions, no DOM and no Node APIs.
 */

export type Rgb = [number, number, number];

/** ColorBrewer RdBu ends: #2166ac (blue, -1) and #b2182b (red, +1). */
const BLUE: Rgb = [33, 102, 172];
const RED: Rgb = [178, 24, 43];

/**
 * Blue (negative) – white (0) – red (positive) for `t` in [-1, 1], linear on each side so that red minus blue
 * is proportional to the value; clamped beyond ±1, white for a non-finite `t`.
 */
export function diverging(t: number): Rgb {
  const x = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0));
  const end = x < 0 ? BLUE : RED;
  const a = Math.abs(x);
  return [Math.round(255 + (end[0] - 255) * a), Math.round(255 + (end[1] - 255) * a), Math.round(255 + (end[2] - 255) * a)];
}

/**
 * `v` with `digits` significant digits, in exponent form below 1e-3 or from 1e5 on (not for 0). Trailing zeros
 * are dropped unless `keepZeros` (which keeps a column of scores aligned: "12.50").
 */
export function formatNumber(v: number, digits = 3, keepZeros = false): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits - 1);
  return keepZeros ? v.toPrecision(digits) : Number(v.toPrecision(digits)).toString();
}
