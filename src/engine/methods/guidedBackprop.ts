import { checkLayer, checkNode } from '../models/layerAccess';
import type { Network } from '../models/network';
import { layerTarget } from './nodeTarget';
import * as tf from '../runtime/tf';

/** A ReLU whose backward pass lets a signal through only where the forward input and the signal are both positive. */
const guidedRelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.relu(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.step(saved[0]), tf.step(dy))),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * Guided backpropagation (Springenberg et al. 2015): the gradient of node `node`'s summed activation at layer
 * `layer` (its maximum with `maxOnly`) with respect to the input, where every ReLU (fused activations, ReLU
 * ops, and the rectifying half of a ReLU6 clip) passes the backward signal only where both its forward input
 * and the signal are positive. `images` `[b, h, w, c]`; returns `[b, h, w, c]` (the caller disposes it).
 * Note `tf.step(0) = 0`, so exact zeros block, as the definition's strict inequalities say.
 */
export function guidedBackprop(net: Network, layer: number, node: number, images: tf.Tensor, maxOnly: boolean): tf.Tensor {
  checkLayer(net, layer);
  checkNode(net, layer, node);
  return tf.tidy(() => tf.grad((x: tf.Tensor) => layerTarget(net, layer, node, x, maxOnly, guidedRelu))(images));
}
