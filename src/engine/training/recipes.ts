/**
 * Training recipes: the `training` object of a lens file, and the TF.js Layers model it builds.
 *
 * ```json
 * "training": {
 *   "architecture": [{"type": "conv2d", "filters": 8, "kernelSize": 5, "activation": "relu"}, {"type": "maxPooling2d"},
 *                    {"type": "flatten"}, {"type": "dense", "units": 10, "activation": "softmax"}],
 *   "optimizer": {"type": "adam", "learningRate": 0.001},
 *   "loss": "categoricalCrossentropy", "epochs": 5, "batchSize": 64,
 *   "augment": {"flip": true, "rotate": 15}, "seed": 1,
 *   "restarts": {"attempts": 10, "minTrainAccuracy": 0.95, "afterEpochs": 3},
 *   "crossTest": {"name": "on the originals", "dataset": {...}}
 * }
 * ```
 */
import type { Fields } from '../datasets/fields';
import { checkMemory } from '../runtime/budget';
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu', 'selu', 'softplus', 'softsign', 'hardSigmoid', 'swish'] as const;
type Activation = (typeof ACTIVATIONS)[number];
const LOSSES = ['categoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError'] as const;

export type LayerSpec =
  | {
      type: 'conv2d';
      name?: string;
      filters: number;
      kernelSize: [number, number];
      strides: [number, number];
      padding: 'valid' | 'same';
      activation: Activation;
      useBias: boolean;
    }
  | { type: 'maxPooling2d' | 'averagePooling2d'; name?: string; poolSize: [number, number]; strides: [number, number]; padding: 'valid' | 'same' }
  | { type: 'flatten'; name?: string }
  | { type: 'dense'; name?: string; units: number; activation: Activation; useBias: boolean }
  | { type: 'dropout'; name?: string; rate: number }
  | { type: 'activation'; name?: string; activation: Activation };

export interface Recipe {
  architecture: LayerSpec[];
  optimizer: { type: 'adam' | 'sgd' | 'momentum' | 'rmsprop'; learningRate: number; momentum: number };
  loss: (typeof LOSSES)[number];
  epochs: number;
  batchSize: number;
  augment: { flip: boolean; rotate: number };
  seed: number;
  /**
   * Restarts for small nets that can get stuck (EFL's two bias-free ReLU nodes die for some initial weights):
   * when the training accuracy after `afterEpochs` epochs is below `minTrainAccuracy`, the attempt is dropped
   * and training starts over from the next seed, at most `attempts` times in all; the last attempt runs to the end.
   * Judged on the training split only, never the test split.
   */
  restarts: { attempts: number; minTrainAccuracy: number; afterEpochs: number };
  /** Extra test sets; their `dataset` is parsed by the lens reader (its test split is used). */
  crossTests: { name: string; dataset: unknown }[];
  /** Epochs whose weights training keeps (methods/checkpoints.ts): every `every`-th, and those listed. */
  checkpoints?: { every?: number; epochs?: number[] };
}

/** Layers in a recipe beyond this are refused (TensorFlow.js builds and serializes a model recursively). */
export const MAX_RECIPE_LAYERS = 1000;

const LAYER_TYPES = ['conv2d', 'maxPooling2d', 'averagePooling2d', 'flatten', 'dense', 'dropout', 'activation'] as const;

/** Parses `training` (all problems reported with the field path, e.g. `training.architecture[2].units`). */
export function parseRecipe(f: Fields, parseDataset: (f: Fields) => unknown): Recipe {
  const arch = f.raw('architecture');
  if (!Array.isArray(arch) || arch.length === 0) f.fail(f.path('architecture'), 'must be a non-empty list of layers');
  if (arch.length > MAX_RECIPE_LAYERS) f.fail(f.path('architecture'), `has ${arch.length} layers; a recipe has at most ${MAX_RECIPE_LAYERS}`);
  const architecture = arch.map((layer, i) => parseLayer(f.child(layer, `${f.path('architecture')}[${i}]`)));
  const o = f.sub('optimizer', false);
  const optimizer = {
    type: o ? o.oneOf('type', ['adam', 'sgd', 'momentum', 'rmsprop'] as const) : ('adam' as const),
    learningRate: o ? o.num('learningRate', { min: 0, max: 10, def: 0.001 }) : 0.001,
    momentum: o ? o.num('momentum', { min: 0, max: 1, def: 0.9 }) : 0.9,
  };
  o?.done();
  const loss = f.oneOf('loss', LOSSES, 'categoricalCrossentropy');
  const epochs = f.num('epochs', { int: true, min: 1, max: 10000 });
  const batchSize = f.num('batchSize', { int: true, min: 1, max: 65536, def: 32 });
  const a = f.sub('augment', false);
  const augment = { flip: a ? a.bool('flip', false) : false, rotate: a ? a.num('rotate', { min: 0, max: 180, def: 0 }) : 0 };
  a?.done();
  const seed = f.num('seed', { int: true, min: 0, def: 1 });
  const r = f.sub('restarts', false);
  const restarts = {
    attempts: r ? r.num('attempts', { int: true, min: 1, max: 100 }) : 1,
    minTrainAccuracy: r ? r.num('minTrainAccuracy', { min: 0, max: 1 }) : 0,
    afterEpochs: r ? r.num('afterEpochs', { int: true, min: 1, def: 1 }) : 1,
  };
  r?.done();
  const ct = f.raw('crossTest');
  const list = ct === undefined ? [] : Array.isArray(ct) ? ct : [ct];
  const crossTests = list.map((c, i) => {
    const cf = f.child(c, Array.isArray(ct) ? `${f.path('crossTest')}[${i}]` : f.path('crossTest'));
    const r = { name: cf.str('name'), dataset: parseDataset(cf.sub('dataset')!) };
    cf.done();
    return r;
  });
  const checkpoints = parseCheckpoints(f);
  f.done();
  const last = architecture[architecture.length - 1];
  if (
    loss === 'categoricalCrossentropy' &&
    !(last.type === 'dense' && last.activation === 'softmax') &&
    !(last.type === 'activation' && last.activation === 'softmax')
  ) {
    f.fail(
      f.path('architecture'),
      'must end with a dense layer with "activation": "softmax" (one unit per class) for the categoricalCrossentropy loss; or set "loss"',
    );
  }
  return { architecture, optimizer, loss, epochs, batchSize, augment, seed, restarts, crossTests, ...(checkpoints ? { checkpoints } : {}) };
}

/** `checkpoints`: `{"every": N}` or a list of epochs. */
function parseCheckpoints(f: Fields): Recipe['checkpoints'] {
  const v = f.raw('checkpoints');
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (!v.length || !v.every((e) => Number.isInteger(e) && e >= 1 && e <= 10000))
      f.fail(f.path('checkpoints'), 'must be {"every": N} or a non-empty list of epoch numbers (1, 2, ...)');
    return { epochs: [...v] };
  }
  const c = f.sub('checkpoints')!;
  const every = c.num('every', { int: true, min: 1, max: 10000 });
  c.done();
  return { every };
}

function pair(f: Fields, key: string, def?: number): [number, number] {
  const v = f.raw(key);
  if (v === undefined && def !== undefined) return [def, def];
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= 1 && d <= 1024)) {
    f.fail(f.path(key), `must be a whole number ≥ 1 or a pair [height, width], not ${JSON.stringify(v) ?? 'nothing'}`);
  }
  return [p[0], p[1]];
}

function parseLayer(f: Fields): LayerSpec {
  const type = f.oneOf('type', LAYER_TYPES);
  const name = f.str('name', false);
  let spec: LayerSpec;
  switch (type) {
    case 'conv2d':
      spec = {
        type,
        name,
        filters: f.num('filters', { int: true, min: 1, max: 4096 }),
        kernelSize: pair(f, 'kernelSize'),
        strides: pair(f, 'strides', 1),
        padding: f.oneOf('padding', ['valid', 'same'] as const, 'valid'),
        activation: f.oneOf('activation', ACTIVATIONS, 'linear'),
        useBias: f.bool('useBias', true),
      };
      break;
    case 'maxPooling2d':
    case 'averagePooling2d': {
      const poolSize = pair(f, 'poolSize', 2);
      spec = {
        type,
        name,
        poolSize,
        strides: f.has('strides') ? pair(f, 'strides') : (f.raw('strides'), poolSize),
        padding: f.oneOf('padding', ['valid', 'same'] as const, 'valid'),
      };
      break;
    }
    case 'flatten':
      spec = { type, name };
      break;
    case 'dense':
      spec = {
        type,
        name,
        units: f.num('units', { int: true, min: 1, max: 1 << 20 }),
        activation: f.oneOf('activation', ACTIVATIONS, 'linear'),
        useBias: f.bool('useBias', true),
      };
      break;
    case 'dropout':
      spec = { type, name, rate: f.num('rate', { min: 0, max: 0.99 }) };
      break;
    case 'activation':
      spec = { type, name, activation: f.oneOf('activation', ACTIVATIONS) };
      break;
  }
  f.done();
  if (!spec.name) delete spec.name;
  return spec;
}

/**
 * Builds the recipe's model for `[h, w, c]` inputs and `classes` outputs, with seeded initializers so a
 * run reproduces. The last dense layer must have one unit per class.
 */
export function buildModel(recipe: Recipe, inputShape: [number, number, number], classes: number, name: string, file: string): tf.Sequential {
  const cost = recipeCost(recipe, inputShape, file);
  checkMemory(
    TRAINING_BYTES_PER_PARAM * cost.params + TRAINING_BYTES_PER_ACTIVATION * cost.activationsPerImage * recipe.batchSize,
    `training its recipe (${cost.params.toLocaleString('en-US')} parameters, ${cost.activationsPerImage.toLocaleString('en-US')} activation values per image, batches of ${recipe.batchSize})`,
    file,
  );
  const last = [...recipe.architecture].reverse().find((l) => l.type === 'dense');
  if (!last || last.type !== 'dense' || last.units !== classes) {
    throw new UserError(
      'badInput',
      `the last dense layer of "training.architecture" must have one unit per class (${classes}), not ${last && last.type === 'dense' ? last.units : 'none'}.`,
      file,
    );
  }
  const model = tf.sequential({ name: name.replace(/[^\w.-]/g, '_') });
  recipe.architecture.forEach((spec, i) => {
    const seed = recipe.seed * 1000 + i;
    const first = i === 0 ? { inputShape } : {};
    const named = spec.name ? { name: spec.name } : {};
    const kernelInitializer = tf.initializers.glorotUniform({ seed });
    let layer: tf.layers.Layer;
    switch (spec.type) {
      case 'conv2d':
        layer = tf.layers.conv2d({
          ...first,
          ...named,
          filters: spec.filters,
          kernelSize: spec.kernelSize,
          strides: spec.strides,
          padding: spec.padding,
          activation: spec.activation,
          useBias: spec.useBias,
          kernelInitializer,
        });
        break;
      case 'maxPooling2d':
        layer = tf.layers.maxPooling2d({ ...first, ...named, poolSize: spec.poolSize, strides: spec.strides, padding: spec.padding });
        break;
      case 'averagePooling2d':
        layer = tf.layers.averagePooling2d({ ...first, ...named, poolSize: spec.poolSize, strides: spec.strides, padding: spec.padding });
        break;
      case 'flatten':
        layer = tf.layers.flatten({ ...first, ...named });
        break;
      case 'dense':
        layer = tf.layers.dense({ ...first, ...named, units: spec.units, activation: spec.activation, useBias: spec.useBias, kernelInitializer });
        break;
      case 'dropout':
        layer = tf.layers.dropout({ ...first, ...named, rate: spec.rate, seed });
        break;
      case 'activation':
        layer = tf.layers.activation({ ...first, ...named, activation: spec.activation });
        break;
    }
    try {
      model.add(layer);
    } catch (e) {
      model.dispose();
      throw new UserError('badInput', `"training.architecture[${i}]" (${spec.type}) does not fit the layer before it: ${(e as Error).message}`, file);
    }
  });
  return model;
}

/** Weights, their gradient and two optimizer slots (Adam's moments), float32. */
const TRAINING_BYTES_PER_PARAM = 16;
/** Each activation and its gradient, float32. */
const TRAINING_BYTES_PER_ACTIVATION = 8;

/**
 * A recipe's parameter count and the activation values one image makes, from the layer specs alone (no tfjs),
 * so a recipe that would need gigabytes is refused before a weight is allocated.
 */
export function recipeCost(recipe: Recipe, inputShape: [number, number, number], file: string): { params: number; activationsPerImage: number } {
  let shape: number[] = [...inputShape];
  let params = 0;
  let activationsPerImage = 0;
  const out = (size: number, k: number, s: number, padding: 'valid' | 'same') => (padding === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1);
  recipe.architecture.forEach((spec, i) => {
    const last = shape[shape.length - 1];
    switch (spec.type) {
      case 'conv2d':
      case 'maxPooling2d':
      case 'averagePooling2d': {
        if (shape.length !== 3)
          throw new UserError(
            'badInput',
            `"training.architecture[${i}]" (${spec.type}) needs an image input [height, width, channels], not [${shape.join(', ')}].`,
            file,
          );
        const [kh, kw] = spec.type === 'conv2d' ? spec.kernelSize : spec.poolSize;
        const oh = out(shape[0], kh, spec.strides[0], spec.padding);
        const ow = out(shape[1], kw, spec.strides[1], spec.padding);
        if (oh < 1 || ow < 1)
          throw new UserError(
            'badInput',
            `"training.architecture[${i}]" (${spec.type}) does not fit the layer before it: a ${kh}×${kw} window on a ${shape[0]}×${shape[1]} input.`,
            file,
          );
        if (spec.type === 'conv2d') {
          params += kh * kw * last * spec.filters + (spec.useBias ? spec.filters : 0);
          shape = [oh, ow, spec.filters];
        } else shape = [oh, ow, last];
        break;
      }
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'dense':
        params += last * spec.units + (spec.useBias ? spec.units : 0);
        shape = [...shape.slice(0, -1), spec.units];
        break;
      default:
        break;
    }
    activationsPerImage += shape.reduce((a, b) => a * b, 1);
  });
  return { params, activationsPerImage };
}

export function makeOptimizer(o: Recipe['optimizer']): tf.Optimizer {
  switch (o.type) {
    case 'adam':
      return tf.train.adam(o.learningRate);
    case 'sgd':
      return tf.train.sgd(o.learningRate);
    case 'momentum':
      return tf.train.momentum(o.learningRate, o.momentum);
    case 'rmsprop':
      return tf.train.rmsprop(o.learningRate);
  }
}
