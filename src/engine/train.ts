// OWNER: datasets/training helper. Stub.
import type { TrainResult } from '../shared/protocol';
import { UserError } from './errors';
import type { Job } from './job';

/** Trains the model a lens file's recipe describes and writes it, its history and metrics beside the lens. */
export async function trainLens(lensPath: string, job: Job): Promise<TrainResult> {
  void job;
  throw new UserError('unsupported', `training is not implemented yet (${lensPath}).`);
}
