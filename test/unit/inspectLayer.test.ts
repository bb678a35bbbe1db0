// The layer page in one engine request (engine/inspectLayer.ts): every node's weights as the kernel in the model
// file has them, and the layer's feature maps for the test image asked for, as tfjs's own Keras model computes them
// (an independent forward pass, not the engine's graph walk); without a lens file, the weights alone.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { inspectLayer } from '../../src/engine/server/inspectLayer';
import { saveModel, unloadModels } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';
import { writeMnistIdxLens } from './scanFixtures';

test('inspectLayer: weights, the chosen test image and its feature maps in one request', async () => {
  await initBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-layer-'));
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
        biasInitializer: tf.initializers.constant({ value: 0.05 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, kernelInitializer: init(2) }),
    ],
  });
  try {
    const n = 30;
    const { lens, bytes, labels } = writeMnistIdxLens(dir, n);
    const modelFile = path.join(dir, 'model', 'model.json');
    await saveModel(model, modelFile);

    const kernel = model.layers[0].getWeights()[0].dataSync(); // [3, 3, 1, 4]
    const image = 17;
    const x = tf.tensor(
      Float32Array.from(bytes.slice(image * 784, (image + 1) * 784), (v) => v / 255),
      [1, 28, 28, 1],
    );
    const reference = tf.model({ inputs: model.inputs, outputs: model.layers[0].output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
    const maps = reference.dataSync();

    const r = await inspectLayer({ model: modelFile, lens, layer: 0, image });
    assert.equal(r.layer, 0);
    assert.equal(r.weights!.tiles.length, 4, 'every node');
    for (let node = 0; node < 4; node++) {
      const tile = r.weights!.tiles[node][0];
      assert.deepEqual(tile.shape, [3, 3, 1]);
      assert.deepEqual(
        [...tile.data],
        Array.from({ length: 9 }, (_, p) => kernel[p * 4 + node]),
        `node ${node}'s filter`,
      );
    }
    const f = r.featureMaps!;
    assert.deepEqual([f.index, f.images, f.className], [image, n, String(labels[image])]);
    assert.deepEqual([...f.image.data], [...Float32Array.from(bytes.slice(image * 784, (image + 1) * 784), (v) => v / 255)]);
    assert.deepEqual(f.maps.shape, [26, 26, 4]);
    const err = Math.max(...f.maps.data.map((v, i) => Math.abs(v - maps[i])));
    assert.ok(err < 1e-5, `feature maps as tfjs's model computes them (max error ${err})`);
    assert.deepEqual([f.min, f.max], [Math.min(...maps), Math.max(...maps)]);

    // An image past the split shows its last one; without a lens file, the weights alone.
    assert.equal((await inspectLayer({ model: modelFile, lens, layer: 0, image: 500 })).featureMaps!.index, n - 1);
    const bare = await inspectLayer({ model: modelFile, layer: 2 }); // the dense layer (Flatten only moves data: not a layer of its own)
    assert.equal(bare.featureMaps, undefined);
    assert.equal(bare.weights!.tiles.length, 10);
    await assert.rejects(inspectLayer({ model: modelFile, layer: 9 }), /Layer 9 is out of range/);
    for (const bad of [-1, 1.5, NaN])
      await assert.rejects(inspectLayer({ model: modelFile, lens, layer: 0, image: bad }), /image index must be a whole number/);
    tf.dispose([x, reference]);
  } finally {
    model.dispose();
    unloadModels();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
