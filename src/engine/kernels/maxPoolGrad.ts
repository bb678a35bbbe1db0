/**
 * `MaxPoolGrad` for the wasm backend, replacing its own for correctness as well as speed: the built-in
 * kernel (and `MaxPoolWithArgmax`) starts its running maximum at FLT_MIN, the smallest *positive* float,
 * so in a window whose values are all ≤ 0 it sends the gradient to the window's first position instead of
 * its maximum. Here, as in the cpu backend, each output's gradient goes to the first maximum of its window
 * in row-major order (padding excluded), and overlapping windows that share a maximum add up.
 * One pass over the input in plain JS on the wasm heap.
 * Inputs: dy `[N, OH, OW, C]`, input `[N, H, W, C]` float32 (output unused). Output: `[N, H, W, C]`.
 */
import * as tf from '../runtime/tf';
import { type Info, originalKernel, type WasmBackend } from './wasmOps';

interface HeapBackend extends WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array;
}

export function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as HeapBackend;
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const a = (args.attrs ?? {}) as unknown as tf.MaxPoolGradAttrs;
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') return originalKernel(tf.MaxPoolGrad).kernelFunc(args) as Info;
  const p = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const out = b.makeOutput(input.shape, 'float32');
  // Views after the allocation: growing the heap detaches older views.
  const dx = b.typedArrayFromHeap(out);
  const x = b.typedArrayFromHeap(input);
  const g = b.typedArrayFromHeap(dy);
  dx.fill(0);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = p;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = p;
  const top = p.padInfo.top,
    left = p.padInfo.left;
  if (kh === 2 && kw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * oh <= h && 2 * ow <= w) {
    pool2x2(x, g, dx, n, h, w, c, oh, ow);
    return out;
  }
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  let gi = 0;
  for (let bi = 0; bi < n; bi++) {
    const xb = bi * h * w * c;
    for (let r = 0; r < oh; r++) {
      const h0 = Math.max(0, r * sh - top),
        h1 = Math.min(h, r * sh - top + kh);
      for (let q = 0; q < ow; q++) {
        const w0 = Math.max(0, q * sw - left),
          w1 = Math.min(w, q * sw - left + kw);
        best.fill(-Infinity);
        where.fill(-1);
        for (let hi = h0; hi < h1; hi++) {
          for (let wi = w0; wi < w1; wi++) {
            const o = xb + (hi * w + wi) * c;
            for (let ci = 0; ci < c; ci++) {
              const v = x[o + ci];
              if (v > best[ci]) {
                best[ci] = v;
                where[ci] = o + ci;
              }
            }
          }
        }
        for (let ci = 0; ci < c; ci++, gi++) {
          if (where[ci] >= 0) dx[where[ci]] += g[gi];
        }
      }
    }
  }
  return out;
}

/** The common 2×2, stride-2 case with every window inside the input: no clipping, no overlap. */
function pool2x2(x: Float32Array, g: Float32Array, dx: Float32Array, n: number, h: number, w: number, c: number, oh: number, ow: number): void {
  const row = w * c;
  let gi = 0;
  for (let bi = 0; bi < n; bi++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        const o00 = bi * h * row + 2 * r * row + 2 * q * c;
        const o01 = o00 + c,
          o10 = o00 + row,
          o11 = o10 + c;
        for (let ci = 0; ci < c; ci++, gi++) {
          // first maximum in row-major order, as the cpu backend (strict >, starting from -Infinity)
          let best = x[o00 + ci],
            at = o00 + ci;
          if (!(best > -Infinity)) {
            best = -Infinity;
            at = -1;
          }
          let v = x[o01 + ci];
          if (v > best) {
            best = v;
            at = o01 + ci;
          }
          v = x[o10 + ci];
          if (v > best) {
            best = v;
            at = o10 + ci;
          }
          v = x[o11 + ci];
          if (v > best) {
            at = o11 + ci;
          }
          if (at >= 0) dx[at] = g[gi];
        }
      }
    }
  }
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
