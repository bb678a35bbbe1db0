/**
 * `BatchMatMul` with `transposeA`/`transposeB` for the wasm backend: its own kernel leaves XNNPACK for a
 * naive loop when either flag is set (dense-layer gradients hit this), so transpose explicitly and run
 * the fast untransposed path. Inputs: a `[..., M, K]` (or `[..., K, M]`), b `[..., K, N]` (or `[..., N, K]`)
 * float32. Output: `[..., M, N]`.
 */
import * as tf from '../tf';
import { free, type Info, originalKernel, transpose, type WasmBackend } from './wasmOps';

export function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackend;
  const inputs = args.inputs as { a: Info; b: Info };
  const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
  const original = originalKernel(tf.BatchMatMul).kernelFunc;
  if (!attrs.transposeA && !attrs.transposeB) return original(args) as Info;
  const a2 = attrs.transposeA ? swapLastTwo(b, inputs.a) : inputs.a;
  const b2 = attrs.transposeB ? swapLastTwo(b, inputs.b) : inputs.b;
  const out = original({ inputs: { a: a2, b: b2 }, backend: b, attrs: { transposeA: false, transposeB: false } }) as Info;
  if (a2 !== inputs.a) free(b, a2);
  if (b2 !== inputs.b) free(b, b2);
  return out;
}

function swapLastTwo(b: WasmBackend, x: Info): Info {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return transpose(b, x, perm);
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
