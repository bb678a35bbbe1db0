/**
 * `Conv2DBackpropFilter` for the wasm backend, which lacks it (so every gradient through a conv layer
 * failed there). The filter gradient is itself a convolution:
 *
 *   dW[kh, kw, ci, co] = Σ_{n, oh, ow} xpad[n, oh·s + kh, ow·s + kw, ci] · dy[n, oh, ow, co]
 *
 * i.e. with `xpad` as `[Cin, Hp, Wp, N]` (batch ↔ channels) and `dy` as the filter `[OH, OW, N, Cout]`,
 * a valid conv2d with dilation = the stride gives `[Cin, KH, KW, Cout]`, transposed to `[KH, KW, Cin, Cout]`.
 * Inputs: x `[N, H, W, Cin]`, dy `[N, OH, OW, Cout]` float32. Output: `filterShape`.
 */
import * as tf from '../runtime/tf';
import { checkNHWC, conv2d, free, type Info, padSpatial, transpose, type WasmBackend } from './wasmOps';

export function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const a = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  checkNHWC('Conv2DBackpropFilter', a.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, padInfo } = info;
  // Exactly the rows/columns the output windows read: (O - 1)·s + K.
  const bottom = (oh - 1) * sh + kh - x.shape[1] - padInfo.top;
  const right = (ow - 1) * sw + kw - x.shape[2] - padInfo.left;
  const xp = padSpatial(b, x, padInfo.top, bottom, padInfo.left, right);
  const xt = transpose(b, xp, [3, 1, 2, 0]);
  free(b, xp);
  const dyt = transpose(b, dy, [1, 2, 0, 3]);
  const r = conv2d(b, xt, dyt, [1, 1], [sh, sw]);
  free(b, xt, dyt);
  const out = transpose(b, r, [1, 2, 0, 3]);
  free(b, r);
  return out;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
