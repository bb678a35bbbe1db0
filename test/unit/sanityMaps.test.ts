// The projections `sanity` returns with `maps` (the node page's "Randomize weights" row, issue 14): step 0 is the
// node page's own projection, bit for bit; a randomized step equals the saliency computed here through tfjs's own
// LayersModel with the same layers re-initialized by the test (their own initializers and the documented seeds);
// and the similarities it prints are those of the maps it returns, recomputed with Spearman and SSIM written out.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import { makeJob } from '../../src/engine/runtime/job';
import { loadModel, saveModel, unloadModels } from '../../src/engine/models/modelIO';
import { inspectNode } from '../../src/engine/server/inspectNode';
import { SANITY_SEED, sanityCheck } from '../../src/engine/server/sanity';
import * as tf from '../../src/engine/runtime/tf';
import { scanLens } from '../../src/engine/scan/topActivations';
import type { SanityResult } from '../../src/shared/protocol';
import { writeMnistIdxLens } from './scanFixtures';
import { net } from './net';
import { projectBatch } from '../../src/engine/methods/projection';
import { pearson, rank, ssimRef } from './similarityRef';

let dir: string;
let lens: string;
const storageDir = () => path.join(dir, 'storage');

/** conv(8)+relu+pool, conv(16)+relu+pool, dense(10); conv biases from a constant initializer (the cascade must use it). */
function mnistNet(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const bias = () => tf.initializers.constant({ value: 0.05 });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        name: 'conv1',
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
        biasInitializer: bias(),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(2), biasInitializer: bias() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'sigmoid', kernelInitializer: init(3) }),
    ],
  });
}

before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-sanity-maps-'));
  lens = writeMnistIdxLens(dir, 200).lens;
  const model = mnistNet();
  await saveModel(model, path.join(dir, 'model', 'model.json'));
  model.dispose();
  await scanLens(lens, storageDir(), 'frobenius', 9, makeJob());
});
after(() => {
  unloadModels();
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (methods: SanityResult['methods'][number]['method'][], step?: number) =>
  sanityCheck({ lens, storageDir: storageDir(), layer: 'conv2', node: 5, k: 4, methods, maps: step === undefined ? {} : { step } }, makeJob());

test('step 0: the trained projections are the node page’s, and nothing is randomized', async () => {
  const page = await inspectNode({ lens, storageDir: storageDir(), layer: 2, node: 5, method: 'guided', k: 4 }, makeJob());
  const r = await run(['guided'], 0);
  const m = r.methods[0].maps!;
  assert.equal(m.step, 0);
  assert.deepEqual(m.cascade, ['conv2', 'conv1']);
  assert.deepEqual(r.methods[0].steps, [], 'no randomized step computed');
  assert.deepEqual(
    r.images,
    page.top!.items.map((it) => it.entry.index),
  );
  const size = m.shape.slice(1).reduce((a, b) => a * b, 1);
  page.top!.items.forEach((it, i) => {
    assert.deepEqual(it.projection!.shape, m.shape.slice(1));
    assert.deepEqual(Array.from(m.trained.subarray(i * size, (i + 1) * size)), Array.from(it.projection!.data), `image ${i}`);
  });
  assert.deepEqual(Array.from(m.randomized), Array.from(m.trained));
  assert.ok(
    m.trained.some((v) => v !== 0),
    'a projection with something in it',
  );
});

/** The node's saliency through the LayersModel with `randomized` layers re-initialized as the cascade documents. */
async function saliencyReference(images: number[], randomized: string[]): Promise<Float32Array> {
  const { network: net, layersModel } = await loadModel(path.join(dir, 'model', 'model.json'));
  const lm = layersModel!;
  const originals = randomized.map((name) =>
    lm
      .getLayer(name)
      .getWeights()
      .map((w) => w.clone()),
  );
  const data = await (await openDataset(await readLens(lens), 'test')).gather(images);
  const x = tf.tensor4d(data.images, [images.length, 28, 28, 1]);
  try {
    for (const name of randomized) {
      const seed = SANITY_SEED + net.ops.findIndex((o) => o.name === name);
      const [k, b] = lm.getLayer(name).getWeights();
      const kernel = tf.initializers.glorotUniform({ seed }).apply(k.shape);
      const bias = tf.fill(b.shape, 0.05);
      lm.getLayer(name).setWeights([kernel, bias]);
      tf.dispose([kernel, bias]);
    }
    const sub = tf.model({ inputs: lm.inputs, outputs: lm.getLayer('conv2').output as tf.SymbolicTensor });
    return tf.tidy(
      () =>
        tf
          .grad((input: tf.Tensor) => tf.sum(tf.slice(sub.apply(input) as tf.Tensor, [0, 0, 0, 5], [-1, -1, -1, 1])))(x)
          .dataSync() as Float32Array,
    );
  } finally {
    randomized.forEach((name, i) => {
      lm.getLayer(name).setWeights(originals[i]);
      tf.dispose(originals[i]);
    });
    x.dispose();
  }
}

for (const step of [1, 2]) {
  test(`step ${step}: the randomized saliency equals a LayersModel reference; the similarities are those of the returned maps`, async () => {
    const { network: net } = await loadModel(path.join(dir, 'model', 'model.json'));
    const snapshot = () => net.ops.map((o) => Object.values(o.weights as Record<string, tf.Tensor>).map((w) => Array.from(w.dataSync())));
    const weightsBefore = snapshot();
    const n0 = tf.memory().numTensors;
    const r = await run(['saliency', 'deconv'], step);
    assert.equal(tf.memory().numTensors, n0, 'no tensors leaked');
    assert.deepEqual(snapshot(), weightsBefore, "the model's weights are untouched");
    for (const m of r.methods) assert.deepEqual(m.steps.length, step, `${m.method}: steps 1..${step} only`);
    const sal = r.methods[0].maps!;
    assert.equal(sal.step, step);
    const ref = await saliencyReference(r.images, ['conv2', 'conv1'].slice(0, step));
    const err = Math.max(...ref.map((v, i) => Math.abs(v - sal.randomized[i])));
    const scale = Math.max(...ref.map(Math.abs));
    assert.ok(scale > 0 && err < 1e-4 * scale, `randomized saliency vs reference: max error ${err} (scale ${scale})`);
    assert.ok(
      sal.randomized.some((v, i) => Math.abs(v - sal.trained[i]) > 1e-3 * scale),
      'randomizing changed the saliency',
    );
    for (const m of r.methods) {
      const mp = m.maps!;
      const size = mp.shape[1] * mp.shape[2];
      const absMap = (d: Float32Array, i: number) => Array.from(d.subarray(i * size, (i + 1) * size), Math.abs);
      const s = m.steps[step - 1];
      assert.deepEqual(s.randomized, ['conv2', 'conv1'].slice(0, step));
      r.images.forEach((_, i) => {
        const [t, z] = [absMap(mp.trained, i), absMap(mp.randomized, i)];
        const sp = pearson(rank(t), rank(z));
        const ss = ssimRef(t, z, 28);
        assert.ok(Math.abs(sp - s.perImage.spearmanAbs[i]!) < 2e-3, `${m.method} image ${i}: Spearman ${s.perImage.spearmanAbs[i]} vs ${sp}`);
        assert.ok(Math.abs(ss - s.perImage.ssim[i]!) < 2e-3, `${m.method} image ${i}: SSIM ${s.perImage.ssim[i]} vs ${ss}`);
      });
    }
  });
}

test('every method: the randomized projections equal those of a model whose layers the test re-initialized itself', async () => {
  const r = await run(['deconv', 'guided', 'saliency', 'gradcam'], 2);
  // A separate Layers model with the same architecture and weights, conv1 and conv2 set by the test.
  const model = mnistNet();
  const { layersModel } = await loadModel(path.join(dir, 'model', 'model.json'));
  model.setWeights(layersModel!.getWeights());
  const { network: loaded } = await loadModel(path.join(dir, 'model', 'model.json'));
  for (const name of ['conv1', 'conv2']) {
    const seed = SANITY_SEED + loaded.ops.findIndex((o) => o.name === name);
    const [k, b] = model.getLayer(name).getWeights();
    const kernel = tf.initializers.glorotUniform({ seed }).apply(k.shape);
    const bias = tf.fill(b.shape, 0.05);
    model.getLayer(name).setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
  }
  const data = await (await openDataset(await readLens(lens), 'test')).gather(r.images);
  const x = tf.tensor4d(data.images, [r.images.length, 28, 28, 1]);
  try {
    for (const m of r.methods) {
      const p = projectBatch(net(model), 2, 5, x, m.method);
      const want = p.dataSync() as Float32Array;
      p.dispose();
      const got = m.maps!.randomized;
      assert.deepEqual(m.maps!.shape, p.shape);
      const scale = Math.max(...want.map(Math.abs));
      const err = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
      assert.ok(scale > 0 && err <= 1e-5 * scale, `${m.method}: max error ${err} (scale ${scale})`);
    }
  } finally {
    x.dispose();
    model.dispose();
  }
});
