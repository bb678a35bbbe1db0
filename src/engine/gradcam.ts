import { UserError } from './errors';
import { checkLayer, checkNode, modelGraph, runLayers } from './graph';
import { nodeTarget } from './saliency';
import * as tf from './tf';

const CONV = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

/**
 * The convolutional layer Grad-CAM weighs for a node of `layer`: the last conv layer feeding `layer`, or, when
 * `layer` is itself a conv layer, the last conv layer before it (a conv layer's own maps would give back the
 * node's map). A first conv layer has none before it and uses its own maps: the heat map is then the node's
 * rectified feature map, upsampled.
 */
export function gradcamLayer(model: tf.LayersModel, layer: number): number {
  const g = modelGraph(model);
  const ancestors = new Set<number>();
  const stack = [layer];
  while (stack.length) {
    const i = stack.pop()!;
    for (const s of g.sources[i]) if (s.kind === 'layer' && !ancestors.has(s.layer)) ancestors.add(s.layer), stack.push(s.layer);
  }
  const before = [...ancestors].filter((i) => CONV.has(model.layers[i].getClassName())).sort((a, b) => b - a);
  if (before.length) return before[0];
  if (CONV.has(model.layers[layer].getClassName())) return layer;
  throw new UserError('unsupported', `Grad-CAM needs a convolutional layer at or before layer ${layer} (${model.layers[layer].name}); this model has none there.`);
}

/**
 * Grad-CAM (Selvaraju et al. 2017) for node `node` of layer `layer`: with A the maps of the conv layer
 * `gradcamLayer` picks (`[b, h', w', k]`) and y the node's summed activation (its maximum with `maxOnly`),
 * weights α_k = mean over positions of ∂y/∂A_k, heat map ReLU(Σ_k α_k A_k), upsampled bilinearly
 * (half-pixel centres) to the input's height and width: `[b, h, w, 1]` (the caller disposes it).
 */
export function gradcam(model: tf.LayersModel, layer: number, node: number, images: tf.Tensor, maxOnly: boolean): tf.Tensor {
  checkLayer(model, layer);
  checkNode(model, layer, node);
  const conv = gradcamLayer(model, layer);
  return tf.tidy(() => {
    const maps = runLayers(model, images, { until: conv })[conv];
    const target = (a: tf.Tensor) => nodeTarget(runLayers(model, images, { until: layer, substitute: { layer: conv, value: a } })[layer], node, maxOnly);
    const grads = tf.grad(target)(maps);
    const alpha = tf.mean(grads, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(alpha, maps), 3, true)) as tf.Tensor4D;
    return tf.image.resizeBilinear(cam, [images.shape[1]!, images.shape[2]!], false, true);
  });
}
