import assert from 'node:assert/strict';
import { test } from 'node:test';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { UserError } from '../../src/engine/runtime/errors';
import { featureMaps } from '../../src/engine/methods/featureMaps';
import { layerOutputs } from '../../src/engine/models/layerAccess';
import * as tf from '../../src/engine/runtime/tf';
import { seededImage, smallCnn } from './inspectRef';

/** Naive valid cross-correlation + bias + ReLU on `[h, w, cin]` with kernel `[kh, kw, cin, cout]` (nested arrays). */
function naiveConvRelu(x: number[][][], k: number[][][][], b: number[]): number[][][] {
  const [kh, kw, cin, cout] = [k.length, k[0].length, k[0][0].length, k[0][0][0].length];
  const out: number[][][] = [];
  for (let y = 0; y + kh <= x.length; y++) {
    out.push([]);
    for (let xx = 0; xx + kw <= x[0].length; xx++) {
      out[y].push(
        Array.from({ length: cout }, (_, o) => {
          let s = b[o];
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < cin; c++) s += x[y + i][xx + j][c] * k[i][j][c][o];
          return Math.max(s, 0);
        }),
      );
    }
  }
  return out;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`feature maps equal a naive convolution, pooling and the model output (${backend})`, async () => {
    await initBackend(backend);
    const model = smallCnn(3);
    const image = seededImage([10, 10, 2], 5);
    const x = tf.tidy(() => tf.tensor(image.data, [10, 10, 2]).arraySync() as number[][][]);
    const [k, b] = model.layers[0].getWeights().map((w) => w.arraySync());
    const conv = naiveConvRelu(x, k as number[][][][], b as number[]);
    const before = tf.memory().numTensors;
    const r0 = featureMaps(net(model), 0, image);
    assert.deepEqual(r0.maps.shape, [8, 8, 3]);
    let maxErr = 0;
    for (let y = 0; y < 8; y++)
      for (let xx = 0; xx < 8; xx++) for (let c = 0; c < 3; c++) maxErr = Math.max(maxErr, Math.abs(r0.maps.data[(y * 8 + xx) * 3 + c] - conv[y][xx][c]));
    assert.ok(maxErr < 1e-5, `conv map error ${maxErr}`);
    const flat = conv.flat(2);
    assert.ok(Math.abs(r0.max - Math.max(...flat)) < 1e-5 && r0.min === Math.min(...r0.maps.data));
    assert.ok(flat.some((v) => v === 0) && flat.some((v) => v > 0), 'the map should have both dead and live units');

    const r1 = featureMaps(net(model), 1, image);
    assert.deepEqual(r1.maps.shape, [4, 4, 3]);
    for (let y = 0; y < 4; y++) {
      for (let xx = 0; xx < 4; xx++) {
        for (let c = 0; c < 3; c++) {
          const want = Math.max(conv[2 * y][2 * xx][c], conv[2 * y][2 * xx + 1][c], conv[2 * y + 1][2 * xx][c], conv[2 * y + 1][2 * xx + 1][c]);
          assert.ok(Math.abs(r1.maps.data[(y * 4 + xx) * 3 + c] - want) < 1e-5);
        }
      }
    }
    const r6 = featureMaps(net(model), 5, image); // the last dense layer (Flatten is not listed)
    assert.deepEqual(r6.maps.shape, [3]);
    const predicted = tf.tidy(() => Array.from((model.predict(tf.tensor(image.data, [1, 10, 10, 2])) as tf.Tensor).dataSync()));
    assert.deepEqual(Array.from(r6.maps.data), predicted);
    assert.deepEqual(Array.from(r0.output), predicted, 'output is the model output whatever the layer');
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');

    // every layer's output for a batch and the network output, in one pass (what the scan uses)
    const batch = tf.tensor(
      new Float32Array(3 * 200).map((_, i) => (i % 17) / 17),
      [3, 10, 10, 2],
    );
    const outs = layerOutputs(
      net(model),
      batch,
      net(model).layers.map((_, i) => i),
    );
    assert.deepEqual(
      outs.map((t) => t.shape),
      [
        [3, 8, 8, 3],
        [3, 4, 4, 3],
        [3, 4, 4, 4],
        [3, 2, 2, 4],
        [3, 5],
        [3, 3],
        [3, 3],
      ],
    );
    tf.dispose([...outs, batch]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');

    // wrong image shape: a message naming both shapes; the next call still works
    assert.throws(
      () => featureMaps(net(model), 0, { shape: [28, 28, 1], data: new Float32Array(784) }),
      (e: unknown) => e instanceof UserError && e.code === 'badInput' && e.message.includes('[28, 28, 1]') && e.message.includes('[10, 10, 2]'),
    );
    assert.throws(
      () => featureMaps(net(model), 7, image),
      (e: unknown) => e instanceof UserError && /Layer 7 is out of range/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before, 'tensors leaked after errors');
    assert.deepEqual(featureMaps(net(model), 0, image).maps.data, r0.maps.data);
    model.dispose();
    // a forward pass that throws (here: the model's weights are gone) still releases the input tensor
    const afterDispose = tf.memory().numTensors;
    assert.throws(() => featureMaps(net(model), 0, image));
    assert.equal(tf.memory().numTensors, afterDispose, 'the input leaked when the forward pass threw');
  });
}
