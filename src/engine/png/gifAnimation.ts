/**
 * Animated GIF of RGB rasters (the node time-lapse's export), encoded by the npm package `gifenc` (MIT, no
 * dependencies): one palette of at most 256 colours quantized over all frames together (so a colour means the
 * same weight in every frame), frames padded to one size on white, looping forever.
 */
import { UserError } from '../runtime/errors';
import { Canvas } from './pngCanvas';

/** The part of gifenc's API used here (it ships no types). */
interface Gifenc {
  GIFEncoder(): {
    writeFrame(index: Uint8Array, width: number, height: number, opts: { palette?: number[][]; delay?: number; repeat?: number }): void;
    finish(): void;
    bytes(): Uint8Array;
  };
  quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: 'rgb565' | 'rgb444' | 'rgba4444' }): number[][];
  applyPalette(rgba: Uint8Array, palette: number[][], format?: 'rgb565' | 'rgb444' | 'rgba4444'): Uint8Array;
}

/** gifenc, loaded when an animation is first asked for; one line saying what is missing when it does not load. */
function loadGifenc(): Gifenc {
  try {
    // A plain require: bundled by esbuild once the package is installed.
    return require('gifenc') as Gifenc;
  } catch (e) {
    throw new UserError(
      'unsupported',
      `Animated export needs the npm package gifenc, which did not load (${e instanceof Error ? e.message.split('\n')[0] : String(e)}).`,
    );
  }
}

/** RGBA bytes of `cv` placed at the top left of a `width` × `height` white frame. */
function rgbaFrame(cv: Canvas, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 4).fill(255);
  for (let y = 0; y < cv.height; y++)
    for (let x = 0; x < cv.width; x++) {
      const i = (y * cv.width + x) * 3;
      const o = (y * width + x) * 4;
      out[o] = cv.data[i];
      out[o + 1] = cv.data[i + 1];
      out[o + 2] = cv.data[i + 2];
    }
  return out;
}

/** Pixels the palette is quantized from: all of every frame, or every n-th past `SAMPLE_PIXELS` (a long series). */
const SAMPLE_PIXELS = 1 << 22;
function paletteSample(rgba: Uint8Array[]): Uint8Array {
  const pixels = rgba.reduce((a, f) => a + f.length / 4, 0);
  const step = Math.max(1, Math.ceil(pixels / SAMPLE_PIXELS));
  const out = new Uint8Array(Math.ceil(pixels / step) * 4);
  let o = 0;
  let k = 0;
  for (const f of rgba)
    for (let i = 0; i < f.length; i += 4, k++)
      if (k % step === 0) {
        out.set(f.subarray(i, i + 4), o);
        o += 4;
      }
  return out.subarray(0, o).slice();
}

/** The GIF file of `frames` (each shown `delayMs`), looping. */
export function encodeGif(frames: Canvas[], delayMs: number): Uint8Array {
  if (!frames.length) throw new UserError('badInput', 'An animation needs at least one frame.');
  const { GIFEncoder, quantize, applyPalette } = loadGifenc();
  const width = Math.max(...frames.map((f) => f.width));
  const height = Math.max(...frames.map((f) => f.height));
  const rgba = frames.map((f) => rgbaFrame(f, width, height));
  const palette = quantize(paletteSample(rgba), 256);
  const gif = GIFEncoder();
  rgba.forEach((f, i) => gif.writeFrame(applyPalette(f, palette), width, height, { ...(i === 0 ? { palette, repeat: 0 } : {}), delay: delayMs }));
  gif.finish();
  return gif.bytes();
}
