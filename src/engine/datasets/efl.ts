/**
 * The EFL generator (the seed's toy dataset, after Orbanz 2017): the letters E, F and L drawn as dark
 * strokes (0) on a white background (1), each image shifted by up to `jitter` pixels and its legs
 * lengthened or shortened by up to one pixel, plus noise `max(0, N(0, noise))` (negative noise samples
 * set to 0), clipped to [0, 1]. `negative` gives the photographic negative `1 - x`.
 * Image `i` has label `i % 3` (E, F, L) and is a pure function of (seed, split, i), so any image can be
 * drawn alone and every run reproduces.
 */
import * as crypto from 'node:crypto';
import type { Split } from '../../shared/protocol';
import { RangeDataset } from './base';
import { Random, seedOf } from './random';

export interface EflOptions {
  /** `[height, width]`, default `[20, 20]`. */
  size: [number, number];
  trainPerClass: number;
  testPerClass: number;
  noise: number;
  negative: boolean;
  seed: number;
  /** Largest shift in pixels, default 1. */
  jitter: number;
}

export const EFL_DEFAULTS: EflOptions = { size: [20, 20], trainPerClass: 3333, testPerClass: 400, noise: 0.2, negative: false, seed: 1, jitter: 1 };
export const EFL_CLASSES = ['E', 'F', 'L'];

export type Stroke = 'vertical' | 'top' | 'middle' | 'bottom';
/** Which strokes each letter has. E vs F differ by `bottom`; E vs L by `top` and `middle`. */
export const EFL_LETTERS: Record<string, Stroke[]> = {
  E: ['vertical', 'top', 'middle', 'bottom'],
  F: ['vertical', 'top', 'middle'],
  L: ['vertical', 'bottom'],
};

interface Rect {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/** The strokes' rectangles (end-exclusive) for an image of `[h, w]`, shifted by (dy, dx), legs changed by `legs[k]`. */
function strokeRects(h: number, w: number, dy = 0, dx = 0, legs: number[] = [0, 0, 0]): Record<Stroke, Rect> {
  const t = Math.max(1, Math.round(Math.min(h, w) / 10));
  const top = Math.round(h * 0.15) + dy;
  const bottom = Math.round(h * 0.85) + dy;
  const left = Math.round(w * 0.25) + dx;
  const right = Math.round(w * 0.75) + dx;
  const middle = Math.round((top + bottom - t) / 2);
  const clampX = (x: number) => Math.max(0, Math.min(w, x));
  return {
    vertical: { y0: top, y1: bottom, x0: left, x1: left + t },
    top: { y0: top, y1: top + t, x0: left, x1: clampX(right + legs[0]) },
    middle: { y0: middle, y1: middle + t, x0: left, x1: clampX(Math.round(left + (right - left) * 0.8) + legs[1]) },
    bottom: { y0: bottom - t, y1: bottom, x0: left, x1: clampX(right + legs[2]) },
  };
}

/**
 * Where each stroke is drawn on an unshifted letter: `[h, w]` masks (1 inside the stroke). Images differ
 * from these by at most `jitter` pixels of shift and one pixel of leg length.
 */
export function eflStrokeMasks(size: [number, number] = EFL_DEFAULTS.size): Record<Stroke, Uint8Array> {
  const [h, w] = size;
  const rects = strokeRects(h, w);
  const out = {} as Record<Stroke, Uint8Array>;
  for (const s of Object.keys(rects) as Stroke[]) {
    const m = new Uint8Array(h * w);
    const r = rects[s];
    for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) m[y * w + x] = 1;
    out[s] = m;
  }
  return out;
}

/** Draws image `index` of `split` into `out` (`[h, w]` float32 in [0, 1]); returns its label. */
export function drawEfl(opts: EflOptions, split: Split, index: number, out: Float32Array): number {
  const [h, w] = opts.size;
  const label = index % 3;
  const rnd = new Random(seedOf(opts.seed, split === 'train' ? 1 : 2, index));
  const j = opts.jitter;
  const rects = strokeRects(h, w, rnd.int(-j, j), rnd.int(-j, j), [rnd.int(-1, 1), rnd.int(-1, 1), rnd.int(-1, 1)]);
  out.fill(1, 0, h * w);
  for (const s of EFL_LETTERS[EFL_CLASSES[label]]) {
    const r = rects[s];
    for (let y = Math.max(0, r.y0); y < Math.min(h, r.y1); y++) for (let x = Math.max(0, r.x0); x < Math.min(w, r.x1); x++) out[y * w + x] = 0;
  }
  for (let p = 0; p < h * w; p++) {
    const v = Math.min(1, out[p] + Math.max(0, opts.noise * rnd.normal()));
    out[p] = opts.negative ? 1 - v : v;
  }
  return label;
}

export class EflDataset extends RangeDataset {
  readonly source: string;
  readonly size: number;
  readonly shape: [number, number, number];
  readonly classes = EFL_CLASSES;
  readonly labels: Int32Array;
  readonly hash: string;

  constructor(
    readonly opts: EflOptions,
    readonly split: Split,
  ) {
    super();
    this.size = 3 * (split === 'train' ? opts.trainPerClass : opts.testPerClass);
    this.shape = [opts.size[0], opts.size[1], 1];
    this.labels = Int32Array.from({ length: this.size }, (_, i) => i % 3);
    this.source = `EFL generator (${opts.negative ? 'negative, ' : ''}seed ${opts.seed}, noise ${opts.noise})`;
    const params = { v: 1, ...opts, split };
    this.hash = 'efl:' + crypto.createHash('sha256').update(JSON.stringify(params)).digest('hex');
  }

  protected async readRange(start: number, end: number): Promise<Float32Array> {
    const size = this.imageSize;
    const out = new Float32Array((end - start) * size);
    for (let i = start; i < end; i++) drawEfl(this.opts, this.split, i, out.subarray((i - start) * size, (i - start + 1) * size));
    return out;
  }
}
