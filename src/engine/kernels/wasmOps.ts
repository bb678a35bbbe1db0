/**
 * Thin wrappers over the wasm backend's own kernel functions, for use inside the project's kernels.
 * They take and return `TensorInfo`s (never `Tensor`s): a kernel runs below the engine's tensor
 * bookkeeping, so every intermediate must be freed with `free()` exactly once.
 */
import * as tf from '../runtime/tf';

/** The wasm backend as the kernels see it (only what they use). */
export interface WasmBackend extends tf.KernelBackend {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

export type Info = tf.TensorInfo;

/** The kernel configs registered by the wasm package itself, captured before any override. */
const originals = new Map<string, tf.KernelConfig>();

/** The wasm package's own kernel for `name` (not the project's override of it). */
export function originalKernel(name: string): tf.KernelConfig {
  let k = originals.get(name);
  if (!k) {
    k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`The wasm backend has no ${name} kernel: is @tensorflow/tfjs-backend-wasm loaded?`);
    originals.set(name, k);
  }
  return k;
}

function run(name: string, backend: WasmBackend, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
  const out = originalKernel(name).kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  return Array.isArray(out) ? out[0] : out;
}

export function free(backend: WasmBackend, ...infos: Info[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

export const reshape = (b: WasmBackend, x: Info, shape: number[]) => run('Reshape', b, { x }, { shape });
export const transpose = (b: WasmBackend, x: Info, perm: number[]) => run('Transpose', b, { x }, { perm });
export const reverse = (b: WasmBackend, x: Info, dims: number[]) => run('Reverse', b, { x }, { dims });
export const sum = (b: WasmBackend, x: Info, axis: number[]) => run('Sum', b, { x }, { axis, keepDims: false });
export const slice = (b: WasmBackend, x: Info, begin: number[], size: number[]) => run('Slice', b, { x }, { begin, size });
/** Zero padding; `paddings[d] = [before, after]`, both ≥ 0. */
export const pad = (b: WasmBackend, x: Info, paddings: [number, number][]) => run('PadV2', b, { x }, { paddings, constantValue: 0 });

/** Valid (unpadded) NHWC convolution; `filter` is `[KH, KW, Cin, Cout]`. */
export function conv2d(b: WasmBackend, x: Info, filter: Info, strides: [number, number], dilations: [number, number]): Info {
  return run('Conv2D', b, { x, filter }, { strides, dilations, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined });
}

/** Valid (unpadded) NHWC depthwise convolution; `filter` is `[KH, KW, C, M]`. */
export function depthwise(b: WasmBackend, x: Info, filter: Info, strides: [number, number], dilations: [number, number]): Info {
  return run('DepthwiseConv2dNative', b, { x, filter }, { strides, dilations, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined });
}

/** Pads `x` (NHWC) spatially by signed amounts: negative amounts crop. Always a new info (free it). */
export function padSpatial(b: WasmBackend, x: Info, top: number, bottom: number, left: number, right: number): Info {
  const [n, , , c] = x.shape;
  let y = reshape(b, x, x.shape);
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    const padded = pad(b, y, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
    free(b, y);
    y = padded;
  }
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const ph = y.shape[1],
      pw = y.shape[2];
    const t = Math.max(0, -top),
      l = Math.max(0, -left);
    const cropped = slice(b, y, [0, t, l, 0], [n, ph - t - Math.max(0, -bottom), pw - l - Math.max(0, -right), c]);
    free(b, y);
    y = cropped;
  }
  return y;
}

/** NHWC conv attrs normalised to pairs. */
export function pair(v: number | number[] | undefined, what: string): [number, number] {
  if (v == null) return [1, 1];
  if (typeof v === 'number') return [v, v];
  if (v.length === 2) return [v[0], v[1]];
  if (v.length === 4) return [v[1], v[2]];
  throw new Error(`Unsupported ${what}: ${JSON.stringify(v)}.`);
}

export function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on the wasm backend supports only NHWC (channels-last) data, not ${String(dataFormat)}.`);
  }
}

/** Inserts `s - 1` zero rows/columns after every row/column of `x` (NHWC): `[N, OH*sh, OW*sw, C]`. */
export function dilateSpatial(b: WasmBackend, x: Info, sh: number, sw: number): Info {
  if (sh === 1 && sw === 1) return reshape(b, x, x.shape);
  const [n, oh, ow, c] = x.shape;
  const x6 = reshape(b, x, [n, oh, 1, ow, 1, c]);
  const p = pad(b, x6, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  free(b, x6);
  const out = reshape(b, p, [n, oh * sh, ow * sw, c]);
  free(b, p);
  return out;
}

/** tfjs's own gradients reject dilations > 1 before reaching a kernel, so the kernels accept only 1 (no untested path). */
export function checkUndilated(kernel: string, dilations: number | number[] | undefined): void {
  if (pair(dilations, 'dilations').some((d) => d !== 1)) {
    throw new Error(`${kernel} on the wasm backend does not support dilations > 1 (got ${JSON.stringify(dilations)}).`);
  }
}
