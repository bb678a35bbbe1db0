/**
 * Keras weights: read from HDF5 (Keras 2 by layer name and position, Keras 3 by `vars/<i>` under the layer's
 * path), checked against a config's layers, and set on the TF.js Layers model built from that config (keras.ts).
 */
import { checkMemory } from '../runtime/budget';
import { UserError } from '../runtime/errors';
import { dryBuild, type ModelPlan } from './modelPlan';
import * as tf from '../runtime/tf';
import { attrNames, type H5Dataset, type H5Group, readFloat } from './h5';
import { checkLayerClasses, inlineNestedModels, keras3WeightPaths, type JsonObject, normalizeLayer } from './kerasConfig';

/** Weight values a config may declare beyond those its file holds before it is refused unbuilt (16 MB). */
const UNHELD_VALUES = 4 * 2 ** 20;

export interface Weight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Keras 2 weights from a group holding `layer_names` (a whole model's `model_weights`, or a weights-only root). */
export function readKeras2Weights(group: H5Group, file: string): Map<string, Weight[]> {
  const layers = attrNames(group, 'layer_names');
  if (!layers) throw new UserError('badInput', 'has no "layer_names" attribute where Keras keeps its weights, so it is not a Keras 2 weights file.', file);
  const out = new Map<string, Weight[]>();
  for (const layer of layers) {
    const g = group.get(layer);
    if (!g || !('keys' in g)) throw new UserError('badInput', `lists the layer "${layer}" but has no weights group for it.`, file);
    const names = attrNames(g as H5Group, 'weight_names') ?? [];
    const weights: Weight[] = [];
    for (const name of names) {
      const ds = (g as H5Group).get(name);
      if (!ds || !('shape' in ds)) throw new UserError('badInput', `lists the weight "${name}" of layer "${layer}" but holds no dataset for it.`, file);
      weights.push({ name, ...readFloat(ds as H5Dataset, `${layer}/${name}`, file) });
    }
    out.set(layer, weights);
  }
  return out;
}

/** Keras 3 weights: per layer of `config`, the datasets `vars/0..n-1` of its group, addressed by the layer's name path. */
export function readKeras3Weights(root: H5Group, config: JsonObject, file: string): Map<string, Weight[]> {
  const out = new Map<string, Weight[]>();
  // .keras files of Keras 2.13-2.15 name the layers group `_layer_checkpoint_dependencies` (as Keras 3 reads them).
  const legacy = !root.keys().includes('layers') && root.keys().includes('_layer_checkpoint_dependencies');
  for (const { names, path: p } of keras3WeightPaths(config)) {
    const where = legacy ? p.replace(/(^|\/)layers\//g, '$1_layer_checkpoint_dependencies/') : p;
    const vars = root.get(`${where}/vars`);
    const weights: Weight[] = [];
    if (vars && 'keys' in vars) {
      const keys = (vars as H5Group).keys().sort((a, b) => Number(a) - Number(b));
      for (const k of keys) weights.push({ name: `${where}/vars/${k}`, ...readFloat((vars as H5Group).get(k), `${where}/vars/${k}`, file) });
    }
    out.set(names.join('/'), weights);
  }
  return out;
}

/** Sets `weights` (by layer name path) on the model's layers, checking counts and shapes first. */
function setWeights(model: tf.LayersModel, weights: Map<string, Weight[]>, file: string): void {
  for (const [key, ws] of weights) {
    const names = key.split('/');
    let layer: tf.layers.Layer | undefined;
    try {
      layer = model.layers.find((l) => l.name === key); // a nested model's layer, inlined as `<outer>/<inner>`
      if (!layer) {
        let container: tf.LayersModel = model;
        for (const n of names) {
          layer = container.getLayer(n);
          container = layer as tf.LayersModel;
        }
      }
    } catch {
      if (!ws.length) continue; // a weightless layer Keras lists that TF.js folds away (e.g. a Sequential's InputLayer)
      throw new UserError('badInput', `holds weights for a layer "${key}" that the model's config does not have.`, file);
    }
    const want = layer!.weights;
    if (want.length !== ws.length) {
      throw new UserError(
        'badInput',
        `layer "${key}" (${layer!.getClassName()}) has ${ws.length} weight arrays in the file; its config needs ${want.length}.`,
        file,
      );
    }
    want.forEach((w, i) => {
      if (w.shape.length !== ws[i].shape.length || w.shape.some((d, j) => d !== ws[i].shape[j])) {
        throw new UserError(
          'badInput',
          `weight ${ws[i].name} of layer "${key}" has the shape [${ws[i].shape.join(', ')}]; the config needs [${w.shape.join(', ')}].`,
          file,
        );
      }
    });
    const tensors = ws.map((w) => tf.tensor(w.data, w.shape, 'float32'));
    try {
      layer!.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
  // Every layer with weights must have got them: a model half initialized at random would show nonsense.
  const missing = model.layers.filter((l) => l.weights.length && !weights.has(l.name) && ![...weights.keys()].some((k) => k.startsWith(`${l.name}/`)));
  if (missing.length)
    throw new UserError('badInput', `holds no weights for the layer${missing.length > 1 ? 's' : ''} ${missing.map((l) => `"${l.name}"`).join(', ')}.`, file);
}

/**
 * Keras 2 keeps a nested model's weights in one group under the nested model's name, named
 * `<inner layer>/<weight>:0`; its layers are inlined as `<outer>/<inner>`, so the group is split by those names.
 */
function splitNested(model: tf.LayersModel, weights: Map<string, Weight[]>): Map<string, Weight[]> {
  const names = new Set(model.layers.map((l) => l.name));
  const out = new Map<string, Weight[]>();
  for (const [key, ws] of weights) {
    if (names.has(key) || !model.layers.some((l) => l.name.startsWith(`${key}/`))) {
      out.set(key, ws);
      continue;
    }
    for (const w of ws) {
      const parts = w.name.split('/');
      // the longest leading path of the weight's name that is an inlined layer
      let target: string | undefined;
      for (let k = parts.length - 1; k >= 1 && !target; k--)
        if (names.has(`${key}/${parts.slice(0, k).join('/')}`)) target = `${key}/${parts.slice(0, k).join('/')}`;
      const t = target ?? key;
      out.set(t, [...(out.get(t) ?? []), w]);
    }
  }
  return out;
}

export async function buildModel(config: JsonObject, weights: Map<string, Weight[]>, file: string): Promise<tf.LayersModel> {
  const normalized = normalizeLayer(config, file);
  checkLayerClasses(normalized, file);
  const flat = inlineNestedModels(normalized, file);
  const cannotBuild = (e: unknown) => {
    if (e instanceof UserError) return e;
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return new UserError('unsupported', `has a model config TensorFlow.js Layers cannot build: ${msg}`, file);
  };
  // Before tfjs allocates a weight: what the config's layers would create, against the values the file holds and
  // the memory budget (a few bytes of config can declare a layer of gigabytes, which tfjs fills at random first).
  let plan: ModelPlan;
  try {
    plan = await dryBuild(flat as JsonObject);
  } catch (e) {
    throw cannotBuild(e);
  }
  // A small shortfall is left to setWeights, whose message names the layer; what costs memory is refused here.
  const held = [...weights.values()].reduce((a, ws) => a + ws.reduce((b, w) => b + w.data.length, 0), 0);
  if (plan.params > held + UNHELD_VALUES) {
    throw new UserError(
      'badInput',
      `its config's layers need ${plan.params.toLocaleString('en-US')} weight values, but the file holds ${held.toLocaleString('en-US')}: the config and the weights belong to different models.`,
      file,
    );
  }
  checkMemory(
    8 * plan.params + 4 * plan.activationsPerImage,
    `loading it (${plan.params.toLocaleString('en-US')} parameters, ${plan.activationsPerImage.toLocaleString('en-US')} activation values per image)`,
    file,
  );
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON(flat as unknown as tf.io.ModelJSON['modelTopology'] as never);
  } catch (e) {
    throw cannotBuild(e);
  }
  try {
    setWeights(model, splitNested(model, weights), file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
