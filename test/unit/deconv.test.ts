import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend';
import { project } from '../../src/engine/project';
import * as tf from '../../src/engine/tf';

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
    layers: [
      tf.layers.conv2d({ inputShape: [5, 5, 1], filters: 1, kernelSize: 2, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
    ],
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
      const r = project(model, layer, 0, image, method, maxOnly);
      assert.deepEqual(r.projection.shape, [5, 5, 1]);
      assert.deepEqual(Array.from(r.projection.data), expected, `${method} layer ${layer} maxOnly=${maxOnly}`);
      assert.equal(r.min, Math.min(...expected));
      assert.equal(r.max, Math.max(...expected));
    }
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
}
