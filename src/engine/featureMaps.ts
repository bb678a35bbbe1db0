// OWNER: inspection helper. Stub.
import type { FeatureMapsResult, FloatArray } from '../shared/protocol';
import { UserError } from './errors';
import type * as tf from './tf';

/** The layer's output for one image `[h, w, c]`. */
export function featureMaps(model: tf.LayersModel, layer: number, image: FloatArray): FeatureMapsResult {
  void model; void image;
  throw new UserError('unsupported', `feature maps are not implemented yet (layer ${layer}).`);
}
