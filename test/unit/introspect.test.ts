import assert from 'node:assert/strict';
import { test } from 'node:test';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { featureMaps } from '../../src/engine/methods/featureMaps';
import { describeLayers } from '../../src/engine/models/describeLayers';
import { project } from '../../src/engine/methods/projection';
import * as tf from '../../src/engine/runtime/tf';
import { relError, seededImage } from './inspectRef';

/** input → conv a, conv b → Add → Concatenate with a depthwise branch → BN → ReLU → avg-pool → flatten → dropout → dense. */
function branchy(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  const init = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.5 });
  const a = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'a', kernelInitializer: init(1) })
    .apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'b', kernelInitializer: init(2) }).apply(input) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([a, b]) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw', depthwiseInitializer: init(3) }).apply(input) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([sum, dw]) as tf.SymbolicTensor;
  const bn = tf.layers
    .batchNormalization({
      name: 'bn',
      movingMeanInitializer: tf.initializers.constant({ value: 0.1 }),
      movingVarianceInitializer: tf.initializers.constant({ value: 2 }),
    })
    .apply(cat) as tf.SymbolicTensor;
  const act = tf.layers.activation({ activation: 'relu', name: 'act' }).apply(bn) as tf.SymbolicTensor;
  const pool = tf.layers.averagePooling2d({ poolSize: 2, name: 'pool' }).apply(act) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flat' }).apply(pool) as tf.SymbolicTensor;
  const drop = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(flat) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'out', kernelInitializer: init(4) }).apply(drop) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

test('describeLayers: functional model with merges', async () => {
  await initBackend('cpu');
  const model = branchy();
  const info = describeLayers(net(model));
  const by = Object.fromEntries(info.map((l) => [l.name, l]));
  assert.deepEqual(
    info.map((l) => l.index),
    info.map((_, i) => i),
  );
  // the input and the ops that only move data (Flatten, Dropout) are not inspectable layers
  assert.deepEqual(
    info.map((l) => l.name),
    ['a', 'b', 'sum', 'dw', 'cat', 'bn', 'act', 'pool', 'out'],
  );
  assert.deepEqual(by.sum.inbound, ['a', 'b']);
  assert.deepEqual(by.cat.inbound, ['sum', 'dw']);
  assert.deepEqual(by.a.inbound, ['image']);
  assert.deepEqual(by.cat.outputShape, [8, 8, 7]);
  assert.equal(by.cat.nodes, 7);
  assert.equal(by.cat.kind, 'merge');
  assert.deepEqual(by.pool.outputShape, [4, 4, 7]);
  assert.equal(by.out.nodes, 5);
  assert.equal(by.out.activation, 'softmax');
  assert.equal(by.act.activation, 'relu');
  assert.equal(by.a.params, 3 * 3 * 3 * 4 + 4);
  assert.deepEqual(
    info.filter((l) => l.hasWeights).map((l) => l.name),
    ['a', 'b', 'dw', 'out'],
    'BatchNormalization has no weight images',
  );
  assert.equal(by.dw.kind, 'depthwiseConv');

  const seq = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, name: 'c' }),
      tf.layers.flatten({ name: 'f' }),
      tf.layers.dense({ units: 3, name: 'd' }),
    ],
  });
  const sinfo = describeLayers(net(seq));
  assert.deepEqual(
    sinfo.map((l) => l.name),
    ['c', 'd'],
    'no input layer, no Flatten',
  );
  assert.deepEqual(
    sinfo.map((l) => l.inbound),
    [[seq.inputs[0].sourceLayer.name], ['f']],
  );
  assert.deepEqual(
    sinfo.map((l) => l.nodes),
    [2, 3],
  );
  model.dispose();
  seq.dispose();
});

for (const backend of ['cpu', 'wasm'] as const)
  test(`functional model: feature maps at merges, gradients and deconvolution through Add/Concatenate/BN/depthwise (${backend})`, async () => {
    await initBackend(backend);
    const model = branchy();
    const image = seededImage([8, 8, 3], 9);
    const idx = (name: string) => net(model).layers.findIndex((l) => l.name === name);
    const before = tf.memory().numTensors;
    const a = featureMaps(net(model), idx('a'), image).maps.data;
    const b = featureMaps(net(model), idx('b'), image).maps.data;
    const sum = featureMaps(net(model), idx('sum'), image);
    assert.ok(
      relError(
        sum.maps.data,
        a.map((v, i) => v + b[i]),
      ) < 1e-6,
    );

    // reference gradient: tf.grad through the layers' own apply (fused ops)
    for (const [name, node] of [
      ['cat', 5],
      ['out', 2],
      ['pool', 1],
    ] as const) {
      const want = tf.tidy(() => {
        const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(name).output as tf.SymbolicTensor });
        const g = tf.grad((x: tf.Tensor) => {
          const y = sub.apply(x, { training: false }) as tf.Tensor;
          return tf.sum(tf.mul(y, tf.oneHot(node, y.shape[y.rank - 1])));
        })(tf.tensor(image.data, [1, 8, 8, 3]));
        return Array.from(g.dataSync());
      });
      const got = project(net(model), idx(name), node, image, 'saliency');
      assert.ok(relError(got.projection.data, want) < 1e-5, `${name}: ${relError(got.projection.data, want)}`);
      assert.ok(want.some((v) => v !== 0));
      for (const method of ['guided', 'gradcam'] as const) {
        const r = project(net(model), idx(name), node, image, method);
        assert.ok(r.projection.data.every(Number.isFinite));
      }
    }
    // through the merges: the signal reaches the input through all three branches
    for (const method of ['deconv', 'deconvNoSwitches'] as const) {
      const r = project(net(model), idx('out'), 0, image, method);
      assert.ok(
        r.projection.data.some((v) => v !== 0),
        `${method} through Add and Concatenate is blank`,
      );
    }
    // a branch without merges deconvolves
    assert.equal(project(net(model), idx('a'), 1, image, 'deconv').projection.shape.join(), '8,8,3');
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    model.dispose();
  });
