// Layer activation by class: the class × layer norm table against a plain-JS computation from every layer's
// full activations on real MNIST digits, and dead / selective nodes on a constructed model whose answers
// are known by hand; the stored index gives the same table as an in-memory pass.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layersReference, net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { makeJob } from '../../src/engine/runtime/job';
import { layerByClass, layerByClassOfDataset } from '../../src/engine/scan/layerByClass';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import { loadModel, saveModel } from '../../src/engine/models/modelIO';
import { scanLens } from '../../src/engine/scan/topActivations';
import { scanLayers } from '../../src/engine/scan/scan';
import * as tf from '../../src/engine/runtime/tf';
import { DIGIT_CLASSES, memoryDataset, mnistDigits, smallCnn, weightsHashOf, writeMnistLens } from './scanFixtures';

describe('layer activation by class', () => {
  let dir: string;
  before(async () => {
    await initBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-lbc-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("norms[class][layer] match a plain-JS mean of each layer's Frobenius norm per class (MNIST, SMALL model)", async () => {
    const model = smallCnn(11);
    const count = 157; // not a multiple of the batch size
    const d = mnistDigits(count, 40);
    const ds = memoryDataset(d.images, d.labels, [28, 28, 1], DIGIT_CLASSES);
    const before = tf.memory().numTensors;
    const r = await layerByClassOfDataset(net(model), ds, makeJob(), { batchSize: 40 });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');

    const layers = scanLayers(net(model));
    assert.deepEqual(
      r.layers,
      layers.map((l) => l.index),
    );
    assert.deepEqual(
      r.layerNames,
      layers.map((l) => l.name),
    );
    const acts = tf.tidy(() =>
      (
        layersReference(
          model,
          layers.map((l) => l.name),
        ).predict(tf.tensor4d(d.images, [count, 28, 28, 1])) as tf.Tensor[]
      ).map((t) => t.dataSync() as Float32Array),
    );
    layers.forEach((l, li) => {
      const per = acts[li].length / count;
      const sums = new Float64Array(10);
      const counts = new Float64Array(10);
      const deadCount = new Float64Array(l.nodes);
      for (let j = 0; j < count; j++) {
        let sq = 0;
        const fires = new Uint8Array(l.nodes);
        for (let e = 0; e < per; e++) {
          const v = acts[li][j * per + e];
          sq += v * v;
          if (v !== 0) fires[e % l.nodes] = 1;
        }
        sums[d.labels[j]] += Math.sqrt(sq);
        counts[d.labels[j]]++;
        for (let i = 0; i < l.nodes; i++) if (!fires[i]) deadCount[i]++;
      }
      for (let c = 0; c < 10; c++) {
        const want = sums[c] / counts[c];
        assert.ok(Math.abs(r.norms[c][li] - want) <= 1e-4 * want, `class ${c} layer ${l.name}: ${r.norms[c][li]} vs ${want}`);
      }
      for (let i = 0; i < l.nodes; i++) assert.equal(r.deadFraction[li][i], deadCount[i] / count, `${l.name}[${i}] dead fraction`);
    });
    // The table is not trivial: layers differ and some class differs from another.
    assert.ok(r.norms[0][0] > 0 && r.norms[1][0] !== r.norms[0][0]);

    // The same table from a stored index (written by the scan it triggers), then from the index alone.
    const hash = weightsHashOf(model);
    const stored = await layerByClassOfDataset(net(model), ds, makeJob(), { storageDir: dir, weightsHash: hash, batchSize: 64 });
    const again = await layerByClassOfDataset(net(model), ds, makeJob(), { storageDir: dir, weightsHash: hash });
    assert.deepEqual(again, stored);
    stored.norms.forEach((row, c) => row.forEach((v, l) => assert.ok(Math.abs(v - r.norms[c][l]) <= 1e-5 * v)));
  });

  it('finds dead and class-selective nodes on a constructed model', async () => {
    // 1×1 conv, no bias, ReLU, on 2×2×2 images: node 0 copies channel 0, node 1 channel 1, node 2 is -(ch0 + ch1)
    // and never fires on non-negative images.
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [2, 2, 2], filters: 3, kernelSize: 1, useBias: false, activation: 'relu', name: 'mix' }),
        tf.layers.flatten({ name: 'flatten' }),
        // Flatten only moves data (not a layer of the network): an identity dense layer shows its 12 values
        tf.layers.dense({ units: 12, useBias: false, kernelInitializer: tf.initializers.identity({}), name: 'flat' }),
      ],
    });
    model.layers[0].setWeights([tf.tensor4d([1, 0, -1, 0, 1, -1], [1, 1, 2, 3])]);
    // Class 0: channel 0 only, except image 3 which also has channel 1. Class 1: channel 1 only. Class 2: black.
    const img = (c0: number[], c1: number[]) => c0.flatMap((v, p) => [v, c1[p]]);
    const z = [0, 0, 0, 0];
    const images = [
      img([0.1, 0.2, 0.3, 0.4], z),
      img([0.5, 0, 0, 0.5], z),
      img([1, 1, 1, 1], z),
      img([0.2, 0.2, 0, 0], [0.3, 0, 0.4, 0]),
      img(z, [0.6, 0.8, 0, 0]),
      img(z, [0, 0, 0.1, 0]),
      img(z, [1, 0, 0, 1]),
      img(z, z),
      img(z, z),
    ];
    const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2]);
    const ds = memoryDataset(Float32Array.from(images.flat()), labels, [2, 2, 2], ['zero', 'one', 'blank']);
    const r = await layerByClassOfDataset(net(model), ds, makeJob(), { batchSize: 4 });
    const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    // Node 0 fires on images 0–3 only; node 1 on images 3–6; node 2 never.
    assert.deepEqual(r.deadFraction[0], [5 / 9, 5 / 9, 1]);
    assert.deepEqual(r.topClass[0], [0, 1, -1]);
    assert.equal(r.selectivity[0][0], 1);
    const s0 = norm([0.3, 0, 0.4, 0]);
    const s1 = norm([0.6, 0.8, 0, 0]) + norm([0, 0, 0.1, 0]) + norm([1, 0, 0, 1]);
    assert.ok(Math.abs(r.selectivity[0][1] - s1 / (s0 + s1)) < 1e-6, `${r.selectivity[0][1]} vs ${s1 / (s0 + s1)}`);
    assert.equal(r.selectivity[0][2], 0);
    // The flattened values: 12 nodes, (position p, node n) at p * 3 + n; the ones of node 2 are dead everywhere.
    for (let p = 0; p < 4; p++) assert.equal(r.deadFraction[1][p * 3 + 2], 1);
    // Class 2 is black: every layer's norm is 0 there; class 0's conv-layer norm is the mean of its images' norms.
    assert.deepEqual(r.norms[2], [0, 0]);
    const class0 = [norm([0.1, 0.2, 0.3, 0.4]), norm([0.5, 0, 0, 0.5]), norm([1, 1, 1, 1]), norm([0.2, 0.2, 0, 0, 0.3, 0, 0.4, 0])];
    const want = class0.reduce((a, b) => a + b) / 4;
    assert.ok(Math.abs(r.norms[0][0] - want) < 1e-6 && Math.abs(r.norms[0][1] - want) < 1e-6);
  });

  it('indexOnly reads a stored index and, without one, answers null without scanning', async () => {
    const sub = path.join(dir, 'index-only');
    const lens = writeMnistLens(sub, 60);
    const model = smallCnn(5);
    await saveModel(model, path.join(sub, 'model', 'model.json'));
    model.dispose();
    const storage = path.join(sub, 'storage');
    let progress = 0;
    await loadModel(path.join(sub, 'model', 'model.json')); // the model cache holds its weights
    const before = tf.memory().numTensors;
    assert.equal(
      await layerByClass(
        lens,
        makeJob(() => progress++),
        storage,
        { indexOnly: true },
      ),
      null,
    );
    assert.equal(
      await layerByClass(
        lens,
        makeJob(() => progress++),
        undefined,
        { indexOnly: true },
      ),
      null,
    );
    assert.equal(progress, 0, 'no scan reported progress');
    assert.ok(!fs.existsSync(storage), 'nothing was written');
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');

    await scanLens(lens, storage, 'frobenius', 9, makeJob(), { workers: 1 });
    const fromIndex = await layerByClass(lens, makeJob(), storage, { indexOnly: true });
    const { network: loaded } = await loadModel(path.join(sub, 'model', 'model.json'));
    const inMemory = await layerByClassOfDataset(loaded, await openDataset(await readLens(lens), 'test'), makeJob());
    assert.ok(fromIndex);
    assert.deepEqual(fromIndex.layers, inMemory.layers);
    assert.deepEqual(fromIndex.deadFraction, inMemory.deadFraction);
    fromIndex.norms.forEach((row, c) => row.forEach((v, l) => assert.ok(Math.abs(v - inMemory.norms[c][l]) <= 1e-5 * Math.max(v, 1e-6), `norm ${c},${l}`)));
  });
});
