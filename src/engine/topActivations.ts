// OWNER: scan helper. Stub.
import type { ScanSummary, ScoreMetric, TopActivationsResult } from '../shared/protocol';
import { UserError } from './errors';
import type { Job } from './job';

export async function scanLens(lensPath: string, storageDir: string, metric: ScoreMetric, k: number, job: Job): Promise<ScanSummary> {
  void storageDir; void metric; void k; void job;
  throw new UserError('unsupported', `scans are not implemented yet (${lensPath}).`);
}

/** A node's top images from the stored index, or null when there is no complete index for the current model and dataset. */
export async function readTopActivations(lensPath: string, storageDir: string, layer: number, node: number, metric: ScoreMetric): Promise<TopActivationsResult | null> {
  void storageDir; void layer; void node; void metric;
  throw new UserError('unsupported', `scans are not implemented yet (${lensPath}).`);
}
