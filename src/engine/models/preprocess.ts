/**
 * Input preprocessing of a lens (`preprocess` in the lens file), applied as part of the network: a 1×1
 * conv2d in front of the original ops computing x' = (pixel · scale − mean) / std per channel, with the
 * channels permuted for BGR. Images stay in display space ([0, 1], pixel = 255 · x as the schema's
 * `scale` is defined on 0..255 values) everywhere else. Not wired into the loaders yet.
 */
import * as tf from '../tf';
import type { Network, Op } from './network';

export interface PreprocessSpec {
  scale: number;
  mean: number[];
  std: number[];
  order: 'rgb' | 'bgr';
}

/** The dataset's images are in [0, 1]; the schema's `scale` multiplies 0..255 pixel values. */
const PIXEL_RANGE = 255;

/** `net` with the preprocessing as its first op (not an inspectable layer); shares `net`'s weights. */
export function withPreprocess(net: Network, spec: PreprocessSpec): Network {
  const channels = net.input.shape[net.input.shape.length - 1];
  const at = (v: number[], c: number) => (v.length === 1 ? v[0] : v[c]);
  // Output channel o reads input channel src(o): identity for RGB, reversed for BGR.
  const kernel = new Float32Array(channels * channels);
  const bias = new Float32Array(channels);
  for (let o = 0; o < channels; o++) {
    const i = spec.order === 'bgr' ? channels - 1 - o : o;
    kernel[i * channels + o] = (PIXEL_RANGE * spec.scale) / at(spec.std, o);
    bias[o] = -at(spec.mean, o) / at(spec.std, o);
  }
  const k = tf.tensor4d(kernel, [1, 1, channels, channels]);
  const b = tf.tensor1d(bias);
  const name = `${net.input.name}/preprocess`;
  const op: Op = {
    kind: 'conv2d', strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], groups: 1,
    weights: { kernel: k, bias: b },
    name, inputs: [net.input.name], shape: net.input.shape.slice(), source: 'Preprocess',
  };
  const ops = [op, ...net.ops.map((o) => ({ ...o, inputs: o.inputs.map((n) => (n === net.input.name ? name : n)) }))];
  return {
    ...net,
    ops,
    layers: net.layers.map((l) => ({ ...l, op: l.op + 1 })),
    dispose() { k.dispose(); b.dispose(); },
  };
}
