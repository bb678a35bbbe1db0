/**
 * Loading a model file of any format into the network representation (cached while the file keeps its time
 * and size), and saving a TF.js Layers model atomically. The checks of a Layers model.json are in
 * layersModelJson.ts; the other formats have their importers (models/importers.ts).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelInfo } from '../../shared/protocol';
import { currentBackend } from '../runtime/backend';
import { memoryBudget } from '../runtime/budget';
import { isEngineFault, UserError } from '../runtime/errors';
import { checkInputFile, readInputText, writeFilesAtomic } from '../runtime/fsutil';
import { describeLayers, totalParams } from './describeLayers';
import { hashWeights, loadFreeingOnFailure, MAX_MODEL_JSON_BYTES, modelError, oneLine, readModelJson, readWeights, smokeTest } from './layersModelJson';
import { planModel } from './modelPlan';
import { importerFor } from './importers';
import { layersNetwork } from './layers';
import type { Network } from './network';
import * as tf from '../runtime/tf';

/** A loaded model: the network every method walks, and for TF.js Layers files the LayersModel training uses (same weights). */
export interface LoadedModel {
  network: Network;
  info: ModelInfo;
  layersModel?: tf.LayersModel;
}

function disposeLoaded(m: LoadedModel): void {
  m.network.dispose();
  m.layersModel?.dispose();
}

const cache = new Map<string, { mtimeMs: number; size: number; loaded: LoadedModel }>();

/**
 * Loads a TF.js Layers model (`model.json` + weight shards) from disk, checking everything a user could get
 * wrong, each with one message naming the file. Cached by path until model.json changes on disk.
 */
export async function loadModel(modelPath: string): Promise<LoadedModel> {
  const file = path.resolve(modelPath);
  const importer = await importerFor(file);
  // A file that holds its weights (ONNX, HDF5, zip) is bounded by the memory budget; a model.json is a small topology.
  const limits =
    importer && importer.format !== 'tfjs-graph'
      ? { what: 'model file', maxBytes: memoryBudget(), maxHint: "its weights must fit the engine's memory budget (setting featureLens.engine.maxMemoryMB)" }
      : { what: 'model file', maxBytes: MAX_MODEL_JSON_BYTES, maxHint: 'a TF.js model.json is a small JSON file; the weights live in .bin shards' };
  const { stat } = await checkInputFile(file, limits);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.loaded;
  if (hit) {
    cache.delete(file);
    disposeLoaded(hit.loaded);
  }
  if (importer) {
    // ONNX, Keras (.h5, .keras, architecture JSON) and TF.js graph models: their importers (models/importers.ts).
    const loaded = await loadImported(file, stat, await importer.load(file));
    cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, loaded });
    return loaded;
  }
  const parsed = await readModelJson(file);
  // Before tfjs allocates anything: what the topology declares against the manifest and the memory budget.
  await planModel(parsed, file);
  const artifacts = await readWeights(parsed, file);
  let model: tf.LayersModel;
  try {
    model = await loadFreeingOnFailure(artifacts);
  } catch (e) {
    throw modelError(e, file, 'is not a loadable TF.js Layers model');
  }
  try {
    smokeTest(model);
  } catch (e) {
    model.dispose();
    if (isEngineFault(e)) throw e;
    throw new UserError('badInput', `is not a usable TF.js Layers model: it fails on a blank input image (${oneLine(e)}).`, file);
  }
  let network: Network;
  try {
    network = layersNetwork(model, file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const info: ModelInfo = {
    path: file,
    name: model.name,
    inputShape: network.input.shape,
    layers: describeLayers(network),
    totalParams: model.countParams(),
    weightsHash: hashWeights(artifacts.weightData as ArrayBuffer),
    mtimeMs: stat.mtimeMs,
    backend: currentBackend(),
  };
  const loaded: LoadedModel = { network, info, layersModel: model };
  cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, loaded });
  return loaded;
}

/** The info of an imported network; its weights hash covers every weight and constant. */
async function loadImported(file: string, stat: fs.Stats, network: Network): Promise<LoadedModel> {
  try {
    const hash = crypto.createHash('sha256');
    for (const op of network.ops)
      for (const w of (Object.values(op.weights) as (tf.Tensor | undefined)[]).filter((t): t is tf.Tensor => !!t))
        hash.update(new Uint8Array((await w.data()).buffer));
    for (const c of network.constants.values()) hash.update(new Uint8Array((await c.data()).buffer));
    const info: ModelInfo = {
      path: file,
      name: network.name,
      inputShape: network.input.shape,
      layers: describeLayers(network),
      totalParams: totalParams(network),
      weightsHash: hash.digest('hex').slice(0, 16),
      mtimeMs: stat.mtimeMs,
      backend: currentBackend(),
      ...(network.note ? { note: network.note } : {}),
    };
    return { network, info };
  } catch (e) {
    network.dispose();
    throw e;
  }
}

/** Forgets cached models (all, or one path), disposing their weights. */
export function unloadModels(modelPath?: string): void {
  for (const [key, entry] of cache) {
    if (modelPath && key !== path.resolve(modelPath)) continue;
    disposeLoaded(entry.loaded);
    cache.delete(key);
  }
}

/** Our shard names: `<stem>.<12 hex digits of the weights' sha256>.bin`. */
function shardPattern(stem: string): RegExp {
  return new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[0-9a-f]{12}\\.bin$`);
}

/**
 * Saves a model as `model.json` + one weight shard named by the weights' hash, atomically: the shard is
 * written first under a new name, then model.json is replaced by rename, then earlier shards of this model
 * (its own name pattern only, never a file the manifest names) and temporary files of killed saves are removed.
 * A reader (or a crash at any point) sees either the old model whole or the new one whole.
 * Returns the sha256 of the weights written (`ModelInfo.weightsHash` of the saved model).
 */
export async function saveModel(model: tf.LayersModel, modelPath: string, metadata?: Record<string, unknown>): Promise<{ weightsHash: string }> {
  const file = path.resolve(modelPath);
  const dir = path.dirname(file);
  const stem = path.basename(file, '.json');
  let weightsHash = '';
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = new Uint8Array(
        artifacts.weightData instanceof ArrayBuffer ? artifacts.weightData : tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer[]),
      );
      weightsHash = hashWeights(weightData.buffer);
      const binName = `${stem}.${weightsHash.slice(0, 12)}.bin`;
      const json = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: FEATURE_LENS_MAKER,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [binName], weights: artifacts.weightSpecs }],
        ...(metadata ? { userDefinedMetadata: metadata } : {}),
      };
      await writeFilesAtomic([
        { path: path.join(dir, binName), data: weightData },
        { path: file, data: JSON.stringify(json) },
      ]);
      const shards = shardPattern(stem);
      for (const name of await fs.promises.readdir(dir)) if (shards.test(name) && name !== binName) await fs.promises.rm(path.join(dir, name), { force: true });
      await sweepTemps(dir, [path.basename(file), shards]);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  unloadModels(file);
  return { weightsHash };
}

/** What `convertedBy` says in a model.json Feature Lens wrote. */
export const FEATURE_LENS_MAKER = 'Feature Lens';

/**
 * Whether `file` is a model.json Feature Lens wrote (training may replace only those): a regular JSON file of
 * reasonable size whose `convertedBy` is Feature Lens. Undefined when it does not exist.
 */
export async function madeByFeatureLens(file: string): Promise<boolean | undefined> {
  try {
    await fs.promises.lstat(file);
  } catch {
    return undefined;
  }
  try {
    const json = JSON.parse(await readInputText(file, { what: 'model file', maxBytes: MAX_MODEL_JSON_BYTES }));
    return json?.convertedBy === FEATURE_LENS_MAKER && json?.format === 'layers-model' && Array.isArray(json.weightsManifest);
  } catch {
    return false;
  }
}

/**
 * Removes temporary files of writes killed before their rename (`<name>.<pid>.<time>.tmp`, see fsutil.ts) whose
 * target is one of `names` (a name or a pattern) and whose process is gone.
 */
export async function sweepTemps(dir: string, names: (string | RegExp)[]): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.promises.readdir(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = /^(.*)\.(\d+)\.[0-9a-z]+\.tmp$/.exec(name);
    if (!m || !names.some((n) => (typeof n === 'string' ? n === m[1] : n.test(m[1])))) continue;
    const pid = Number(m[2]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) await fs.promises.rm(path.join(dir, name), { force: true });
  }
}
