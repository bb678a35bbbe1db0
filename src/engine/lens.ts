// OWNER: datasets/training helper. Stub: replace with the real lens-file reader.
import type { LensInfo, Split } from '../shared/protocol';
import type { Dataset } from './datasets/dataset';
import { UserError } from './errors';

/** A parsed lens file with absolute paths. */
export interface Lens {
  path: string;
  name: string;
  model: string;
  classes: string[];
  // dataset spec and training recipe: defined by the implementation
  [key: string]: unknown;
}

export async function readLens(lensPath: string): Promise<Lens> {
  throw new UserError('unsupported', `lens files are not implemented yet (${lensPath}).`);
}

export async function lensInfo(lensPath: string): Promise<LensInfo> {
  throw new UserError('unsupported', `lens files are not implemented yet (${lensPath}).`);
}

/** Opens one split of the lens's dataset. */
export async function openDataset(lens: Lens, split: Split): Promise<Dataset> {
  throw new UserError('unsupported', `datasets are not implemented yet (${lens.path}, ${split}).`);
}
