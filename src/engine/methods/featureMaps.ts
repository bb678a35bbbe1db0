import type { FeatureMapsResult, FloatArray } from '../../shared/protocol';
import { checkLayer, imageTensor, layerOutputs, range, toFloatArray } from '../models/layerAccess';
import type { Network } from '../models/network';
import * as tf from '../runtime/tf';

/**
 * Feature maps (docs/architecture.md, "Feature map"): the output of layer `layer` (after its activation) for one image.
 * `image` is `[h, w, c]` float32 like the network's input; `maps.shape` is the layer's output shape without
 * the batch dimension (`[h', w', nodes]` for conv and pool layers, `[nodes]` for dense layers), so node i's
 * map is channel i. Also returns the network's output for the image. One fused forward pass.
 */
export function featureMaps(net: Network, layer: number, image: FloatArray): FeatureMapsResult {
  checkLayer(net, layer);
  const x = imageTensor(net, image);
  let all: tf.Tensor[] = [];
  try {
    all = layerOutputs(net, x, [layer]);
    const maps = toFloatArray(all[0]);
    return { layer, maps, ...range(maps.data), output: Float32Array.from(all[1].dataSync() as Float32Array) };
  } finally {
    x.dispose();
    tf.dispose(all);
  }
}
