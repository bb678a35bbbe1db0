// OWNER: scan helper. Stub.
import type { MaximizeOptions, MaximizeResult } from '../shared/protocol';
import { UserError } from './errors';
import type { Job } from './job';
import type * as tf from './tf';

export async function maximize(model: tf.LayersModel, layer: number, node: number, options: MaximizeOptions, job: Job): Promise<MaximizeResult> {
  void model; void node; void options; void job;
  throw new UserError('unsupported', `activation maximization is not implemented yet (layer ${layer}).`);
}
