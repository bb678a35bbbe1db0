import { checkLayer, checkNode } from './graph';
import { forward } from './models/forward';
import type { Network } from './models/network';
import * as tf from './tf';

/**
 * The scalar a gradient method differentiates: node `node`'s activation in `out` (`[b, ..., nodes]`, after the
 * layer's activation) summed over its map, or its maximum with `maxOnly`, summed over the batch (images are
 * independent in inference mode, so each image's gradient is its own).
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

/**
 * Saliency (Simonyan et al. 2014): the plain gradient of node `node`'s summed activation at layer `layer`
 * (of its maximum with `maxOnly`) with respect to the input pixels, signed, `[b, h, w, c]` like `images`.
 * (Simonyan et al. show the maximum of its absolute value over channels; the view can do that.)
 * The forward pass uses unfused ops (models/forward.ts), so on wasm it needs no filter gradient.
 * The caller disposes the result.
 */
export function saliency(net: Network, layer: number, node: number, images: tf.Tensor, maxOnly: boolean): tf.Tensor {
  checkLayer(net, layer);
  checkNode(net, layer, node);
  return tf.tidy(() => tf.grad((x: tf.Tensor) => layerTarget(net, layer, node, x, maxOnly))(images));
}
