/**
 * Input preprocessing of a lens (`preprocess` in the lens file), applied as part of the network: a 1×1
 * conv2d in front of the original ops computing x' = (pixel · scale − mean) / std per channel, with the
 * channels permuted for BGR. Images stay in display space ([0, 1], pixel = 255 · x as the schema's
 * `scale` is defined on 0..255 values) everywhere else: every method walks the prefixed network, so feature
 * maps and scores see the preprocessed input while projections and maximized images come back through the
 * prefix to the image as displayed. `loadLensModel` (lensModel.ts) is where a lens and its model meet.
 */
import type { PreprocessSpec } from '../../shared/protocol';
import * as tf from '../runtime/tf';
import type { Network, Op } from './network';

export type { PreprocessSpec };

/** `Op.source` of the prefix op, for methods that must look past it (Grad-CAM never weighs the normalized image). */
export const PREPROCESS_SOURCE = 'Preprocess';

/** The dataset's images are in [0, 1]; the schema's `scale` multiplies 0..255 pixel values. */
const PIXEL_RANGE = 255;

/** The per-channel affine map of `spec` for `channels` channels: output channel o = in[src[o]] · gain[o] + offset[o]. */
function affine(spec: PreprocessSpec, channels: number): { src: number[]; gain: number[]; offset: number[] } {
  const at = (v: number[], c: number) => (v.length === 1 ? v[0] : v[c]);
  const src: number[] = [];
  const gain: number[] = [];
  const offset: number[] = [];
  for (let o = 0; o < channels; o++) {
    src.push(spec.order === 'bgr' ? channels - 1 - o : o);
    gain.push((PIXEL_RANGE * spec.scale) / at(spec.std, o));
    offset.push(-at(spec.mean, o) / at(spec.std, o));
  }
  return { src, gain, offset };
}

/** Why `spec` cannot run in front of an input with `channels` channels (mean/std of another length), or undefined. */
export function preprocessMismatch(spec: PreprocessSpec, channels: number): string | undefined {
  for (const key of ['mean', 'std'] as const) {
    const n = spec[key].length;
    if (n !== 1 && n !== channels)
      return `"preprocess.${key}" has ${n} values but the model's input has ${channels} channel${channels === 1 ? '' : 's'} (give one value, or one per channel).`;
  }
  if (spec.order === 'bgr' && channels !== 3) return `"preprocess.order" BGR needs a 3-channel input, but the model's input has ${channels}.`;
  return undefined;
}

/** Applies `spec` in place to the first `count` images `[h, w, c]` in [0, 1] of `images` (training batches of a LayersModel, which has no prefix op). */
export function preprocessImages(images: Float32Array, count: number, shape: readonly number[], spec: PreprocessSpec): void {
  const channels = shape[shape.length - 1];
  const { src, gain, offset } = affine(spec, channels);
  const px = new Float32Array(channels);
  const pixels = count * (shape.reduce((a, b) => a * b, 1) / channels);
  for (let p = 0; p < pixels; p++) {
    const at = p * channels;
    for (let c = 0; c < channels; c++) px[c] = images[at + c];
    for (let o = 0; o < channels; o++) images[at + o] = px[src[o]] * gain[o] + offset[o];
  }
}

/** `net` with the preprocessing as its first op (not an inspectable layer); shares `net`'s weights. */
export function withPreprocess(net: Network, spec: PreprocessSpec): Network {
  const channels = net.input.shape[net.input.shape.length - 1];
  const { src, gain, offset } = affine(spec, channels);
  // Output channel o reads input channel src(o): identity for RGB, reversed for BGR.
  const kernel = new Float32Array(channels * channels);
  const bias = new Float32Array(channels);
  for (let o = 0; o < channels; o++) {
    kernel[src[o] * channels + o] = gain[o];
    bias[o] = offset[o];
  }
  const k = tf.tensor4d(kernel, [1, 1, channels, channels]);
  const b = tf.tensor1d(bias);
  const name = `${net.input.name}/preprocess`;
  const op: Op = {
    kind: 'conv2d',
    strides: [1, 1],
    dilations: [1, 1],
    pads: [0, 0, 0, 0],
    groups: 1,
    weights: { kernel: k, bias: b },
    name,
    inputs: [net.input.name],
    shape: net.input.shape.slice(),
    source: PREPROCESS_SOURCE,
  };
  const ops = [op, ...net.ops.map((o) => ({ ...o, inputs: o.inputs.map((n) => (n === net.input.name ? name : n)) }))];
  return {
    ...net,
    ops,
    layers: net.layers.map((l) => ({ ...l, op: l.op + 1 })),
    dispose() {
      k.dispose();
      b.dispose();
    },
  };
}
