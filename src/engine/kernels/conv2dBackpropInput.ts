/**
 * Faster `Conv2DBackpropInput` for the wasm backend (its own is a naive loop): a stride-1 conv2d of the
 * dilated, padded `dy` (see transposedConv.ts) with the filter rotated by 180° and its in/out channels
 * swapped, `[KH, KW, Cout, Cin]`, which runs on XNNPACK.
 * Inputs: dy `[N, OH, OW, Cout]`, filter `[KH, KW, Cin, Cout]` float32. Output: `inputShape` `[N, H, W, Cin]`.
 */
import * as tf from '../runtime/tf';
import { spreadForTransposedConv } from './transposedConv';
import { checkNHWC, conv2d, free, type Info, reverse, transpose, type WasmBackend } from './wasmOps';

export function conv2dBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const a = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
  checkNHWC('Conv2DBackpropInput', a.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape,
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const spread = spreadForTransposedConv(b, dy, { ...info, padTop: info.padInfo.top, padLeft: info.padInfo.left });
  const rotated = reverse(b, filter, [0, 1]);
  const f = transpose(b, rotated, [0, 1, 3, 2]);
  free(b, rotated);
  const out = conv2d(b, spread, f, [1, 1], [1, 1]);
  free(b, spread, f);
  return out;
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
