/**
 * What a Layers topology will cost before tfjs allocates it: built dry (`dryBuild`, weight shapes recorded, none
 * allocated) and checked against its weights manifest and the memory budget (`planModel`). Used for TF.js
 * Layers files (layersModelJson.ts) and Keras configs (kerasWeights.ts).
 */
import { checkMemory } from '../runtime/budget';
import { UserError } from '../runtime/errors';
import { checkGraph } from './layersGraphCheck';
import { modelError, type ParsedModelJson } from './layersModelJson';
import * as tf from '../runtime/tf';

/** Layers in a model.json beyond this are refused before tfjs builds them (its topology code recurses per layer). */
const MAX_LAYERS = 5000;

/** What building a model will cost, learned from its topology without allocating a weight. */
export interface ModelPlan {
  /** Values of every weight the layers create. */
  params: number;
  /** Weight shapes the layers create, in order. */
  weightShapes: number[][];
  /** Values of every layer's output for one image (layers with unknown dimensions counted as 0). */
  activationsPerImage: number;
  layers: number;
}

/**
 * Builds the topology with tfjs itself, but with `Layer.addWeight` recording shapes instead of allocating them,
 * so a layer of two million units costs nothing here. The build runs synchronously inside `modelFromJSON`
 * (nothing before it awaits when there is no weights manifest), so the patch is in place exactly for it.
 * The model it returns holds no tensors and is dropped, never disposed.
 */
export async function dryBuild(topology: Record<string, unknown>): Promise<ModelPlan> {
  checkGraph(topology);
  const proto = tf.layers.Layer.prototype as unknown as { addWeight: (...a: unknown[]) => unknown };
  const real = proto.addWeight;
  const weightShapes: number[][] = [];
  proto.addWeight = function (
    this: { _trainableWeights: unknown[]; _nonTrainableWeights: unknown[] },
    name: unknown,
    shape: unknown,
    dtype: unknown,
    _init: unknown,
    _reg: unknown,
    trainable: unknown,
  ) {
    const s = Array.from(shape as ArrayLike<number>, (d) => Number(d));
    weightShapes.push(s);
    const fake = Object.create(tf.LayerVariable.prototype) as Record<string, unknown>;
    Object.assign(fake, { shape: s, dtype: dtype ?? 'float32', name: String(name), originalName: String(name), trainable_: trainable !== false, id: -1 });
    (trainable === false ? this._nonTrainableWeights : this._trainableWeights).push(fake);
    return fake;
  };
  let pending: Promise<tf.LayersModel>;
  try {
    pending = tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  } finally {
    proto.addWeight = real;
  }
  const model = await pending;
  let activationsPerImage = 0;
  for (const layer of model.layers) {
    let shapes: unknown;
    try {
      shapes = layer.outputShape;
    } catch {
      continue; // a layer used several times has no single output shape
    }
    const list = (Array.isArray(shapes) && Array.isArray(shapes[0]) ? shapes : [shapes]) as (number | null)[][];
    for (const s of list) {
      const dims = s.slice(1);
      if (dims.every((d) => typeof d === 'number' && d >= 0)) activationsPerImage += (dims as number[]).reduce((a, b) => a * b, 1);
    }
  }
  const params = weightShapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  return { params, weightShapes, activationsPerImage, layers: model.layers.length };
}

/** The number of layers a topology lists (Sequential or functional, Keras' full-model wrapper too). */
function layerCount(topology: Record<string, unknown>): number {
  const t = (topology.model_config ?? topology) as Record<string, unknown>;
  const config = t.config as unknown;
  const layers = Array.isArray(config) ? config : (config as { layers?: unknown } | undefined)?.layers;
  return Array.isArray(layers) ? layers.length : 0;
}

const shapeText = (s: number[]) => `[${s.join(', ')}]`;
const count = (n: number) => n.toLocaleString('en-US');

/**
 * Checks what the topology would allocate before tfjs builds it: its layer count, every weight its layers create
 * against the weights manifest (a layer the manifest does not feed would be filled with zeros of its declared size
 * first), and the weights and one image's activations against the memory budget.
 */
export async function planModel(parsed: ParsedModelJson, file: string): Promise<ModelPlan> {
  const n = layerCount(parsed.topology);
  if (n > MAX_LAYERS) throw new UserError('badInput', `has ${count(n)} layers; Feature Lens loads models of up to ${count(MAX_LAYERS)} layers.`, file);
  let plan: ModelPlan;
  try {
    plan = await dryBuild(parsed.topology);
  } catch (e) {
    throw modelError(e, file, 'is not a loadable TF.js Layers model');
  }
  const declared = new Map<string, number>();
  for (const w of parsed.specs) declared.set(shapeText(w.shape), (declared.get(shapeText(w.shape)) ?? 0) + 1);
  const missing: number[][] = [];
  for (const s of plan.weightShapes) {
    const k = shapeText(s);
    const left = declared.get(k) ?? 0;
    if (left > 0) declared.set(k, left - 1);
    else missing.push(s);
  }
  if (missing.length) {
    throw new UserError(
      'badInput',
      `its layers need ${count(plan.weightShapes.length)} weights (${count(plan.params)} values) but its weightsManifest describes ${count(parsed.specs.length)} (${count(parsed.declaredValues)} values): no weight of shape ${shapeText(missing[0])}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''} in the manifest. The weights belong to another model.`,
      file,
    );
  }
  checkMemory(
    8 * plan.params + 4 * plan.activationsPerImage,
    `loading it (${count(plan.params)} parameters, ${count(plan.activationsPerImage)} activation values per image)`,
    file,
  );
  return plan;
}
