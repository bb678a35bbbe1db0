import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { featureMaps } from '../../src/engine/methods/featureMaps';
import { inspectImages, inspectNode } from '../../src/engine/server/inspectNode';
import { makeJob } from '../../src/engine/runtime/job';
import { saveModel, unloadModels } from '../../src/engine/models/modelIO';
import { project } from '../../src/engine/methods/projection';
import * as tf from '../../src/engine/runtime/tf';
import { scanLens } from '../../src/engine/scan/topActivations';
import { relError } from './inspectRef';
import { memoryDataset, mnistDigits, writeMnistIdxLens } from './scanFixtures';

/** conv3×3(8)+relu+pool, conv3×3(16)+relu+pool, flatten, dense(10) on 28×28×1 (the MNIST-shaped SMALL net). */
function mnistNet(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
        biasInitializer: tf.initializers.constant({ value: 0.05 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(2),
        biasInitializer: tf.initializers.constant({ value: 0.05 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'sigmoid', kernelInitializer: init(3) }),
    ],
  });
}

test('inspectImages: the batched maps and projections equal the one-image methods', async () => {
  await initBackend('cpu');
  const model = mnistNet();
  const { images, labels } = mnistDigits(40);
  const ds = memoryDataset(images, labels, [28, 28, 1], [...'0123456789']);
  const entries = [7, 3, 22, 15].map((index, i) => ({ index, score: 10 - i, label: labels[index] }));
  for (const [layer, node, method] of [
    [2, 5, 'deconv'],
    [3, 9, 'deconvNoSwitches'],
    [4, 4, 'guided'],
    [0, 1, 'gradcam'],
  ] as const) {
    const before = tf.memory().numTensors;
    const r = await inspectImages(net(model), ds, layer, node, entries, method);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.equal(r.projectionError, undefined);
    assert.equal(r.items.length, 4);
    for (const [i, item] of r.items.entries()) {
      const index = entries[i].index;
      assert.equal(item.className, String(labels[index]));
      assert.deepEqual(item.image.data, images.slice(index * 784, (index + 1) * 784));
      const fm = featureMaps(net(model), layer, item.image);
      const n = fm.maps.shape[fm.maps.shape.length - 1];
      assert.deepEqual(item.featureMap.shape, layer === 4 ? [1] : fm.maps.shape.slice(0, 2));
      assert.deepEqual(
        Array.from(item.featureMap.data),
        Array.from(fm.maps.data).filter((_, p) => p % n === node),
      );
      const single = project(net(model), layer, node, item.image, method);
      assert.deepEqual(item.projection!.shape, single.projection.shape);
      assert.ok(relError(item.projection!.data, single.projection.data) < 1e-5, `${method} image ${i}`);
      assert.ok(
        single.projection.data.some((v) => v !== 0),
        `${method} layer ${layer} node ${node}: projection all zero, test would be empty`,
      );
    }
  }
  model.dispose();
});

test('inspectImages: an unsupported projection is reported and the rest returned', async () => {
  await initBackend('cpu');
  const input = tf.input({ shape: [28, 28, 1] });
  const a = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  // a gate (a product of two computed values) has no deconvolution rule
  const g = tf.layers.activation({ activation: 'sigmoid', name: 'g' }).apply(b) as tf.SymbolicTensor;
  const gated = tf.layers.multiply({ name: 'gated' }).apply([a, g]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: gated });
  const { images, labels } = mnistDigits(10);
  const ds = memoryDataset(images, labels, [28, 28, 1], [...'0123456789']);
  const before = tf.memory().numTensors;
  const r = await inspectImages(net(model), ds, 3, 1, [{ index: 2, score: 1, label: 2 }], 'deconv');
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  assert.match(r.projectionError!, /Deconvolution cannot pass through Multiply gated: it multiplies two computed values/);
  assert.equal(r.items.length, 1);
  assert.equal(r.items[0].projection, undefined);
  assert.deepEqual(r.items[0].featureMap.shape, [28, 28]);
  const s = await inspectImages(net(model), ds, 3, 1, [{ index: 2, score: 1, label: 2 }], 'saliency');
  assert.equal(s.projectionError, undefined, 'gradient methods pass gates');
  model.dispose();
});

for (const backend of ['wasm', 'cpu'] as const) {
  test(`inspectNode on a lens with a real MNIST subset and a scanned index (${backend})`, async () => {
    await initBackend(backend);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-inspect-'));
    try {
      const { lens: lensFile, labels } = writeMnistIdxLens(dir, 200);
      const model = mnistNet();
      await saveModel(model, path.join(dir, 'model', 'model.json'));
      model.dispose();
      const storage = path.join(dir, 'storage');

      const noIndex = await inspectNode({ lens: lensFile, storageDir: storage, layer: 0, node: 3 }, makeJob());
      assert.equal(noIndex.top, undefined, 'no index yet: no top list');
      assert.deepEqual(noIndex.weights!.tiles[0][0].shape, [3, 3, 1]);
      await scanLens(lensFile, storage, 'frobenius', 9, makeJob());

      const before = tf.memory().numTensors;
      const r = await inspectNode({ lens: lensFile, storageDir: storage, layer: 2, node: 7, method: 'deconv' }, makeJob());
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      assert.equal(r.method, 'deconv');
      assert.equal(r.top!.items.length, 9);
      assert.equal(r.weights!.tiles[0].length, 8, 'a conv layer reading 8 channels: 8 tiles');
      const scores = r.top!.items.map((it) => it.entry.score);
      assert.deepEqual(
        scores,
        [...scores].sort((a, b) => b - a),
      );
      for (const it of r.top!.items) {
        // the index's score is the Frobenius norm of the node's map: recompute it from the returned map
        const norm = Math.sqrt(it.featureMap.data.reduce((a, v) => a + v * v, 0));
        assert.ok(Math.abs(norm - it.entry.score) < 1e-3 * Math.max(1, norm), `score ${it.entry.score} vs map norm ${norm}`);
        assert.deepEqual(it.featureMap.shape, [11, 11]);
        assert.deepEqual(it.projection!.shape, [28, 28, 1]);
        assert.equal(it.className, String(labels[it.entry.index]));
      }
      const pool = await inspectNode({ lens: lensFile, storageDir: storage, layer: 3, node: 0, method: 'guided', k: 4 }, makeJob());
      assert.equal(pool.weights, undefined, 'a pooling layer has no weights');
      assert.equal(pool.top!.items.length, 4);
      await assert.rejects(inspectNode({ lens: lensFile, storageDir: storage, layer: 2, node: 16 }, makeJob()), /Node 16 is out of range/);
    } finally {
      unloadModels();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
