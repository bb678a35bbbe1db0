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

/** The GIF file of `frames` (each shown `delayMs`), looping. */
export function encodeGif(frames: Canvas[], delayMs: number): Uint8Array {
  if (!frames.length) throw new UserError('badInput', 'An animation needs at least one frame.');
  const { GIFEncoder, quantize, applyPalette } = loadGifenc();
  const width = Math.max(...frames.map((f) => f.width));
  const height = Math.max(...frames.map((f) => f.height));
  const rgba = frames.map((f) => rgbaFrame(f, width, height));
  const all = new Uint8Array(rgba.length * rgba[0].length);
  rgba.forEach((f, i) => all.set(f, i * f.length));
  const palette = quantize(all, 256);
  const gif = GIFEncoder();
  rgba.forEach((f, i) => gif.writeFrame(applyPalette(f, palette), width, height, { ...(i === 0 ? { palette, repeat: 0 } : {}), delay: delayMs }));
  gif.finish();
  return gif.bytes();
}
