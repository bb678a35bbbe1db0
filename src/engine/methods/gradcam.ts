import { UserError } from '../runtime/errors';
import { checkLayer, checkNode } from '../models/layerAccess';
import { forward } from '../models/forward';
import type { Network } from '../models/network';
import { PREPROCESS_SOURCE } from '../models/preprocess';
import { nodeTarget } from './nodeTarget';
import * as tf from '../runtime/tf';

const CONV = new Set(['conv2d', 'depthwiseConv2d', 'convTranspose2d']);
/** Merges whose maps Grad-CAM weighs when they come after the last convolution on every path (a residual block's Add). */
const MERGES = new Set(['add', 'concat']);

/**
 * The op Grad-CAM weighs for a node of `layer` (an index into `net.layers`; returns an op index): the last
 * convolution with `[h, w, channels]` maps that every path from the input to `layer`'s op passes through
 * (in a chain, the last conv before the layer; in a graph with residual or parallel branches, the last one
 * the whole node depends on, so its gradient is not zero for nodes of another branch), or a residual Add or
 * Concatenate on every path after it, with the activation that follows it (a ResNet's block output). Without either, the last
 * convolution before the layer (parallel branches straight from the input). When `layer`'s op is itself a convolution,
 * the one before it (its own maps would give back the node's map). A first convolution has none before it
 * and uses its own maps: the heat map is then the node's map (before its activation), rectified and upsampled.
 */
export function gradcamOp(net: Network, layer: number): number {
  const target = net.layers[layer].op;
  const index = new Map(net.ops.map((o, i) => [o.name, i]));
  const ancestors = new Set<number>();
  const stack = [target];
  while (stack.length) {
    for (const name of net.ops[stack.pop()!].inputs) {
      const i = index.get(name);
      if (i !== undefined && !ancestors.has(i)) (ancestors.add(i), stack.push(i));
    }
  }
  /** Whether the input still reaches `target` with op `cut` removed (ops are in topological order). */
  const bypassed = (cut: number) => {
    const reached = new Set<string>([net.input.name]);
    for (let i = 0; i <= target; i++) {
      if (i !== cut && net.ops[i].inputs.some((n) => reached.has(n))) reached.add(net.ops[i].name);
    }
    return reached.has(net.ops[target].name);
  };
  // A lens's preprocess op is part of the input, not a layer: a first convolution still uses its own maps.
  const maps = [...ancestors].filter((i) => net.ops[i].shape.length === 3 && net.ops[i].source !== PREPROCESS_SOURCE).sort((a, b) => b - a);
  const convs = maps.filter((i) => CONV.has(net.ops[i].kind));
  const dominating = maps.find((i) => (CONV.has(net.ops[i].kind) || MERGES.has(net.ops[i].kind)) && !bypassed(i));
  if (dominating !== undefined) {
    // a block's output is its merge after the activation that follows it (ResNet: Add, then ReLU)
    const name = net.ops[dominating].name;
    const after = maps.find(
      (i) => i > dominating && net.ops[i].kind === 'activation' && net.ops[i].inputs.length === 1 && net.ops[i].inputs[0] === name && !bypassed(i),
    );
    return after ?? dominating;
  }
  if (CONV.has(net.ops[target].kind)) return target;
  if (convs.length) return convs[0];
  throw new UserError(
    'unsupported',
    `Grad-CAM needs a convolution that every path to layer ${layer} (${net.layers[layer].name}) passes through; this model has none there.`,
  );
}

/**
 * Grad-CAM (Selvaraju et al. 2017) for node `node` of layer `layer`: with A the maps of the convolution
 * `gradcamOp` picks (`[b, h', w', k]`, after its fused activation) and y the node's summed activation (its
 * maximum with `maxOnly`), weights α_k = mean over positions of ∂y/∂A_k, heat map ReLU(Σ_k α_k A_k), upsampled
 * bilinearly (half-pixel centres) to the input's height and width: `[b, h, w, 1]` (the caller disposes it).
 */
export function gradcam(net: Network, layer: number, node: number, images: tf.Tensor, maxOnly: boolean): tf.Tensor {
  checkLayer(net, layer);
  checkNode(net, layer, node);
  const conv = gradcamOp(net, layer);
  const op = net.layers[layer].op;
  return tf.tidy(() => {
    const maps = forward(net, images, { until: conv })[conv];
    const target = (a: tf.Tensor) => nodeTarget(forward(net, images, { until: op, substitute: { op: conv, value: a } })[op], node, maxOnly);
    const grads = tf.grad(target)(maps);
    const alpha = tf.mean(grads, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(alpha, maps), 3, true)) as tf.Tensor4D;
    return tf.image.resizeBilinear(cam, [images.shape[1]!, images.shape[2]!], false, true);
  });
}
