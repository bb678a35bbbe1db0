/**
 * The scalar every gradient method differentiates (saliency, guided backpropagation, Grad-CAM): a node's
 * activation summed over its map, or its maximum (docs/architecture.md, "Guided backpropagation").
 */
import { forward } from '../models/forward';
import type { Network } from '../models/network';
import * as tf from '../runtime/tf';

/**
 * Node `node`'s activation in `out` (`[b, ..., nodes]`, after the layer's activation) summed over its map, or
 * its maximum with `maxOnly`, summed over the batch (images are independent in inference mode, so each
 * image's gradient is its own).
 */
export function nodeTarget(out: tf.Tensor, node: number, maxOnly: boolean): tf.Scalar {
  // slice rather than gather: gather's gradient needs UnsortedSegmentSum, which wasm lacks
  const begin = out.shape.map((_, i) => (i === out.rank - 1 ? node : 0));
  const size = out.shape.map((_, i) => (i === out.rank - 1 ? 1 : -1));
  const map = tf.reshape(tf.slice(out, begin, size), [out.shape[0], -1]);
  return tf.sum(maxOnly ? tf.max(map, 1) : map) as tf.Scalar;
}

/** Node `node`'s target (see `nodeTarget`) of layer `layer` for `x`, through the unfused forward pass. */
export function layerTarget(net: Network, layer: number, node: number, x: tf.Tensor, maxOnly: boolean, relu?: (x: tf.Tensor) => tf.Tensor): tf.Scalar {
  const op = net.layers[layer].op;
  return nodeTarget(forward(net, x, { until: op, relu })[op], node, maxOnly);
}
