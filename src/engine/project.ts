// OWNER: inspection helper. Stub. Dispatches to deconv.ts, guidedBackprop.ts, saliency.ts, gradcam.ts.
import type { FloatArray, ProjectionMethod, ProjectionResult } from '../shared/protocol';
import { UserError } from './errors';
import type * as tf from './tf';

export function project(model: tf.LayersModel, layer: number, node: number, image: FloatArray, method: ProjectionMethod, maxOnly = false): ProjectionResult {
  void model; void node; void image; void maxOnly;
  throw new UserError('unsupported', `${method} is not implemented yet (layer ${layer}).`);
}
