import { checkLayer, checkNode } from '../models/layerAccess';
import type { Network } from '../models/network';
import { layerTarget } from './nodeTarget';
import * as tf from '../runtime/tf';

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
