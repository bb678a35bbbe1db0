// OWNER: scan helper. Stub.
import type { LayerByClassResult } from '../shared/protocol';
import { UserError } from './errors';
import type { Job } from './job';

export async function layerByClass(lensPath: string, job: Job): Promise<LayerByClassResult> {
  void job;
  throw new UserError('unsupported', `layer activation by class is not implemented yet (${lensPath}).`);
}
