/**
 * The model and optimizer a training recipe (recipes.ts) makes: the TF.js Layers model its `architecture` builds,
 * checked against the memory budget before tfjs allocates it (`recipeCost`), and its optimizer.
 */
import { checkMemory } from '../runtime/budget';
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import type { Recipe } from './recipes';

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
