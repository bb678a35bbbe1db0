/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend, which lacks it:
 *
 *   dW[kh, kw, c, m] = Σ_{n, oh, ow} xpad[n, oh·s + kh·d, ow·s + kw·d, c] · dy[n, oh, ow, c·M + m]
 *
 * With `xpad` as one image of `C·N` channels `[1, Hp, Wp, C·N]` and `dy` as the depthwise filter
 * `[OH, OW, C·N, M]`, a valid depthwise conv with dilation = the stride gives `[1, KH, KW, C·N·M]`;
 * summing over `n` leaves `[KH, KW, C, M]`.
 * Inputs: x `[N, H, W, C]`, dy `[N, OH, OW, C·M]` float32. Output: `filterShape` `[KH, KW, C, M]`.
 */
import * as tf from '../runtime/tf';
import { checkNHWC, checkUndilated, depthwise, free, type Info, padSpatial, reshape, sum, transpose, type WasmBackend } from './wasmOps';

export function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const a = (args.attrs ?? {}) as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs & { dataFormat?: string };
  checkNHWC('DepthwiseConv2dNativeBackpropFilter', a.dataFormat);
  checkUndilated('DepthwiseConv2dNativeBackpropFilter', a.dilations);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
    'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow, padInfo } = info;
  const [n, , , c] = x.shape;
  const [kh, kw, , m] = a.filterShape;
  const bottom = (oh - 1) * sh + (kh - 1) * dh + 1 - x.shape[1] - padInfo.top;
  const right = (ow - 1) * sw + (kw - 1) * dw + 1 - x.shape[2] - padInfo.left;
  const xp = padSpatial(b, x, padInfo.top, bottom, padInfo.left, right);
  const xt = transpose(b, xp, [1, 2, 3, 0]); // [Hp, Wp, C, N]
  free(b, xp);
  const xi = reshape(b, xt, [1, xt.shape[0], xt.shape[1], c * n]);
  free(b, xt);
  const dy5 = reshape(b, dy, [n, oh, ow, c, m]);
  const dyt = transpose(b, dy5, [1, 2, 3, 0, 4]); // [OH, OW, C, N, M]
  free(b, dy5);
  const dyf = reshape(b, dyt, [oh, ow, c * n, m]);
  free(b, dyt);
  const r = depthwise(b, xi, dyf, [dh, dw], [sh, sw]); // [1, KH, KW, C·N·M]
  free(b, xi, dyf);
  const r5 = reshape(b, r, [kh, kw, c, n, m]);
  free(b, r);
  const out = sum(b, r5, [3]);
  free(b, r5);
  return out;
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};
