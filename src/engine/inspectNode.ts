// OWNER: inspection helper. Stub.
import type { NodeInspection, ParamsOf } from '../shared/protocol';
import { UserError } from './errors';
import type { Job } from './job';

export async function inspectNode(p: ParamsOf<'inspectNode'>, job: Job): Promise<NodeInspection> {
  void job;
  throw new UserError('unsupported', `node inspection is not implemented yet (${p.lens}).`);
}
