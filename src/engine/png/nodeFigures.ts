/**
 * The node's figures as rasters and PNGs (`feature-lens render`, the time-lapse frames and the page's PNG
 * export): plain arrays in, pixels out. What each figure shows is described in `cli/figures.ts`.
 */
import { formatNumber } from '../../shared/colorScale';
import type { FloatArray } from '../../shared/protocol';
import { check } from '../runtime/errors';
import { diverging, grey, sequential, type Rgb } from './figureColors';
import { Canvas } from './pngCanvas';

const WHITE: Rgb = [255, 255, 255];
const PAD = 8;

/** Integer magnification that brings `size` pixels near `target`. */
function magnify(size: number, target: number): number {
  return Math.max(1, Math.floor(target / Math.max(1, size)));
}

/** The node's weight tiles in a grid with a legend strip (see the file comment). */
export function weightsFigure(tiles: FloatArray[], rgb: boolean, min: number, max: number): Uint8Array {
  return weightsCanvas(tiles, rgb, min, max).toPng();
}

/** `weightsFigure` as a raster (a frame of the time-lapse animation). */
export function weightsCanvas(tiles: FloatArray[], rgb: boolean, min: number, max: number): Canvas {
  const maxAbs = Math.max(Math.abs(min), Math.abs(max)) || 1;
  const [th, tw] = tiles[0].shape;
  const scale = tw > 4 * th ? magnify(tw, 512) : magnify(Math.max(th, tw), 96);
  const cols = Math.ceil(Math.sqrt(tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const cellW = tw * scale + PAD;
  const cellH = th * scale + PAD;
  const legendW = Math.max(160, cols * cellW - PAD);
  const width = Math.max(cols * cellW + PAD, legendW + 2 * PAD);
  const height = rows * cellH + PAD + 16 + 6 + 14;
  const cv = new Canvas(width, height, WHITE);
  tiles.forEach((t, i) => {
    const x = PAD + (i % cols) * cellW;
    const y = PAD + Math.floor(i / cols) * cellH;
    if (rgb && t.shape[2] === 3) {
      const v = Float32Array.from(t.data, (a) => (a / maxAbs + 1) / 2);
      cv.blitRgb(x, y, v, th, tw, scale);
    } else cv.blit(x, y, t.data, th, tw, scale, (v) => diverging(v, maxAbs));
  });
  // Legend: -maxAbs … +maxAbs, with the real min, 0 and max marked and written.
  const ly = rows * cellH + PAD;
  for (let i = 0; i < legendW; i++) cv.fill(PAD + i, ly, 1, 12, diverging(((i / (legendW - 1)) * 2 - 1) * maxAbs, maxAbs));
  const at = (v: number) => PAD + Math.round(((v / maxAbs + 1) / 2) * (legendW - 1));
  for (const v of [min, 0, max]) cv.fill(at(v), ly + 12, 1, 4, [0, 0, 0]);
  const labelY = ly + 18;
  cv.text(PAD, labelY, formatNumber(min), 2);
  cv.text(at(0) - 3, labelY, '0', 2);
  const maxText = formatNumber(max);
  cv.text(PAD + legendW - maxText.length * 8, labelY, maxText, 2);
  return cv;
}

/** Rows input / feature map / deconvolution, one column per image (see the file comment). */
export function topFigure(columns: TopColumn[]): Uint8Array {
  return topCanvas(columns).toPng();
}

export interface TopColumn {
  index: number;
  image: FloatArray;
  map: FloatArray;
  projection?: FloatArray;
}

/** `topFigure` as a raster (a frame of the time-lapse animation). */
export function topCanvas(columns: TopColumn[]): Canvas {
  check(columns.length > 0, 'No top images to draw.');
  const [h, w, c] = columns[0].image.shape;
  const scale = magnify(Math.max(h, w), 84);
  const cellW = w * scale + PAD;
  const cellH = h * scale + PAD;
  const labelH = 16;
  const cv = new Canvas(columns.length * cellW + PAD, labelH + 3 * cellH + PAD, WHITE);
  let mapMax = 0;
  for (const col of columns) for (const v of col.map.data) mapMax = Math.max(mapMax, v);
  columns.forEach((col, i) => {
    const x = PAD + i * cellW;
    cv.text(x, 4, String(col.index), 2);
    let y = labelH;
    if (c === 3) cv.blitRgb(x, y, col.image.data, h, w, scale);
    else cv.blit(x, y, channel(col.image, 0), h, w, scale, grey);
    y += cellH;
    // The map at the input's size: nearest-neighbour blocks (a dense node's single value fills the cell).
    const [mh, mw] = col.map.shape.length === 2 ? col.map.shape : [1, col.map.data.length];
    const up = resizeNearest(col.map.data, mh, mw, h * scale, w * scale);
    cv.blit(x, y, up, h * scale, w * scale, 1, (v) => sequential(mapMax > 0 ? v / mapMax : 0));
    y += cellH;
    if (col.projection) {
      const p = col.projection;
      let m = 0;
      for (const v of p.data) m = Math.max(m, Math.abs(v));
      if (p.shape[2] === 3)
        cv.blitRgb(
          x,
          y,
          Float32Array.from(p.data, (v) => (m > 0 ? (v / m + 1) / 2 : 0.5)),
          p.shape[0],
          p.shape[1],
          scale,
        );
      else cv.blit(x, y, channel(p, 0), p.shape[0], p.shape[1], scale, (v) => diverging(v, m));
    } else cv.fill(x, y, w * scale, h * scale, [200, 200, 200]);
  });
  return cv;
}

/** One image `[h, w, c]` in [0, 1] (RGB, else its first channel in grey), magnified. */
export function imageFigure(image: FloatArray): Uint8Array {
  const [h, w, c] = image.shape;
  const scale = magnify(Math.max(h, w), 224);
  const cv = new Canvas(w * scale + 2 * PAD, h * scale + 2 * PAD, WHITE);
  if (c === 3) cv.blitRgb(PAD, PAD, image.data, h, w, scale);
  else cv.blit(PAD, PAD, channel(image, 0), h, w, scale, grey);
  return cv.toPng();
}

/** `norms[class][layer]` as a heat-map table, each column scaled to its maximum; columns labelled with `layers` (model layer indices). */
export function classTableFigure(norms: number[][], layers?: number[]): Uint8Array {
  const C = norms.length;
  const L = norms[0]?.length ?? 0;
  const cellW = 36;
  const cellH = 18;
  const left = 40;
  const topMargin = 20;
  const cv = new Canvas(left + L * cellW + PAD, topMargin + C * cellH + PAD, WHITE);
  for (let l = 0; l < L; l++) {
    cv.text(left + l * cellW + 4, 4, String(layers?.[l] ?? l), 2);
    let m = 0;
    for (let c = 0; c < C; c++) m = Math.max(m, norms[c][l]);
    for (let c = 0; c < C; c++) cv.fill(left + l * cellW, topMargin + c * cellH, cellW - 2, cellH - 2, sequential(m > 0 ? norms[c][l] / m : 0));
  }
  for (let c = 0; c < C; c++) cv.text(4, topMargin + c * cellH + 3, String(c), 2);
  return cv.toPng();
}

function channel(a: FloatArray, ch: number): Float32Array {
  const c = a.shape[2] ?? 1;
  const n = a.shape[0] * a.shape[1];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = a.data[i * c + ch];
  return out;
}

function resizeNearest(data: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.floor((y * h) / H));
    for (let x = 0; x < W; x++) out[y * W + x] = data[sy * w + Math.min(w - 1, Math.floor((x * w) / W))];
  }
  return out;
}
