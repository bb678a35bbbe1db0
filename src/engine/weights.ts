// OWNER: inspection helper. Stub.
import type { WeightsResult } from '../shared/protocol';
import { UserError } from './errors';
import type * as tf from './tf';

export function layerWeights(model: tf.LayersModel, layer: number, node?: number): WeightsResult {
  void model; void node;
  throw new UserError('unsupported', `weights are not implemented yet (layer ${layer}).`);
}
