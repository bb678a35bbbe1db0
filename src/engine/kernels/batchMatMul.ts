/**
 * `BatchMatMul` with `transposeA`/`transposeB` for the wasm backend: its own kernel leaves XNNPACK for a
 * naive loop when either flag is set (dense-layer gradients hit this), so transpose explicitly and run
 * the fast untransposed path. Of the two ways, `op(A)·op(B)` with the transposed inputs made explicit, or
 * `(op(B)ᵀ·op(A)ᵀ)ᵀ`, it takes the one that moves fewer elements (wasm's transpose is not fast either):
 * for `dy·Wᵀ` in a dense layer's gradient that transposes `dy` and the result instead of the big `W`.
 * Inputs: a `[..., M, K]` (or `[..., K, M]`), b `[..., K, N]` (or `[..., N, K]`) float32. Output `[..., M, N]`.
 */
import * as tf from '../runtime/tf';
import { free, type Info, originalKernel, transpose, type WasmBackend } from './wasmOps';

export function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const be = args.backend as WasmBackend;
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA: ta, transposeB: tb } = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
  const matMul = (x: Info, y: Info) =>
    originalKernel(tf.BatchMatMul).kernelFunc({ inputs: { a: x, b: y }, backend: be, attrs: { transposeA: false, transposeB: false } }) as Info;
  if (!ta && !tb) return matMul(a, b);

  const size = (t: Info) => t.shape.reduce((p, d) => p * d, 1);
  const m = ta ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const n = tb ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const batch = Math.max(
    size(a) / (a.shape[a.shape.length - 1] * a.shape[a.shape.length - 2]),
    size(b) / (b.shape[b.shape.length - 1] * b.shape[b.shape.length - 2]),
  );
  const direct = (ta ? size(a) : 0) + (tb ? size(b) : 0);
  const swapped = (ta ? 0 : size(a)) + (tb ? 0 : size(b)) + batch * m * n;

  if (direct <= swapped) {
    const a2 = ta ? swapLastTwo(be, a) : a;
    const b2 = tb ? swapLastTwo(be, b) : b;
    const out = matMul(a2, b2);
    if (a2 !== a) free(be, a2);
    if (b2 !== b) free(be, b2);
    return out;
  }
  // C = op(A)·op(B) = (op(B)ᵀ·op(A)ᵀ)ᵀ, where op(B)ᵀ is B itself when B was to be transposed.
  const bt = tb ? b : swapLastTwo(be, b);
  const at = ta ? a : swapLastTwo(be, a);
  const ct = matMul(bt, at);
  if (bt !== b) free(be, bt);
  if (at !== a) free(be, at);
  const out = swapLastTwo(be, ct);
  free(be, ct);
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
