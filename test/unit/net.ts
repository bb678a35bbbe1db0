import { layersNetwork } from '../../src/engine/models/layers';
import type { Network } from '../../src/engine/models/network';
import type * as tf from '../../src/engine/runtime/tf';
import * as tfl from '../../src/engine/runtime/tf';

const cache = new WeakMap<tf.LayersModel, Network>();

/** The network of a Layers model built in a test (cached per model; shares the model's weights). */
export function net(model: tf.LayersModel): Network {
  let n = cache.get(model);
  if (!n) cache.set(model, (n = layersNetwork(model, `${model.name} (built in the test)`)));
  return n;
}

/**
 * An independent reference: tfjs-layers' own multi-output model of the named layers' outputs (the Layers
 * importer names each op after its layer), to compare what the Network computes against `predict`.
 */
export function layersReference(model: tf.LayersModel, names: string[]): tf.LayersModel {
  return tfl.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output as tf.SymbolicTensor) });
}
