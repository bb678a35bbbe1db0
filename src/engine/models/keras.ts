/**
 * Keras models: Keras 2 HDF5 (`model.save('m.h5')`), Keras 2 architecture JSON (`model.to_json()`) with a
 * weights-only HDF5 (`model.save_weights(...)`) beside it, and Keras 3 `.keras` zips. The config becomes a
 * TF.js Layers model (`tf.models.modelFromJSON`, which reads Keras configs), the weights read from HDF5 are set
 * on its layers, and the Layers importer turns that into the network representation.
 *
 * Weights: Keras 2 lists `layer_names` (split into `layer_names0..N` on large models) and per layer
 * `weight_names`, each a dataset at `<layer>/<weight name>` (under `model_weights` in a whole-model file, at the
 * root in a weights-only file); they are matched by layer name and position, as Keras's own loader does.
 * Keras 3 keeps them by class and position (`layers/<snake_case class>[_k]/vars/<i>`), not by name. Reading
 * them, checking them against the config and building the model is kerasWeights.ts.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { memoryBudget } from '../runtime/budget';
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import { attrNames, attrString, type H5Group, isHdf5, readChecked, withH5 } from './h5';
import { type JsonObject, MODEL_CLASSES } from './kerasConfig';
import { buildModel, readKeras2Weights, readKeras3Weights } from './kerasWeights';
import { layersNetwork } from './layers';
import { readZipEntries } from './zip';
import type { Network } from './network';

/** Accepted sizes: a Keras file is read whole (weights included). */
const MAX_H5_BYTES = 2 * 2 ** 30;
const MAX_JSON_BYTES = 64 * 2 ** 20;
const MAX_UNZIPPED_BYTES = 2 * 2 ** 30;

/** A Keras model as a TF.js Layers model with the file's weights, and what it came from. */
export interface KerasModel {
  model: tf.LayersModel;
  /** The Keras version the file names (`keras_version`), when it names one. */
  kerasVersion?: string;
  /** The files read (the model file, and the weights file of a JSON + weights pair). */
  files: string[];
}

function parseJson(text: string, what: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError('badInput', `${what} is not valid JSON (${e instanceof Error ? e.message : String(e)}).`, file);
  }
}

/** True for a JSON value that is a Keras architecture (`model.to_json()` or a `.keras` config). */
export function isKerasConfig(json: unknown): boolean {
  const j = json as JsonObject | null;
  return !!j && typeof j === 'object' && typeof j.class_name === 'string' && MODEL_CLASSES.has(j.class_name) && typeof j.config === 'object';
}

/**
 * A Keras 2 `.h5`: a whole model (`model_config` attribute), or a weights-only file whose architecture JSON lies
 * beside it (`<name>.json`, or the only Keras architecture JSON in the folder).
 */
export async function loadKerasH5Model(file: string): Promise<KerasModel> {
  file = path.resolve(file);
  const bytes = await readChecked(file, MAX_H5_BYTES, 'a Keras HDF5 model');
  const found = await withH5(bytes, file, (root) => {
    const configText = attrString(root, 'model_config');
    const kerasVersion = attrString(root, 'keras_version');
    if (configText) {
      const config = parseJson(configText, 'its model_config attribute', file) as JsonObject;
      const group = root.get('model_weights');
      if (!group || !('keys' in group))
        throw new UserError('badInput', 'has a model_config but no model_weights group: the model was saved without its weights.', file);
      return { config, weights: readKeras2Weights(group as H5Group, file), kerasVersion };
    }
    if (root.keys().includes('layers') && root.keys().includes('vars')) return { keras3: true as const };
    return { weights: readKeras2Weights(root, file), kerasVersion };
  });
  if ('keras3' in found) {
    const { json, config } = await architectureBeside(
      file,
      'holds only Keras 3 weights (a .weights.h5) and no architecture: open the .keras file, or put the model.to_json() output beside it as a .json file of the same name.',
    );
    const weights = await withH5(bytes, file, (root) => readKeras3Weights(root, config, file));
    return { model: await buildModel(config, weights, `${json} + ${file}`), files: [json, file] };
  }
  if (found.config) {
    return { model: await buildModel(found.config, found.weights, file), kerasVersion: found.kerasVersion, files: [file] };
  }
  const { json, config } = await architectureBeside(
    file,
    'holds only weights (no model_config attribute) and no architecture JSON lies beside it: save the model with model.save(), or put the output of model.to_json() beside it as a .json file of the same name.',
  );
  return { model: await buildModel(config, found.weights, `${json} + ${file}`), kerasVersion: found.kerasVersion, files: [json, file] };
}

/** The architecture JSON beside a weights-only `.h5` (`model.to_json()` output), read and parsed; `missing` says what to do without one. */
async function architectureBeside(file: string, missing: string): Promise<{ json: string; config: JsonObject }> {
  const json = findArchitectureBeside(file);
  if (!json) throw new UserError('badInput', missing, file);
  const text = new TextDecoder().decode(await readChecked(json, MAX_JSON_BYTES, 'a Keras architecture JSON'));
  return { json, config: parseJson(text, 'the architecture', json) as JsonObject };
}

/** Name stems a weights file's architecture may go by: `m.h5`, `m.weights.h5`, `m_weights.h5` → `m`. */
function stems(file: string): string[] {
  const base = path.basename(file).replace(/\.(h5|hdf5|keras)$/i, '');
  return [...new Set([base, base.replace(/([._-])weights$/i, '')])];
}

/** The architecture JSON beside a weights file: same stem, else the only Keras architecture JSON in the folder. */
function findArchitectureBeside(file: string): string | undefined {
  const dir = path.dirname(file);
  for (const s of stems(file)) {
    const candidate = path.join(dir, `${s}.json`);
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  const found = fs
    .readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.json'))
    .map((f) => path.join(dir, f))
    .filter((f) => {
      try {
        const st = fs.statSync(f);
        return st.isFile() && st.size < MAX_JSON_BYTES && isKerasConfig(JSON.parse(fs.readFileSync(f, 'utf8')));
      } catch {
        return false;
      }
    });
  return found.length === 1 ? found[0] : undefined;
}

/** The weights file beside an architecture JSON: `<stem>.h5`, `<stem>.weights.h5`, or the only `.h5` there. */
function findWeightsBeside(json: string): string | undefined {
  const dir = path.dirname(json);
  const stem = path.basename(json).replace(/\.json$/i, '');
  for (const c of [`${stem}.h5`, `${stem}.weights.h5`, `${stem}_weights.h5`, `${stem}.hdf5`]) {
    const p = path.join(dir, c);
    if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
  }
  const h5s = fs.readdirSync(dir).filter((f) => /\.(h5|hdf5)$/i.test(f));
  return h5s.length === 1 ? path.join(dir, h5s[0]) : undefined;
}

/** A Keras architecture JSON (`model.to_json()`, Keras 2 or 3) with its weights-only HDF5 beside it. */
export async function loadKerasJsonModel(file: string): Promise<KerasModel> {
  file = path.resolve(file);
  const config = parseJson(new TextDecoder().decode(await readChecked(file, MAX_JSON_BYTES, 'a Keras architecture JSON')), 'the file', file) as JsonObject;
  if (!isKerasConfig(config)) throw new UserError('badInput', 'is not a Keras architecture JSON (no "class_name" of a model with a "config").', file);
  const weightsFile = findWeightsBeside(file);
  if (!weightsFile)
    throw new UserError(
      'badInput',
      'is a Keras architecture without weights: put the weights saved with model.save_weights() beside it as a .h5 file of the same name.',
      file,
    );
  const bytes = await readChecked(weightsFile, MAX_H5_BYTES, 'Keras weights');
  const weights = await withH5(bytes, weightsFile, (root) =>
    attrNames(root, 'layer_names') ? readKeras2Weights(root, weightsFile) : readKeras3Weights(root, config, weightsFile),
  );
  return {
    model: await buildModel(config, weights, `${file} + ${weightsFile}`),
    kerasVersion: typeof config.keras_version === 'string' ? config.keras_version : undefined,
    files: [file, weightsFile],
  };
}

// ---------------------------------------------------------------- Keras 3

/** A Keras 3 `.keras` zip: `config.json`, `metadata.json`, `model.weights.h5`. */
export async function loadKeras3Model(file: string): Promise<KerasModel> {
  file = path.resolve(file);
  const bytes = await readChecked(file, MAX_H5_BYTES, 'a Keras 3 model');
  if (isHdf5(bytes)) return loadKerasH5Model(file); // Keras 2 wrote HDF5 whatever the extension said
  // Sizes are checked from the zip's headers before anything is inflated, and inflation stops at them (zip.ts).
  const entries = readZipEntries(bytes, file, {
    'config.json': MAX_JSON_BYTES,
    'metadata.json': MAX_JSON_BYTES,
    'model.weights.h5': Math.min(MAX_UNZIPPED_BYTES, memoryBudget()),
  });
  if (!entries['config.json'])
    throw new UserError(
      'badInput',
      'is a zip without config.json, so it is not a Keras 3 model (model.save("m.keras") writes config.json, metadata.json and model.weights.h5).',
      file,
    );
  const config = parseJson(new TextDecoder().decode(entries['config.json']), 'its config.json', file) as JsonObject;
  if (!isKerasConfig(config))
    throw new UserError('badInput', 'has a config.json that describes no Keras model (no "class_name" of a model with a "config").', file);
  const meta = entries['metadata.json'] ? (parseJson(new TextDecoder().decode(entries['metadata.json']), 'its metadata.json', file) as JsonObject) : {};
  if (!entries['model.weights.h5'])
    throw new UserError(
      'badInput',
      'has no model.weights.h5 (a model saved with the .npz weights format, or without weights), so its weights cannot be read.',
      file,
    );
  const weights = await withH5(entries['model.weights.h5'], `${file}/model.weights.h5`, (root) => readKeras3Weights(root, config, file));
  return {
    model: await buildModel(config, weights, file),
    kerasVersion: typeof meta.keras_version === 'string' ? meta.keras_version : undefined,
    files: [file],
  };
}

// ---------------------------------------------------------------- the network representation

/** The network of a Keras model; its `dispose` also frees the Layers model that owns the weights. */
function kerasNetwork(loaded: KerasModel, file: string, format: 'keras-h5' | 'keras'): Network {
  let net: Network;
  try {
    net = layersNetwork(loaded.model, file);
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
  const disposeNet = net.dispose.bind(net);
  return {
    ...net,
    format,
    path: file,
    dispose() {
      disposeNet();
      loaded.model.dispose();
    },
  };
}

/** A Keras 2 `.h5` (whole model, or weights with the architecture JSON beside it) as a network. */
export async function loadKerasH5(file: string): Promise<Network> {
  return kerasNetwork(await loadKerasH5Model(file), path.resolve(file), 'keras-h5');
}

/** A Keras architecture JSON with its weights `.h5` beside it, as a network. */
export async function loadKerasJson(file: string): Promise<Network> {
  return kerasNetwork(await loadKerasJsonModel(file), path.resolve(file), 'keras-h5');
}

/** A Keras 3 `.keras` zip as a network. */
export async function loadKeras3(file: string): Promise<Network> {
  return kerasNetwork(await loadKeras3Model(file), path.resolve(file), 'keras');
}
