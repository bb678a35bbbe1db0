/**
 * Training recipes: the `training` object of a lens file, parsed and checked (the model it builds is recipeModel.ts).
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
