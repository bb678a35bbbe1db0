import assert from 'node:assert/strict';
import { test } from 'node:test';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { gradcamOp } from '../../src/engine/methods/gradcam';
import { project } from '../../src/engine/methods/projection';
import * as tf from '../../src/engine/runtime/tf';
import { hasTorch, relError, seededImage, smallCnn, torchReference, type RefCase } from './inspectRef';

const CASES: (RefCase & { conv?: number })[] = [];
for (const [layer, node] of [
  [3, 1],
  [5, 2],
  [2, 0],
  [6, 0],
  [0, 2],
] as const) {
  for (const maxOnly of [false, true]) {
    for (const method of ['deconv', 'deconvNoSwitches', 'guided', 'saliency'] as const) {
      CASES.push({ name: `${method} l${layer} n${node}${maxOnly ? ' max' : ''}`, method, layer, node, maxOnly });
    }
    if (layer >= 2)
      CASES.push({ name: `gradcam l${layer} n${node}${maxOnly ? ' max' : ''}`, method: 'gradcam', layer, node, maxOnly, conv: layer === 2 ? 0 : 2 });
  }
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(
    `projections match an independent PyTorch implementation (${backend})`,
    { skip: !hasTorch && 'PyTorch (/usr/bin/python3 with torch) is not installed' },
    async () => {
      await initBackend(backend);
      const model = smallCnn();
      const image = seededImage([10, 10, 2]);
      const ref = torchReference(model, image, CASES);
      const before = tf.memory().numTensors;
      let nonzero = 0;
      for (const c of CASES) {
        // the cases use Keras layer indices (the reference's); the network lists no Flatten
        const r = project(net(model), netLayer(model, c.layer), c.node, image, c.method, c.maxOnly);
        assert.deepEqual(r.projection.shape, c.method === 'gradcam' ? [10, 10, 1] : [10, 10, 2], c.name);
        const want = ref[c.name];
        assert.equal(r.projection.data.length, want.length, c.name);
        assert.ok(relError(r.projection.data, want) < 1e-5, `${c.name}: relative error ${relError(r.projection.data, want)}`);
        if (want.some((v) => v !== 0)) nonzero++;
      }
      // the comparison means something only if most references are not all zero
      assert.ok(nonzero >= CASES.length - 4, `only ${nonzero} of ${CASES.length} references are non-zero`);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      model.dispose();
    },
  );
}

/** The network layer of Keras layer `k` (by name). */
function netLayer(model: tf.LayersModel, k: number): number {
  const i = net(model).layers.findIndex((l) => l.name === model.layers[k].name);
  assert.ok(i >= 0, `layer ${model.layers[k].name} is not listed`);
  return i;
}

test('Grad-CAM picks the last conv layer before the node (the previous one for a conv layer)', async () => {
  await initBackend('cpu');
  const model = smallCnn();
  // one op per Keras layer here, so op indices are Keras layer indices
  assert.equal(gradcamOp(net(model), netLayer(model, 6)), 2);
  assert.equal(gradcamOp(net(model), netLayer(model, 3)), 2);
  assert.equal(gradcamOp(net(model), netLayer(model, 2)), 0);
  assert.equal(gradcamOp(net(model), netLayer(model, 0)), 0);
  model.dispose();
});

/** A smooth net (tanh, average pooling, sigmoid), so central differences are accurate in float32. */
function smoothNet(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'tanh', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'sigmoid', kernelInitializer: tf.initializers.randomNormal({ seed: 4, stddev: 0.3 }) }),
    ],
  });
  return model;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`saliency equals central finite differences of the node's activation (${backend})`, async () => {
    await initBackend(backend);
    const model = smoothNet();
    const image = seededImage([6, 6, 2], 11);
    for (const [layer, node] of [
      [0, 1],
      [3, 2],
    ] as const) {
      const before = tf.memory().numTensors;
      const r = project(net(model), netLayer(model, layer), node, image, 'saliency');
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      // f(x) = node's summed activation, computed with model.predict-free ops as an independent forward
      const f = (data: Float32Array) =>
        tf.tidy(() => {
          const sub = tf.model({ inputs: model.inputs, outputs: model.layers[layer].output as tf.SymbolicTensor });
          const out = sub.predict(tf.tensor(data, [1, 6, 6, 2])) as tf.Tensor;
          return tf.sum(tf.gather(out, [node], out.rank - 1)).dataSync()[0];
        });
      const h = 2e-2;
      const fd = new Float32Array(image.data.length);
      for (let i = 0; i < image.data.length; i++) {
        const up = Float32Array.from(image.data);
        const down = Float32Array.from(image.data);
        up[i] += h;
        down[i] -= h;
        fd[i] = (f(up) - f(down)) / (2 * h);
      }
      const err = relError(r.projection.data, fd);
      // float32 forward: rounding ~1e-7·|f| / h plus the O(h²) truncation; 1e-3 relative is well above both
      // and far below what a wrong gradient gives (a sign or a missing term is an O(1) error)
      assert.ok(err < 1e-3, `layer ${layer} node ${node}: relative error ${err}`);
      assert.ok(
        fd.some((v) => Math.abs(v) > 1e-3),
        'finite differences are all zero: the check would be empty',
      );
    }
    model.dispose();
  });
}
