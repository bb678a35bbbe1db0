// OWNER: scan helper. Stub.
import { UserError } from './errors';
import type { Job } from './job';

export interface RenderOptions {
  lens: string;
  /** Layer name or index. */
  layer: string;
  node: number;
  out: string;
  storageDir: string;
  k: number;
}

/** Writes the node's figures as PNGs into `out`; returns the files written. */
export async function renderNode(opts: RenderOptions, job: Job): Promise<{ files: string[] }> {
  void job;
  throw new UserError('unsupported', `render is not implemented yet (${opts.lens}).`);
}
