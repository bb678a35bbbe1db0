/**
 * Pixels to canvas: grayscale for images, a diverging blue–white–red map centred on zero for signed values
 * (weights, projections), drawn at natural size (one canvas pixel per value; CSS scales with pixelated).
 */
import { diverging, formatNumber } from '../shared/colormap';
import type { Pixels } from '../shared/webviewProtocol';

export { diverging };

export type ColorMode = 'image' | 'signed';
/** Legends also describe signed RGB tiles (a 3-channel filter): each channel from 0 at -lim through half at 0 to full at +lim. */
export type LegendMode = ColorMode | 'signedRgb';

/** `[h, w, c]`, `[h, w]` or `[n]` as height, width, channels (a vector is one row). */
export function dims(shape: number[]): { h: number; w: number; c: number } {
  if (shape.length >= 3) return { h: shape[0], w: shape[1], c: shape[2] };
  if (shape.length === 2) return { h: shape[0], w: shape[1], c: 1 };
  return { h: 1, w: shape[0] ?? 1, c: 1 };
}

export function range(data: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 0 };
}

/**
 * Draws one channel (or RGB when c is 3 and `rgb`) of a float image into a new canvas of its natural size.
 * `image`: values in [0, 1], gray or RGB. `signed`: diverging around 0 with limit `lim` (RGB: (v/lim + 1)/2).
 */
export function drawPixels(p: Pixels, mode: ColorMode, opts: { lim?: number; channel?: number; rgb?: boolean; stretch?: { min: number; max: number } } = {}): HTMLCanvasElement {
  const data = new Float32Array(p.data);
  const { h, w, c } = dims(p.shape);
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, w);
  canvas.height = Math.max(1, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const img = ctx.createImageData(canvas.width, canvas.height);
  const out = img.data;
  const rgb = (opts.rgb ?? true) && c === 3 && opts.channel === undefined;
  const ch = opts.channel ?? 0;
  let lim = opts.lim;
  if (lim === undefined) {
    const r = range(data);
    lim = Math.max(Math.abs(r.min), Math.abs(r.max));
  }
  const inv = lim > 0 ? 1 / lim : 0;
  // `stretch`: an image whose values are not in [0, 1] is shown with its own range mapped to black..white.
  const lo = opts.stretch?.min ?? 0;
  const scale = opts.stretch ? (opts.stretch.max > opts.stretch.min ? 1 / (opts.stretch.max - opts.stretch.min) : 0) : 1;
  for (let i = 0; i < h * w; i++) {
    const o = i * 4;
    if (rgb) {
      for (let k = 0; k < 3; k++) {
        const v = data[i * c + k];
        const u = mode === 'image' ? (v - lo) * scale : (v * inv + 1) / 2;
        out[o + k] = Math.round(255 * Math.max(0, Math.min(1, u)));
      }
    } else {
      const v = data[i * c + ch];
      if (mode === 'image') {
        const g = Math.round(255 * Math.max(0, Math.min(1, (v - lo) * scale)));
        out[o] = out[o + 1] = out[o + 2] = g;
      } else {
        const [r, g, b] = diverging(v * inv);
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      }
    }
    out[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** A legend: the colour bar with its real values at both ends and at zero. */
export function legend(mode: LegendMode, min: number, max: number, label: string): HTMLElement {
  const box = document.createElement('div');
  box.className = 'legend';
  const bar = document.createElement('canvas');
  bar.width = 128;
  bar.height = 1;
  bar.dataset.role = 'legend';
  const ctx = bar.getContext('2d')!;
  const lim = Math.max(Math.abs(min), Math.abs(max));
  const lo = mode === 'image' ? 0 : -lim;
  const hi = mode === 'image' ? 1 : lim;
  for (let x = 0; x < 128; x++) {
    const v = lo + ((hi - lo) * (x + 0.5)) / 128;
    if (mode === 'signedRgb') {
      // What drawPixels does to each channel of an RGB tile: (v / lim + 1) / 2.
      const g = Math.round(255 * Math.max(0, Math.min(1, (lim > 0 ? v / lim : 0) / 2 + 0.5)));
      ctx.fillStyle = `rgb(${g},${g},${g})`;
    } else if (mode === 'signed') {
      const [r, g, b] = diverging(lim > 0 ? v / lim : 0);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
    } else {
      const g = Math.round(255 * v);
      ctx.fillStyle = `rgb(${g},${g},${g})`;
    }
    ctx.fillRect(x, 0, 1, 1);
  }
  const name = document.createElement('span');
  name.className = 'legend-label';
  name.textContent = label;
  const left = document.createElement('span');
  left.textContent = fmt(lo);
  const right = document.createElement('span');
  right.textContent = fmt(hi);
  const note = document.createElement('span');
  note.className = 'legend-note';
  note.textContent =
    mode === 'signed' ? `0 is white; data range ${fmt(min)} … ${fmt(max)}` : mode === 'signedRgb' ? `per colour channel: 0 is mid-grey (0 in all three), ${fmt(-lim)} none, ${fmt(lim)} full; data range ${fmt(min)} … ${fmt(max)}` : '';
  box.append(name, left, bar, right, note);
  return box;
}

/** A value as legends and charts write it: 3 significant digits (src/shared/colormap.ts). */
export function fmt(v: number): string {
  return formatNumber(v);
}
