/**
 * Pixels to canvas: the RGBA that raster.ts computes (pure, unit-tested) put on canvases at natural size (one
 * canvas pixel per value; CSS scales with pixelated), and legends with their real values.
 */
import { diverging, formatNumber } from '../shared/colorScale';
import type { Pixels } from '../shared/webviewProtocol';
import { dims, legendBar, range, rasterize, type ColorMode, type LegendMode, type RasterOptions, type Rgba } from './raster';

export { diverging, dims, range, type ColorMode, type LegendMode };

/** A new canvas holding `rgba` at its natural size. */
export function rgbaCanvas(rgba: Rgba): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = rgba.width;
  canvas.height = rgba.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const img = ctx.createImageData(rgba.width, rgba.height);
  img.data.set(rgba.data);
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/**
 * Draws one channel (or RGB when c is 3 and `rgb`) of a float image into a new canvas of its natural size.
 * `image`: values in [0, 1], gray or RGB. `signed`: diverging around 0 with limit `lim` (RGB: (v/lim + 1)/2).
 */
export function drawPixels(p: Pixels, mode: ColorMode, opts: RasterOptions = {}): HTMLCanvasElement {
  return rgbaCanvas(rasterize(p.shape, new Float32Array(p.data), mode, opts));
}

/** A legend: the colour bar with its real values at both ends and at zero. */
export function legend(mode: LegendMode, min: number, max: number, label: string): HTMLElement {
  const box = document.createElement('div');
  box.className = 'legend';
  const { bar, lo, hi } = legendBar(mode, min, max);
  const canvas = rgbaCanvas(bar);
  canvas.dataset.role = 'legend';
  const name = document.createElement('span');
  name.className = 'legend-label';
  name.textContent = label;
  const left = document.createElement('span');
  left.textContent = fmt(lo);
  const right = document.createElement('span');
  right.textContent = fmt(hi);
  const note = document.createElement('span');
  note.className = 'legend-note';
  const lim = Math.max(Math.abs(min), Math.abs(max));
  note.textContent =
    mode === 'signed'
      ? `0 is white; data range ${fmt(min)} … ${fmt(max)}`
      : mode === 'signedRgb'
        ? `per colour channel: 0 is mid-grey (0 in all three), ${fmt(-lim)} none, ${fmt(lim)} full; data range ${fmt(min)} … ${fmt(max)}`
        : '';
  box.append(name, left, canvas, right, note);
  return box;
}

/** A value as legends and charts write it: 3 significant digits (src/shared/colorScale.ts). */
export function fmt(v: number): string {
  return formatNumber(v);
}
