import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { check, UserError } from '../runtime/errors';
import type { Lens } from './lens';
import { readLens } from './lens';
import { loadModel, type LoadedModel } from '../models/modelIO';
import { preprocessMismatch, withPreprocess } from '../models/preprocess';

/** Prefixed networks by model file and preprocessing, with the loaded model they were made from. */
const prefixed = new Map<string, { base: LoadedModel; loaded: LoadedModel }>();

/**
 * A lens's model as the lens runs it: `loadModel(lens.model)` with the lens's `preprocess` as the network's
 * first op (models/preprocess.ts), its info saying so and its `weightsHash` covering the preprocessing (the
 * top-activation index key). Every method that has a lens loads its model here. Without `preprocess` this is
 * `loadModel` itself. Cached beside `loadModel`'s cache: a reloaded model gets a new prefix.
 */
export async function loadLensModel(lens: Lens): Promise<LoadedModel> {
  const base = await loadModel(lens.model);
  const spec = lens.preprocess;
  if (!spec) return base;
  const key = `${base.info.path}\n${JSON.stringify(spec)}`;
  const hit = prefixed.get(key);
  if (hit && hit.base === base) return hit.loaded;
  if (hit) {
    prefixed.delete(key);
    hit.loaded.network.dispose(); // the prefix's own weights; the base's were disposed when it was reloaded
  }
  const shape = base.network.input.shape;
  const problem = preprocessMismatch(spec, shape[shape.length - 1]);
  if (problem) throw new UserError('badInput', problem, lens.path);
  const network = withPreprocess(base.network, spec);
  const weightsHash = crypto
    .createHash('sha256')
    .update(`${base.info.weightsHash}\npreprocess ${JSON.stringify(spec)}`)
    .digest('hex')
    .slice(0, 16);
  const loaded: LoadedModel = { ...base, network, info: { ...base.info, weightsHash, preprocess: spec } };
  prefixed.set(key, { base, loaded });
  return loaded;
}

/** Drops the prefixed networks of model file `model` (a checkpoint no longer kept; its base is unloaded too). */
export function forgetLensModels(model: string): void {
  const file = path.resolve(model);
  for (const [key, hit] of prefixed) {
    if (hit.base.info.path !== file) continue;
    prefixed.delete(key);
    hit.loaded.network.dispose(); // the prefix's own weights only
  }
}

/**
 * The network for a request naming a model file and, optionally, the lens it is inspected through: with a
 * lens, that lens's model (which must be `model`) behind its preprocessing; without, the file as it is.
 */
export async function loadModelFor(p: { model: string; lens?: string }): Promise<LoadedModel> {
  if (p.lens === undefined) return loadModel(p.model);
  const lens = await readLens(p.lens);
  check(path.resolve(p.model) === lens.model, `The lens file names the model ${lens.model}, not ${path.resolve(p.model)}.`, lens.path);
  return loadLensModel(lens);
}
