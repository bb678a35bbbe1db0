/**
 * A minimal RGB raster for the CLI's PNG figures: fill, scaled blits of plain arrays through a colour map,
 * numbers in a 3×5 pixel font (legends and axis indices), and PNG encoding with pngjs.
 */
import { PNG } from 'pngjs';
import type { Rgb } from './figureColors';

/** 3×5 glyphs, rows top to bottom, 3 bits per row (MSB left). */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '-': [0, 0, 7, 0, 0],
  '+': [0, 2, 7, 2, 0],
  '.': [0, 0, 0, 0, 2],
  e: [0, 7, 7, 4, 7],
  ' ': [0, 0, 0, 0, 0],
};

export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  fill(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.set(i, j, c);
  }

  /**
   * Draws a `[h, w]` array (row-major, `values[r * w + c]`) at (x, y), each value a `scale`×`scale` block
   * coloured by `colour(value)`.
   */
  blit(x: number, y: number, values: ArrayLike<number>, h: number, w: number, scale: number, colour: (v: number) => Rgb): void {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) this.fill(x + c * scale, y + r * scale, scale, scale, colour(values[r * w + c]));
    }
  }

  /** Draws an `[h, w, 3]` image of values in [0, 1] as RGB. */
  blitRgb(x: number, y: number, values: ArrayLike<number>, h: number, w: number, scale: number): void {
    const b = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const o = (r * w + c) * 3;
        this.fill(x + c * scale, y + r * scale, scale, scale, [b(values[o]), b(values[o + 1]), b(values[o + 2])]);
      }
    }
  }

  /** Writes `text` (digits, `-+.e`) at (x, y) in the 3×5 font magnified `size` times; returns the width used. */
  text(x: number, y: number, text: string, size = 2, colour: Rgb = [0, 0, 0]): number {
    let cx = x;
    for (const ch of text) {
      const g = GLYPHS[ch] ?? GLYPHS[' '];
      for (let r = 0; r < 5; r++) for (let c = 0; c < 3; c++) if (g[r] & (4 >> c)) this.fill(cx + c * size, y + r * size, size, size, colour);
      cx += 4 * size;
    }
    return cx - x;
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    for (let i = 0; i < this.width * this.height; i++) {
      png.data[i * 4] = this.data[i * 3];
      png.data[i * 4 + 1] = this.data[i * 3 + 1];
      png.data[i * 4 + 2] = this.data[i * 3 + 2];
      png.data[i * 4 + 3] = 255;
    }
    return PNG.sync.write(png);
  }
}
