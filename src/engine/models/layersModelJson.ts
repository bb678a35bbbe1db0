/**
 * TF.js Layers model files (`model.json` + weight shards), read defensively: the JSON and its weights manifest
 * checked against the shards on disk, the topology built dry to learn its weights and activations before any
 * is allocated, the weights read into one buffer, a failed load freeing what tfjs made, the model run once on
 * zeros. Every problem is one `UserError` naming the file. The dry build and its checks are modelPlan.ts; loading
 * and the cache are in modelIO.ts.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isEngineFault, UserError } from '../runtime/errors';
import { checkInputFile, readInputFile, readInputText } from '../runtime/fsutil';
import * as tf from '../runtime/tf';

/** model.json files larger than this are refused before they are read (a Layers topology is a few KB). */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/** A tfjs failure while building a model, as one line naming the file (unknown layer classes, a stack overflow). */
export function modelError(e: unknown, file: string, prefix: string): Error {
  if (isEngineFault(e)) return e as Error;
  const msg = oneLine(e);
  if (e instanceof RangeError && /call stack/i.test(msg))
    return new UserError('badInput', `${prefix}: its layers are nested or chained too deeply for TensorFlow.js to build (${msg}).`, file);
  const unknown = /^Unknown (layer|activation|initializer|regularizer|constraint): (.*?)(?:\. This may be due.*)?$/i.exec(msg);
  if (unknown) return new UserError('unsupported', `uses ${unknown[1]} "${clip(unknown[2], 80)}", which TensorFlow.js Layers does not know.`, file);
  if (e instanceof UserError) return e;
  return new UserError('badInput', `${prefix}: ${msg}`, file);
}

/**
 * `tf.loadLayersModel`, except that a failure frees what tfjs made before failing: the variables of the layers it
 * built and the decoded weight tensors (it leaks both when a weight does not fit). Tensors are tracked in a scope
 * of their own across the await, which is sound because the engine runs one request at a time.
 */
export async function loadFreeingOnFailure(artifacts: tf.io.ModelArtifacts): Promise<tf.LayersModel> {
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
export function oneLine(e: unknown): string {
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
export function smokeTest(model: tf.LayersModel): void {
  const shapes = model.inputs.map((t) => t.shape.slice(1));
  if (shapes.some((s) => s.some((d) => d == null))) return;
  for (const t of model.inputs) if (t.dtype !== 'float32') throw new Error(`input ${t.name} has dtype ${clip(String(t.dtype), 40)}, not float32`);
  tf.tidy(() => {
    const out = model.predict(shapes.map((s) => tf.zeros([1, ...(s as number[])])));
    for (const o of Array.isArray(out) ? out : [out]) o.dataSync();
  });
}

export function hashWeights(data: ArrayBuffer): string {
  return crypto.createHash('sha256').update(new Uint8Array(data)).digest('hex');
}

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** A model.json, checked, with its weight shards checked on disk (sizes, kinds, places) but not read. */
export interface ParsedModelJson {
  json: Record<string, unknown>;
  topology: Record<string, unknown>;
  specs: tf.io.WeightsManifestEntry[];
  /** Bytes and values the manifest declares. */
  declaredBytes: number;
  declaredValues: number;
  shards: { file: string; real: string; size: number }[];
}

export async function readModelJson(file: string): Promise<ParsedModelJson> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readInputText(file, { what: 'model file', maxBytes: MAX_MODEL_JSON_BYTES }));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('badInput', `is not valid JSON (${oneLine(e)}).`, file);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UserError('badInput', 'is not a TF.js model.json (expected a JSON object).', file);
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (!topology || typeof topology !== 'object') throw new UserError('badInput', 'has no "modelTopology": not a TF.js Layers model.json.', file);
  const manifest = json.weightsManifest as ManifestGroup[] | undefined;
  if (!Array.isArray(manifest)) throw new UserError('badInput', 'has no "weightsManifest" listing its weight files.', file);

  const dir = path.dirname(file);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const shards: ParsedModelJson['shards'] = [];
  const seen = new Set<string>();
  let declaredBytes = 0;
  let declaredValues = 0;
  for (const group of manifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw new UserError('badInput', 'has a malformed "weightsManifest" entry (needs "paths" and "weights").', file);
    let expected = 0;
    for (const w of group.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new UserError('badInput', 'has a malformed weight entry in "weightsManifest".', file);
      }
      const dtype = w.quantization?.dtype ?? w.dtype;
      const bytes = BYTES[dtype];
      if (!bytes)
        throw new UserError('unsupported', `has weight "${clip(w.name, 80)}" of dtype ${clip(String(dtype), 40)}, which Feature Lens cannot read.`, file);
      const values = w.shape.reduce((a, b) => a * b, 1);
      expected += bytes * values;
      declaredValues += values;
      specs.push(w as tf.io.WeightsManifestEntry);
    }
    if (!Number.isSafeInteger(expected)) throw new UserError('badInput', 'declares weights of impossible sizes in its "weightsManifest".', file);
    let got = 0;
    for (const p of group.paths) {
      if (typeof p !== 'string' || path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) {
        throw new UserError('badInput', `names weight file "${clip(String(p), 120)}" outside its folder.`, file);
      }
      const shard = path.join(dir, p);
      if (seen.has(shard)) throw new UserError('badInput', `lists weight file ${clip(p, 120)} more than once in its weightsManifest.`, file);
      seen.add(shard);
      let checked: { real: string; stat: { size: number } };
      try {
        checked = await checkInputFile(shard, { what: 'weight file', within: dir, maxBytes: expected });
      } catch (e) {
        if (e instanceof UserError && e.code === 'notFound')
          throw new UserError('notFound', `weight file ${clip(shard, 200)} is missing (named in ${path.basename(file)}'s weightsManifest).`, file);
        if (e instanceof UserError && /is at most/.test(e.message)) {
          throw new UserError(
            'badInput',
            `weight file ${clip(shard, 200)} is larger than the ${expected} bytes the manifest describes for its group: the weights belong to another model.`,
            file,
          );
        }
        throw e;
      }
      shards.push({ file: shard, real: checked.real, size: checked.stat.size });
      got += checked.stat.size;
    }
    if (got !== expected) {
      throw new UserError(
        'badInput',
        `its weight files ${clip(group.paths.join(', '), 200)} hold ${got} bytes but the manifest describes ${expected} bytes: the weights are truncated or belong to another model.`,
        file,
      );
    }
    declaredBytes += expected;
  }
  return { json, topology, specs, declaredBytes, declaredValues, shards };
}

/** Reads the weight shards of a checked model.json into one buffer (their sizes were checked on disk). */
export async function readWeights(parsed: ParsedModelJson, file: string): Promise<tf.io.ModelArtifacts> {
  const weightData = new Uint8Array(parsed.declaredBytes);
  let offset = 0;
  for (const s of parsed.shards) {
    const bytes = await readInputFile(s.file, { what: 'weight file', within: path.dirname(file), maxBytes: s.size });
    if (bytes.byteLength !== s.size) throw new UserError('badInput', `weight file ${clip(s.file, 200)} changed while it was read.`, file);
    weightData.set(bytes, offset);
    offset += bytes.byteLength;
  }
  const { json, topology, specs } = parsed;
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

const weightsHashes = new Map<string, { stamp: string; hash: string }>();

/**
 * The sha256 of a model's weights as `loadModel` computes it (its shards in manifest order), without loading it;
 * undefined when the model or a shard is missing or unreadable. Cached while model.json and the shards keep their
 * sizes and times.
 */
export async function modelWeightsHash(modelPath: string): Promise<string | undefined> {
  const file = path.resolve(modelPath);
  try {
    const parsed = await readModelJson(file);
    const stats = await Promise.all([file, ...parsed.shards.map((s) => s.real)].map((f) => fs.promises.stat(f)));
    const stamp = stats.map((st) => `${st.ino}:${st.size}:${st.mtimeMs}`).join('|');
    const hit = weightsHashes.get(file);
    if (hit?.stamp === stamp) return hit.hash;
    const h = crypto.createHash('sha256');
    for (const s of parsed.shards)
      for await (const chunk of fs.createReadStream(s.real, { start: 0, end: Math.max(0, s.size - 1) })) if (s.size > 0) h.update(chunk as Buffer);
    const hash = h.digest('hex');
    weightsHashes.set(file, { stamp, hash });
    return hash;
  } catch {
    return undefined;
  }
}
