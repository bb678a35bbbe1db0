/**
 * Small helpers every method shares over a `Network` (models/network.ts): range checks of a layer and a node,
 * the input image as a tensor, every inspectable layer's output in one forward pass.
 *
 * A `layer` is always an index into `net.layers` (the inspectable layers); images are `[batch, h, w, c]` float32.
 */
import type { FloatArray } from '../../shared/protocol';
import { check } from '../runtime/errors';
import { forward } from './forward';
import type { Network, NetworkLayer } from './network';
import * as tf from '../runtime/tf';

/** Range-checks a layer index and returns the layer. */
export function checkLayer(net: Network, layer: number): NetworkLayer {
  const n = net.layers.length;
  check(Number.isInteger(layer) && layer >= 0 && layer < n, `Layer ${layer} is out of range: model ${net.name} has ${n} layers (0 to ${n - 1}).`);
  return net.layers[layer];
}

/** Number of nodes of a layer: the last dimension of its output. */
export function nodeCount(net: Network, layer: number): number {
  return net.layers[layer].nodes;
}

/** Range-checks a node index of a layer. */
export function checkNode(net: Network, layer: number, node: number): void {
  const n = nodeCount(net, layer);
  check(
    Number.isInteger(node) && node >= 0 && node < n,
    `Node ${node} is out of range: layer ${layer} (${net.layers[layer].name}) has ${n} nodes (0 to ${n - 1}).`,
  );
}

/** The index of the op whose output is the network's output. */
export function outputOp(net: Network): number {
  const i = net.ops.findIndex((o) => o.name === net.output);
  return i < 0 ? net.ops.length - 1 : i;
}

/** Checks one image `[h, w, c]` against the network's input shape; returns it as a `[1, h, w, c]` tensor. */
export function imageTensor(net: Network, image: FloatArray): tf.Tensor {
  const expected = net.input.shape;
  const given = image.shape;
  const same = given.length === expected.length && given.every((d, i) => expected[i] === d);
  check(same, `The image has shape [${given.join(', ')}] but model ${net.name} expects [${expected.join(', ')}].`);
  check(
    image.data.length === given.reduce((a, b) => a * b, 1),
    `The image data has ${image.data.length} values but its shape [${given.join(', ')}] needs ${given.reduce((a, b) => a * b, 1)}.`,
  );
  return tf.tensor(image.data, [1, ...given]);
}

/**
 * The outputs of `layers` (indices into `net.layers`) and the network's output for a batch, in one fused
 * forward pass: `[...layers' outputs, output]`, each `[batch, ...shape]`. The caller disposes them.
 */
export function layerOutputs(net: Network, images: tf.Tensor, layers: number[]): tf.Tensor[] {
  const out = outputOp(net);
  const ops = layers.map((l) => net.layers[l].op);
  return tf.tidy(() => {
    const all = forward(net, images, { until: Math.max(out, ...ops), fused: true });
    return [...ops.map((o) => all[o]), all[out]];
  });
}

/** A tensor's values as a `FloatArray` without the batch dimension when `dropBatch` (copies). */
export function toFloatArray(t: tf.Tensor, dropBatch = true): FloatArray {
  return { shape: dropBatch ? t.shape.slice(1) : [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
}

/** Min and max of an array: the one definition in src/shared/range.ts. */
export { range } from '../../shared/range';
