import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelInfo } from '../shared/protocol';
import { currentBackend } from './backend';
import { UserError } from './errors';
import { writeFilesAtomic } from './fsutil';
import { describeLayers } from './introspect';
import { layersNetwork } from './models/layers';
import type { Network } from './models/network';
import * as tf from './tf';

/** model.json files larger than this are refused before they are read (a Layers topology is a few KB). */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

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
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    throw new UserError('notFound', 'model file not found.', file);
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.loaded;
  if (hit) {
    cache.delete(file);
    disposeLoaded(hit.loaded);
  }
  if (!stat.isFile()) throw new UserError('badInput', 'is not a file.', file);
  if (stat.size > MAX_MODEL_JSON_BYTES) {
    throw new UserError('badInput', `is ${(stat.size / 2 ** 20).toFixed(0)} MB; a TF.js model.json is a small JSON file (the weights live in .bin shards).`, file);
  }
  const artifacts = await readArtifacts(file);
  let model: tf.LayersModel;
  try {
    model = await loadFreeingOnFailure(artifacts);
  } catch (e) {
    const msg = oneLine(e);
    const unknown = /^Unknown (layer|activation|initializer|regularizer|constraint): (.*?)(?:\. This may be due.*)?$/i.exec(msg);
    if (unknown) throw new UserError('unsupported', `uses ${unknown[1]} "${clip(unknown[2], 80)}", which TensorFlow.js Layers does not know.`, file);
    throw new UserError('badInput', `is not a loadable TF.js Layers model: ${msg}`, file);
  }
  try {
    smokeTest(model);
  } catch (e) {
    model.dispose();
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

/** Forgets cached models (all, or one path), disposing their weights. */
export function unloadModels(modelPath?: string): void {
  for (const [key, entry] of cache) {
    if (modelPath && key !== path.resolve(modelPath)) continue;
    disposeLoaded(entry.loaded);
    cache.delete(key);
  }
}

/**
 * `tf.loadLayersModel`, except that a failure frees what tfjs made before failing: the variables of the layers it
 * built and the decoded weight tensors (it leaks both when a weight does not fit). Tensors are tracked in a scope
 * of their own across the await, which is sound because the engine runs one request at a time.
 */
async function loadFreeingOnFailure(artifacts: tf.io.ModelArtifacts): Promise<tf.LayersModel> {
  const engine = tf.engine();
  const variablesBefore = new Set(Object.keys(engine.registeredVariables));
  engine.startScope();
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    engine.endScope();
    for (const [name, v] of Object.entries(engine.registeredVariables)) if (!variablesBefore.has(name)) v.dispose();
    throw e;
  }
  // On success free the scope's plain tensors too: the model's weights live in variables, which share the data
  // of the decoded tensors assigned to them, so only what the model does not use (e.g. weights the manifest
  // lists twice) is actually released.
  engine.endScope();
  return model;
}

/** A tfjs error as one short line (its messages span lines and can quote a whole layer config). */
function oneLine(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/\s+/g, ' ').trim();
  return clip(msg, 240);
}

/** A name from the file, fit for a one-line message (control characters shown as `?`, long names cut). */
function clip(s: string, n: number): string {
  const t = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/**
 * Runs the model once on zeros, so a topology that deserializes but cannot run (an input dtype other than float32,
 * an initializer where an activation belongs) is refused at load time, not on the first image.
 * Skipped when an input dimension is unknown (fully convolutional models), where no single size is right.
 */
function smokeTest(model: tf.LayersModel): void {
  const shapes = model.inputs.map((t) => t.shape.slice(1));
  if (shapes.some((s) => s.some((d) => d == null))) return;
  for (const t of model.inputs) if (t.dtype !== 'float32') throw new Error(`input ${t.name} has dtype ${clip(String(t.dtype), 40)}, not float32`);
  tf.tidy(() => {
    const out = model.predict(shapes.map((s) => tf.zeros([1, ...(s as number[])])));
    for (const o of Array.isArray(out) ? out : [out]) o.dataSync();
  });
}

function hashWeights(data: ArrayBuffer): string {
  return crypto.createHash('sha256').update(new Uint8Array(data)).digest('hex');
}

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

async function readArtifacts(file: string): Promise<tf.io.ModelArtifacts> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (e) {
    throw new UserError('badInput', `is not valid JSON (${oneLine(e)}).`, file);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UserError('badInput', 'is not a TF.js model.json (expected a JSON object).', file);
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (json.format === 'graph-model' || (topology && typeof topology === 'object' && 'node' in topology)) {
    throw new UserError('unsupported', 'is a TF.js graph model (converted from a SavedModel); Feature Lens inspects Layers models, whose layers and weights it can address. Convert with `tensorflowjs_converter --output_format tfjs_layers_model`.', file);
  }
  if (!topology && 'class_name' in json && 'config' in json) {
    throw new UserError('unsupported', 'is a Keras model config without weights; save the model with tensorflowjs (`tfjs.converters.save_keras_model`) to get a model.json with a weights manifest.', file);
  }
  if (!topology || typeof topology !== 'object') throw new UserError('badInput', 'has no "modelTopology": not a TF.js Layers model.json.', file);
  const manifest = json.weightsManifest as ManifestGroup[] | undefined;
  if (!Array.isArray(manifest)) throw new UserError('badInput', 'has no "weightsManifest" listing its weight files.', file);

  const dir = path.dirname(file);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of manifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new UserError('badInput', 'has a malformed "weightsManifest" entry (needs "paths" and "weights").', file);
    let expected = 0;
    for (const w of group.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new UserError('badInput', 'has a malformed weight entry in "weightsManifest".', file);
      }
      const dtype = w.quantization?.dtype ?? w.dtype;
      const bytes = BYTES[dtype];
      if (!bytes) throw new UserError('unsupported', `has weight "${clip(w.name, 80)}" of dtype ${clip(String(dtype), 40)}, which Feature Lens cannot read.`, file);
      expected += bytes * w.shape.reduce((a, b) => a * b, 1);
      specs.push(w as tf.io.WeightsManifestEntry);
    }
    const parts: Uint8Array[] = [];
    for (const p of group.paths) {
      if (typeof p !== 'string' || path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) {
        throw new UserError('badInput', `names weight file "${clip(String(p), 120)}" outside its folder.`, file);
      }
      const shard = path.join(dir, p);
      try {
        parts.push(await fs.promises.readFile(shard));
      } catch {
        throw new UserError('notFound', `weight file ${clip(shard, 200)} is missing (named in ${path.basename(file)}'s weightsManifest).`, file);
      }
    }
    const got = parts.reduce((a, b) => a + b.byteLength, 0);
    if (got !== expected) {
      throw new UserError('badInput', `its weight files ${clip(group.paths.join(', '), 200)} hold ${got} bytes but the manifest describes ${expected} bytes: the weights are truncated or belong to another model.`, file);
    }
    buffers.push(...parts);
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  return {
    modelTopology: topology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: weightData.buffer,
    format: json.format as string | undefined,
    generatedBy: json.generatedBy as string | undefined,
    convertedBy: json.convertedBy as string | null | undefined,
    trainingConfig: json.trainingConfig as tf.io.TrainingConfig | undefined,
    userDefinedMetadata: json.userDefinedMetadata as Record<string, object> | undefined,
  };
}

/**
 * Saves a model as `model.json` + one weight shard named by the weights' hash, atomically: the shard is
 * written first under a new name, then model.json is replaced by rename, then the old shards are removed.
 * A reader (or a crash at any point) sees either the old model whole or the new one whole.
 */
export async function saveModel(model: tf.LayersModel, modelPath: string, metadata?: Record<string, unknown>): Promise<void> {
  const file = path.resolve(modelPath);
  const dir = path.dirname(file);
  const stem = path.basename(file, '.json');
  const oldShards = await previousShards(file);
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = new Uint8Array(
        artifacts.weightData instanceof ArrayBuffer ? artifacts.weightData : tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer[]),
      );
      const binName = `${stem}.${hashWeights(weightData.buffer).slice(0, 12)}.bin`;
      const json = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: 'Feature Lens',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [binName], weights: artifacts.weightSpecs }],
        ...(metadata ? { userDefinedMetadata: metadata } : {}),
      };
      await writeFilesAtomic([
        { path: path.join(dir, binName), data: weightData },
        { path: file, data: JSON.stringify(json) },
      ]);
      for (const old of oldShards) if (old !== binName) await fs.promises.rm(path.join(dir, old), { force: true });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  unloadModels(file);
}

/** The shard file names an existing model.json lists (none if it is missing or unreadable). */
async function previousShards(file: string): Promise<string[]> {
  try {
    const json = JSON.parse(await fs.promises.readFile(file, 'utf8'));
    return (json.weightsManifest as ManifestGroup[]).flatMap((g) => g.paths).filter((p) => typeof p === 'string' && !p.includes('/') && !p.includes('..'));
  } catch {
    return [];
  }
}
