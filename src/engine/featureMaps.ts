import type { FeatureMapsResult, FloatArray } from '../shared/protocol';
import { checkLayer, imageTensor, layerOutputs, modelGraph, range, toFloatArray } from './graph';
import * as tf from './tf';

/**
 * Feature maps (docs/architecture.md, "Feature map"): the output of layer `layer` (after its activation) for one image.
 * `image` is `[h, w, c]` float32 like the model's input; `maps.shape` is the layer's output shape without
 * the batch dimension (`[h', w', nodes]` for conv and pool layers, `[nodes]` for dense layers), so node i's
 * map is channel i. Also returns the model's output for the image. One forward pass through the cached
 * activation model.
 */
export function featureMaps(model: tf.LayersModel, layer: number, image: FloatArray): FeatureMapsResult {
  checkLayer(model, layer);
  const out = modelGraph(model).outputLayer;
  const x = imageTensor(model, image);
  let all: tf.Tensor[] = [];
  try {
    all = layerOutputs(model, x);
    const maps = toFloatArray(all[layer]);
    return { layer, maps, ...range(maps.data), output: Float32Array.from(all[out].dataSync() as Float32Array) };
  } finally {
    x.dispose();
    tf.dispose(all);
  }
}
