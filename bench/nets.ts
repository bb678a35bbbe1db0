/**
 * The benchmark's networks, built with fixed-seed initializers so every run times the same weights.
 * MNIST-shaped input `[28, 28, 1]`, softmax output over 10 classes.
 */
import * as tf from '../src/engine/runtime/tf';

export interface ConvSpec {
  conv: number;
  filters: number;
}
export interface PoolSpec {
  pool: number;
}
export interface DenseSpec {
  dense: number;
  activation: 'relu' | 'softmax' | 'sigmoid' | 'linear';
}
export type LayerSpec = ConvSpec | PoolSpec | DenseSpec | { flatten: true };

/** The networks by name: `mnist` is the seed's MNIST net as samples/mnist/mnist.lens.json defines it (run.mjs builds it from that recipe when the file exists), SMALL and BIG those of environment.md. */
export const NETS: Record<string, LayerSpec[]> = {
  mnist: [{ conv: 5, filters: 16 }, { pool: 2 }, { conv: 5, filters: 32 }, { pool: 2 }, { flatten: true }, { dense: 10, activation: 'softmax' }],
  small: [{ conv: 3, filters: 8 }, { pool: 2 }, { conv: 3, filters: 16 }, { pool: 2 }, { flatten: true }, { dense: 10, activation: 'softmax' }],
  big: [
    { conv: 5, filters: 32 },
    { pool: 2 },
    { conv: 5, filters: 64 },
    { pool: 2 },
    { flatten: true },
    { dense: 1024, activation: 'relu' },
    { dense: 10, activation: 'softmax' },
  ],
};

/** A Sequential model of `specs` (conv layers: valid padding, ReLU), weights from seed `seed`. */
export function buildNet(specs: LayerSpec[], seed = 1): tf.Sequential {
  const model = tf.sequential();
  let s = seed;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  specs.forEach((spec, i) => {
    const first = i === 0 ? { inputShape: [28, 28, 1] } : {};
    if ('conv' in spec) {
      model.add(
        tf.layers.conv2d({
          ...first,
          kernelSize: spec.conv,
          filters: spec.filters,
          activation: 'relu',
          padding: 'valid',
          kernelInitializer: init(),
          biasInitializer: tf.initializers.randomUniform({ minval: 0, maxval: 0.05, seed: s++ }),
        }),
      );
    } else if ('pool' in spec) {
      model.add(tf.layers.maxPooling2d({ ...first, poolSize: spec.pool, strides: spec.pool }));
    } else if ('dense' in spec) {
      model.add(
        tf.layers.dense({
          ...first,
          units: spec.dense,
          activation: spec.activation,
          kernelInitializer: init(),
          biasInitializer: tf.initializers.randomUniform({ minval: 0, maxval: 0.05, seed: s++ }),
        }),
      );
    } else {
      model.add(tf.layers.flatten(first));
    }
  });
  return model;
}
