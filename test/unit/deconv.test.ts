import assert from 'node:assert/strict';
import { test } from 'node:test';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { project } from '../../src/engine/methods/projection';
import * as tf from '../../src/engine/runtime/tf';

/**
 * A hand-worked case: 5×5×1 input, one 2×2 filter [[1, -1], [2, 0]] with bias 0.5 (valid, ReLU),
 * 2×2 max-pool. Conv map (all positive, so ReLU keeps it):
 *   1.5 4.5 2.5 1.5 / 1.5 3.5 1.5 1.5 / 2.5 1.5 1.5 1.5 / 1.5 1.5 4.5 2.5
 * pooled: [[4.5, 2.5], [2.5, 4.5]] with switches at (0,1), (0,2), (2,0), (3,2).
 * Projections below worked out on paper: R[i+a][j+b] += U[i][j]·K[a][b], biases ignored.
 */
const X = [1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1];
const SWITCHES_FULL = [0, 4.5, -2, -2.5, 0, 0, 9, 5, 0, 0, 2.5, -2.5, 0, 0, 0, 5, 0, 4.5, -4.5, 0, 0, 0, 9, 0, 0];
const SWITCHES_MAX = [0, 4.5, -4.5, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const COPY_FULL = [4.5, 0, -2, 0, -2.5, 13.5, 9, 3, 5, -2.5, 11.5, 9, 7, 5, -4.5, 7.5, 5, 11, 9, -4.5, 5, 5, 9, 9, 0];
const COPY_MAX = [4.5, 0, -4.5, 0, 0, 13.5, 9, -4.5, 0, 0, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

function tinyNet(): tf.LayersModel {
  const model = tf.sequential({
    layers: [tf.layers.conv2d({ inputShape: [5, 5, 1], filters: 1, kernelSize: 2, activation: 'relu' }), tf.layers.maxPooling2d({ poolSize: 2 })],
  });
  model.layers[0].setWeights([tf.tensor4d([1, -1, 2, 0], [2, 2, 1, 1]), tf.tensor1d([0.5])]);
  return model;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`deconvolution matches the hand-worked projections (${backend})`, async () => {
    await initBackend(backend);
    const model = tinyNet();
    const image = { shape: [5, 5, 1], data: Float32Array.from(X) };
    const before = tf.memory().numTensors;
    const cases: [number, 'deconv' | 'deconvNoSwitches', boolean, number[]][] = [
      [1, 'deconv', false, SWITCHES_FULL],
      [1, 'deconv', true, SWITCHES_MAX],
      [1, 'deconvNoSwitches', false, COPY_FULL],
      [1, 'deconvNoSwitches', true, COPY_MAX],
      // the conv layer's own map with maxOnly: its maximum 4.5 sits at (0,1), the same single seed as SWITCHES_MAX
      [0, 'deconv', true, SWITCHES_MAX],
    ];
    for (const [layer, method, maxOnly, expected] of cases) {
      const r = project(net(model), layer, 0, image, method, maxOnly);
      assert.deepEqual(r.projection.shape, [5, 5, 1]);
      assert.deepEqual(Array.from(r.projection.data), expected, `${method} layer ${layer} maxOnly=${maxOnly}`);
      assert.equal(r.min, Math.min(...expected));
      assert.equal(r.max, Math.max(...expected));
    }
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
}

/**
 * Through linear layers only (no ReLU, no max-pool) a deconvolution is the transpose of the network's linear
 * part applied to the kept map: Jᵀs, with J measured column by column from forward passes on basis images
 * (biases drop out of J, as they are ignored on the way back). Not tf.grad: tfjs's average-pool gradient
 * divides by the full window even where the forward pass averaged fewer values ('same' padding). Covers strided and 'same' convolutions,
 * depthwise convolution, batch normalization, average pooling (valid and same), global pooling, reshape,
 * dropout and dense layers.
 */
test('deconvolution through linear layers equals the transposed Jacobian measured from forward passes', async () => {
  await initBackend('cpu');
  const init = (seed: number) => tf.initializers.randomNormal({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [9, 9, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1), biasInitializer: init(2) }),
      tf.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: 'same', depthwiseInitializer: init(3), biasInitializer: init(4) }),
      tf.layers.batchNormalization({
        gammaInitializer: init(5),
        movingVarianceInitializer: tf.initializers.constant({ value: 3 }),
        movingMeanInitializer: init(6),
      }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
      tf.layers.reshape({ targetShape: [2, 2, 6] }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, kernelInitializer: init(7), biasInitializer: init(8) }),
    ],
  });
  const g = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [5, 5, 3] }), tf.layers.dense({ units: 2, kernelInitializer: init(9) })] });
  // layer indices of the network, which lists no Dropout, Reshape or Flatten: 5 is the dense layer, 4 the second pool
  const cases: [tf.LayersModel, number, number, number[]][] = [
    [model, 5, 2, [9, 9, 2]],
    [model, 4, 4, [9, 9, 2]],
    [model, 3, 1, [9, 9, 2]],
    [model, 1, 5, [9, 9, 2]],
    [g, 1, 1, [5, 5, 3]],
  ];
  for (const [m, layer, node, shape] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const image = { shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 0.5 + 0.5) };
    const want = tf.tidy(() => {
      const sub = tf.model({ inputs: m.inputs, outputs: m.getLayer(net(m).layers[layer].name).output as tf.SymbolicTensor });
      const out = sub.predict(tf.tensor(image.data, [1, ...shape])) as tf.Tensor;
      const s = tf.mul(out, tf.oneHot(node, out.shape[out.rank - 1])).dataSync();
      // column i of J is f(e_i) - f(0): the network is affine, so n + 1 forward passes give J exactly
      // scaled basis (the map is affine, so f(1000 e_i) - f(0) = 1000 J e_i) to keep float32 cancellation small
      const basis = tf.reshape(tf.concat([tf.mul(tf.eye(n), 1000), tf.zeros([1, n])]), [n + 1, ...shape]);
      const f = tf.reshape(sub.predict(basis) as tf.Tensor, [n + 1, -1]).arraySync() as number[][];
      return Array.from({ length: n }, (_, i) => f[i].reduce((a, v, o) => a + s[o] * (v - f[n][o]), 0) / 1000);
    });
    const before = tf.memory().numTensors;
    const got = project(net(m), layer, node, image, 'deconv').projection.data;
    assert.equal(tf.memory().numTensors, before);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    // float32 rounding of the measured J stays below 1e-5 here; a wrong step gives errors of order 1
    assert.ok(scale > 0 && diff / scale < 1e-4, `layer ${layer} node ${node}: relative error ${diff / scale}`);
  }
  model.dispose();
  g.dispose();
});

test('deconvolution: clear errors, and the other methods keep working', async () => {
  await initBackend('cpu');
  const model = tinyNet();
  const image = { shape: [5, 5, 1], data: Float32Array.from(X) };
  assert.throws(() => project(net(model), 2, 0, image, 'deconv'), /Layer 2 is out of range: model .* has 2 layers \(0 to 1\)/);
  assert.throws(() => project(net(model), 1, 1, image, 'deconv'), /Node 1 is out of range: layer 1 .* has 1 nodes/);
  assert.throws(() => project(net(model), 1, 0, { shape: [4, 4, 1], data: new Float32Array(16) }, 'deconv'), /\[4, 4, 1\] but model .* expects \[5, 5, 1\]/);
  assert.throws(() => project(net(model), 1, 0, image, 'nope' as never), /Unknown projection method "nope"/);
  // a gate (the product of two computed values) has no deconvolution rule: the message names it, saliency still runs
  const input = tf.input({ shape: [5, 5, 1] });
  const c = tf.layers.conv2d({ filters: 1, kernelSize: 2, name: 'c' }).apply(input) as tf.SymbolicTensor;
  const gate = tf.layers.activation({ activation: 'sigmoid', name: 'gate' }).apply(c) as tf.SymbolicTensor;
  const leaky = tf.model({ inputs: input, outputs: tf.layers.multiply({ name: 'gated' }).apply([c, gate]) as tf.SymbolicTensor });
  assert.throws(() => project(net(leaky), 2, 0, image, 'deconv'), /Deconvolution cannot pass through Multiply gated: it multiplies two computed values/);
  assert.equal(project(net(leaky), 2, 0, image, 'saliency').projection.data.length, 25);
  assert.deepEqual(Array.from(project(net(model), 1, 0, image, 'deconv').projection.data), SWITCHES_FULL);
  model.dispose();
  leaky.dispose();
});

/**
 * Unpooling with overlapping windows and 'same' padding. With switches, the signal goes to each window's
 * maximum and overlapping windows add up: the max-pool gradient (cpu), for an input without ties. Without
 * switches every window position gets the value: kh·kw times tfjs's average-pool gradient (which divides by the
 * full window everywhere).
 */
test('unpooling with overlapping windows and same padding (cpu gradients as reference)', async () => {
  await initBackend('cpu');
  for (const [pool, stride, padding] of [
    [3, 2, 'same'],
    [3, 1, 'valid'],
    [2, 2, 'same'],
  ] as const) {
    const model = tf.sequential({ layers: [tf.layers.maxPooling2d({ inputShape: [7, 7, 2], poolSize: pool, strides: stride, padding })] });
    const data = Float32Array.from({ length: 98 }, (_, i) => ((i * 37) % 98) / 98); // distinct values: no ties
    const image = { shape: [7, 7, 2], data };
    const [withSwitches, copied] = tf.tidy(() => {
      const x = tf.tensor4d(data, [1, 7, 7, 2]);
      const out = tf.maxPool(x, pool, stride, padding);
      const s = tf.mul(out, tf.oneHot(1, 2));
      const a = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(s, tf.maxPool(v as tf.Tensor4D, pool, stride, padding))))(x);
      const b = tf.mul(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(s, tf.avgPool(v as tf.Tensor4D, pool, stride, padding))))(x), pool * pool);
      return [Array.from(a.dataSync()), Array.from(b.dataSync())];
    });
    const got = project(net(model), 0, 1, image, 'deconv').projection.data;
    const gotCopy = project(net(model), 0, 1, image, 'deconvNoSwitches').projection.data;
    for (let i = 0; i < 98; i++) {
      assert.ok(Math.abs(got[i] - withSwitches[i]) < 1e-6, `switches ${pool}/${stride}/${padding} at ${i}: ${got[i]} vs ${withSwitches[i]}`);
      assert.ok(Math.abs(gotCopy[i] - copied[i]) < 1e-5, `copy ${pool}/${stride}/${padding} at ${i}: ${gotCopy[i]} vs ${copied[i]}`);
    }
    if (stride < pool)
      assert.ok(
        withSwitches.some((v, i) => v > data[i] + 1e-6),
        'overlapping windows should add up somewhere',
      );
    model.dispose();
  }
  const gmp = tf.sequential({ layers: [tf.layers.globalMaxPooling2d({ inputShape: [3, 3, 2] })] });
  const img = { shape: [3, 3, 2], data: Float32Array.from([5, 1, 2, 9, 3, 4, 8, 0, 7, 6, 1, 2, 3, 4, 5, 6, 7, 8]) };
  // channel 1 holds 1 9 4 0 6 2 4 6 8: its maximum 9 sits at position 1
  assert.deepEqual(Array.from(project(net(gmp), 0, 1, img, 'deconv').projection.data), [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(project(net(gmp), 0, 1, img, 'deconvNoSwitches').projection.data), [0, 9, 0, 9, 0, 9, 0, 9, 0, 9, 0, 9, 0, 9, 0, 9, 0, 9]);
  gmp.dispose();
});
