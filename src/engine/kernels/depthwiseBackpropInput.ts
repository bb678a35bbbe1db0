/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend, which lacks it: a stride-1 depthwise conv of
 * the dilated, padded `dy` (see transposedConv.ts) with the filter rotated by 180° as `[KH, KW, C·M, 1]`,
 * then the `M` multiplier channels of each input channel summed.
 * Inputs: dy `[N, OH, OW, C·M]`, filter `[KH, KW, C, M]` float32. Output: `inputShape` `[N, H, W, C]`.
 */
import * as tf from '../runtime/tf';
import { spreadForTransposedConv } from './transposedConv';
import { checkNHWC, checkUndilated, depthwise, free, type Info, reshape, reverse, sum, type WasmBackend } from './wasmOps';

export function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const a = (args.attrs ?? {}) as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs & { dataFormat?: string };
  checkNHWC('DepthwiseConv2dNativeBackpropInput', a.dataFormat);
  checkUndilated('DepthwiseConv2dNativeBackpropInput', a.dilations);
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape,
    filter.shape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
    'channelsLast',
  );
  const [n, h, w, c] = a.inputShape;
  const [kh, kw, , m] = filter.shape;
  const spread = spreadForTransposedConv(b, dy, { ...info, padTop: info.padInfo.top, padLeft: info.padInfo.left });
  const rotated = reverse(b, filter, [0, 1]);
  const f = reshape(b, rotated, [kh, kw, c * m, 1]);
  free(b, rotated);
  const r = depthwise(b, spread, f, [1, 1], [info.dilationHeight, info.dilationWidth]); // [N, H, W, C·M]
  free(b, spread, f);
  if (m === 1) {
    const out = reshape(b, r, [n, h, w, c]);
    free(b, r);
    return out;
  }
  const r5 = reshape(b, r, [n, h, w, c, m]);
  free(b, r);
  const out = sum(b, r5, [4]);
  free(b, r5);
  return out;
}

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};
