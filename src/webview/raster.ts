/**
 * Values to pixels, as pure functions (no DOM: unit-tested in plain Node). The canvas code in colormap.ts only
 * puts the RGBA these return. Grayscale for images; a diverging blue–white–red map centred on zero for signed
 * values (weights, projections), one pixel per value.
 */
import { diverging } from '../shared/colorScale';
import { range } from '../shared/range';

export type ColorMode = 'image' | 'signed';
/** Legends also describe signed RGB tiles (a 3-channel filter): each channel from 0 at -lim through half at 0 to full at +lim. */
export type LegendMode = ColorMode | 'signedRgb';

/** An RGBA image, 4 bytes per pixel, row by row (what `ImageData` holds). */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** `[h, w, c]`, `[h, w]` or `[n]` as height, width, channels (a vector is one row). */
export function dims(shape: readonly number[]): { h: number; w: number; c: number } {
  if (shape.length >= 3) return { h: shape[0], w: shape[1], c: shape[2] };
  if (shape.length === 2) return { h: shape[0], w: shape[1], c: 1 };
  return { h: 1, w: shape[0] ?? 1, c: 1 };
}

export { range };

/** The value drawn at full colour by a signed map of values from `min` to `max`: the larger magnitude. */
export function signedLimit(min: number, max: number): number {
  return Math.max(Math.abs(min), Math.abs(max));
}

export interface RasterOptions {
  /** Signed mode: the value at full colour (default: the largest magnitude in the data). */
  lim?: number;
  /** The channel to draw (default 0, or RGB when the image has 3 channels and `rgb` is not false). */
  channel?: number;
  rgb?: boolean;
  /** Image mode: map this range to black..white instead of [0, 1]. */
  stretch?: { min: number; max: number };
}

/**
 * One channel (or RGB when c is 3 and `rgb`) of a float image `[h, w, c]`, at its natural size (at least 1×1).
 * `image`: values in [0, 1] (or `stretch`), gray or RGB, clamped. `signed`: `diverging(v / lim)`, white at 0;
 * RGB signed: each channel (v/lim + 1)/2.
 */
export function rasterize(shape: readonly number[], data: ArrayLike<number>, mode: ColorMode, opts: RasterOptions = {}): Rgba {
  const { h, w, c } = dims(shape);
  const width = Math.max(1, w);
  const height = Math.max(1, h);
  const out = new Uint8ClampedArray(width * height * 4);
  const rgb = (opts.rgb ?? true) && c === 3 && opts.channel === undefined;
  const ch = opts.channel ?? 0;
  let lim = opts.lim;
  if (lim === undefined) {
    const r = range(data);
    lim = signedLimit(r.min, r.max);
  }
  const inv = lim > 0 ? 1 / lim : 0;
  const lo = opts.stretch?.min ?? 0;
  const scale = opts.stretch ? (opts.stretch.max > opts.stretch.min ? 1 / (opts.stretch.max - opts.stretch.min) : 0) : 1;
  const unit = (u: number) => Math.round(255 * Math.max(0, Math.min(1, u)));
  for (let i = 0; i < h * w; i++) {
    const o = i * 4;
    if (rgb) {
      for (let k = 0; k < 3; k++) {
        const v = data[i * c + k];
        out[o + k] = unit(mode === 'image' ? (v - lo) * scale : (v * inv + 1) / 2);
      }
    } else {
      const v = data[i * c + ch];
      if (mode === 'image') {
        out[o] = out[o + 1] = out[o + 2] = unit((v - lo) * scale);
      } else {
        const [r, g, b] = diverging(v * inv);
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      }
    }
    out[o + 3] = 255;
  }
  return { width, height, data: out };
}

/** A legend's colour bar and the values it labels. */
export interface LegendBar {
  /** `width` × 1 pixels, from `lo` (left) to `hi` (right), each pixel the colour of its centre's value. */
  bar: Rgba;
  lo: number;
  hi: number;
}

/**
 * The colour bar of a legend: `signed` from -lim to +lim around a white 0; `signedRgb` from -lim (black) to +lim
 * (white) through mid-grey at 0, what a signed RGB tile does to each channel; `image` from black 0 to white 1.
 */
export function legendBar(mode: LegendMode, min: number, max: number, width = 128): LegendBar {
  const lim = signedLimit(min, max);
  const lo = mode === 'image' ? 0 : -lim;
  const hi = mode === 'image' ? 1 : lim;
  const data = new Uint8ClampedArray(width * 4);
  for (let x = 0; x < width; x++) {
    const v = lo + ((hi - lo) * (x + 0.5)) / width;
    const u = lim > 0 ? v / lim : 0;
    const g = Math.round(255 * Math.max(0, Math.min(1, mode === 'signedRgb' ? u / 2 + 0.5 : v)));
    const [r, gr, b] = mode === 'signed' ? diverging(u) : [g, g, g];
    data.set([r, gr, b, 255], 4 * x);
  }
  return { bar: { width, height: 1, data }, lo, hi };
}
