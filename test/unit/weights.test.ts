import assert from 'node:assert/strict';
import { test } from 'node:test';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { UserError } from '../../src/engine/runtime/errors';
import * as tf from '../../src/engine/runtime/tf';
import { layerWeights as weightsOf } from '../../src/engine/methods/weights';

/** Sets every weight of `layer` to distinct values (index · 0.01 − 1), so a misplaced value shows. */
function distinct(layer: tf.layers.Layer): void {
  const values = layer.getWeights().map((w, k) =>
    tf.tensor(
      Float32Array.from({ length: w.size }, (_, i) => i * 0.01 - 1 + k * 5),
      w.shape,
    ),
  );
  layer.setWeights(values);
  tf.dispose(values);
}

/** layerWeights, asserting it leaves no tensor behind. */
function layerWeights(...args: Parameters<typeof weightsOf>): ReturnType<typeof weightsOf> {
  const before = tf.memory().numTensors;
  try {
    return weightsOf(...args);
  } finally {
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  }
}

/** Nested array lookup, independent of the flat index arithmetic under test. */
const at = (w: tf.Tensor, ...idx: number[]) => idx.reduce((a: unknown, i) => (a as unknown[])[i], w.arraySync()) as number;

test('weights: tiles are the raw kernel values, laid out as the design says', async () => {
  await initBackend('cpu');
  // dense fed by a 4×3×1 input through Flatten: one [4, 3, 1] tile per unit
  const m1 = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 3, 1] }), tf.layers.dense({ units: 2 })] });
  distinct(m1.layers[1]);
  const k1 = m1.layers[1].getWeights()[0];
  const r1 = layerWeights(net(m1), 0);
  assert.deepEqual(r1.nodes, [0, 1]);
  assert.equal(r1.rgb, false);
  for (const n of [0, 1]) {
    assert.equal(r1.tiles[n].length, 1);
    assert.deepEqual(r1.tiles[n][0].shape, [4, 3, 1]);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++) assert.equal(r1.tiles[n][0].data[y * 3 + x], Math.fround(at(k1, y * 3 + x, n)));
  }
  assert.equal(r1.min, Math.fround(-1));
  assert.equal(r1.max, Math.fround(23 * 0.01 - 1));
  assert.deepEqual(Array.from(r1.bias!), [4, 4.01].map(Math.fround));
  const one = layerWeights(net(m1), 0, 1);
  assert.deepEqual(one.nodes, [1]);
  assert.deepEqual(one.tiles[0], r1.tiles[1]);
  assert.equal(one.min, r1.min, 'min/max are over the whole layer, not the node');

  // RGB input: one [h, w, 3] tile
  const m2 = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 3] }), tf.layers.dense({ units: 1 })] });
  distinct(m2.layers[1]);
  const r2 = layerWeights(net(m2), 0);
  assert.equal(r2.rgb, true);
  assert.deepEqual(r2.tiles[0][0].shape, [2, 2, 3]);
  assert.equal(r2.tiles[0][0].data[(1 * 2 + 0) * 3 + 2], Math.fround(at(m2.layers[1].getWeights()[0], (1 * 2 + 0) * 3 + 2, 0)));

  // conv reading 3 channels: RGB tile [kh, kw, 3]; conv reading 2 channels: one [kh, kw, 1] tile per channel;
  // dense after conv + flatten: one [h, w, 1] tile per channel of the conv's output; dense after dense: a strip
  const m3 = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 5, 3], filters: 2, kernelSize: [3, 2] }),
      tf.layers.conv2d({ filters: 4, kernelSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3 }),
      tf.layers.dense({ units: 2, useBias: false }),
    ],
  });
  m3.layers.forEach(distinct);
  const c1 = layerWeights(net(m3), 0);
  const kc1 = m3.layers[0].getWeights()[0];
  assert.equal(c1.rgb, true);
  assert.deepEqual(c1.tiles[1][0].shape, [3, 2, 3]);
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 2; x++) for (let c = 0; c < 3; c++) assert.equal(c1.tiles[1][0].data[(y * 2 + x) * 3 + c], Math.fround(at(kc1, y, x, c, 1)));
  const c2 = layerWeights(net(m3), 1, 3);
  const kc2 = m3.layers[1].getWeights()[0];
  assert.equal(c2.rgb, false);
  assert.equal(c2.tiles[0].length, 2);
  for (let c = 0; c < 2; c++) {
    assert.deepEqual(c2.tiles[0][c].shape, [2, 2, 1]);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) assert.equal(c2.tiles[0][c].data[y * 2 + x], Math.fround(at(kc2, y, x, c, 3)));
  }
  const d1 = layerWeights(net(m3), 2, 2);
  const kd1 = m3.layers[3].getWeights()[0];
  assert.equal(d1.tiles[0].length, 4, 'one tile per channel of the 3×3×4 map the Flatten reads');
  assert.deepEqual(d1.tiles[0][3].shape, [3, 3, 1]);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) assert.equal(d1.tiles[0][3].data[y * 3 + x], Math.fround(at(kd1, (y * 3 + x) * 4 + 3, 2)));
  const d2 = layerWeights(net(m3), 3, 1);
  assert.deepEqual(d2.tiles[0][0].shape, [1, 3, 1]);
  assert.deepEqual(
    Array.from(d2.tiles[0][0].data),
    [0, 1, 2].map((i) => Math.fround(at(m3.layers[4].getWeights()[0], i, 1))),
  );
  assert.equal(d2.bias, undefined);

  // depthwise: output channel o reads input channel floor(o / multiplier)
  const m4 = tf.sequential({ layers: [tf.layers.depthwiseConv2d({ inputShape: [5, 5, 2], kernelSize: 2, depthMultiplier: 2 })] });
  distinct(m4.layers[0]);
  const dw = layerWeights(net(m4), 0);
  const kdw = m4.layers[0].getWeights()[0];
  assert.equal(dw.nodes.length, 4);
  for (let o = 0; o < 4; o++) {
    assert.deepEqual(dw.tiles[o][0].shape, [2, 2, 1]);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) assert.equal(dw.tiles[o][0].data[y * 2 + x], Math.fround(at(kdw, y, x, Math.floor(o / 2), o % 2)));
  }

  // errors
  const pool = tf.sequential({ layers: [tf.layers.maxPooling2d({ inputShape: [4, 4, 1], poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
  assert.throws(
    () => layerWeights(net(pool), 0),
    (e: unknown) => e instanceof UserError && e.code === 'unsupported' && /MaxPooling2D/.test(e.message) && /no weights/.test(e.message),
  );
  assert.throws(
    () => layerWeights(net(pool), 3),
    (e: unknown) => e instanceof UserError && e.code === 'badInput' && /Layer 3 is out of range/.test(e.message),
  );
  assert.throws(
    () => layerWeights(net(pool), 1, 2),
    (e: unknown) => e instanceof UserError && e.code === 'badInput' && /Node 2 is out of range.*has 2 nodes/.test(e.message),
  );
  assert.equal(layerWeights(net(pool), 1, 1).nodes[0], 1, 'still works after the errors');
  for (const m of [m1, m2, m3, m4, pool]) m.dispose();
});
