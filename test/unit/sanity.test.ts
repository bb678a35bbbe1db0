// `feature-lens sanity` (issue 14): cascading randomization of Adebayo et al. (2018) on a short MNIST training.
// The printed similarities are checked against a reference computed here: the saliency of the node through tfjs's
// own LayersModel, with the model's weights randomized by the test itself (the layers' Glorot-uniform initializer
// and the documented seeds), and Spearman and SSIM written out plainly. The model's weights stay untouched.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { cliJson } from './cliJson';
import { makeJob } from '../../src/engine/runtime/job';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import type { SanityResult } from '../../src/shared/protocol';
import { SANITY_SEED } from '../../src/engine/server/sanity';
import { loadModel, unloadModels } from '../../src/engine/models/modelIO';
import { nodeTop } from '../../src/engine/cli/figures';
import * as tf from '../../src/engine/runtime/tf';
import { trainLens } from '../../src/engine/training/train';
import { pearson, rank, ssimRef } from './similarityRef';

const root = path.resolve(__dirname, '../..');
let dir: string;
before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-sanity-'));
});
after(() => {
  unloadModels();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('sanity on MNIST: similarities per method and randomized layer, equal to a reference computation', { timeout: 10 * 60_000 }, async () => {
  const lensJson = JSON.parse(fs.readFileSync(path.join(root, 'samples/mnist/mnist.lens.json'), 'utf8'));
  for (const split of ['train', 'test'])
    for (const k of ['images', 'labels']) lensJson.dataset[split][k] = path.join(root, 'samples/mnist', lensJson.dataset[split][k]);
  lensJson.training.epochs = 2;
  const lens = path.join(dir, 'mnist.lens.json');
  fs.writeFileSync(lens, JSON.stringify(lensJson));
  const trained = await trainLens(lens, makeJob());
  const storage = path.join(dir, 'index');
  const { network: net, layersModel } = await loadModel(trained.model);
  // a live node of conv2 (a dead one has all-zero projections)
  let node = 0;
  while ((await nodeTop({ lens, layer: 'conv2', node, storageDir: storage, k: 4 }, makeJob())).top[0].score <= 0) node++;
  const snapshot = () => net.ops.map((o) => Object.values(o.weights as Record<string, tf.Tensor>).map((w) => Array.from(w.dataSync())));
  const weightsBefore = snapshot();
  const n0 = tf.memory().numTensors;

  const r: SanityResult = await cliJson(['sanity', lens, '--layer', 'conv2', '--node', String(node), '--k', '4', '--storage', storage]);
  assert.equal(tf.memory().numTensors, n0, 'no tensors leaked');
  assert.deepEqual(snapshot(), weightsBefore, "the model's weights are untouched");
  assert.deepEqual(
    r.methods.map((m) => m.method),
    ['deconv', 'guided', 'saliency', 'gradcam'],
  );
  for (const m of r.methods)
    assert.deepEqual(
      m.steps.map((s) => s.randomized),
      [['conv2'], ['conv2', 'conv1']],
    );
  console.log(
    `sanity, MNIST (2 epochs, test error ${(trained.testError * 100).toFixed(2)}%) conv2 node ${node}, top ${r.images.length} images; Spearman of |map|, SSIM to the trained projection:`,
  );
  for (const m of r.methods)
    console.log(
      `  ${m.method.padEnd(9)} ${m.steps.map((s) => `down to ${s.randomized.at(-1)}: ${s.spearmanAbs?.toFixed(3)} / ${s.ssim?.toFixed(3)}`).join('   ')}`,
    );

  // The reference: saliency with conv2 and conv1 randomized, through the LayersModel (the node's summed map).
  const ds = await openDataset(await readLens(lens), 'test');
  const images = await ds.gather(r.images);
  const x = tf.tensor4d(images.images, [r.images.length, 28, 28, 1]);
  const sub = tf.model({ inputs: layersModel!.inputs, outputs: layersModel!.getLayer('conv2').output as tf.SymbolicTensor });
  const saliencyRef = () =>
    tf.tidy(() => {
      const g = tf.grad((input: tf.Tensor) => tf.sum(tf.slice(sub.apply(input) as tf.Tensor, [0, 0, 0, node], [-1, -1, -1, 1])))(x);
      const d = tf.abs(g).dataSync() as Float32Array;
      return r.images.map((_, i) => Array.from(d.slice(i * 784, (i + 1) * 784)));
    });
  const trainedMaps = saliencyRef();
  const originals = ['conv2', 'conv1'].map((name) =>
    layersModel!
      .getLayer(name)
      .getWeights()
      .map((w) => w.clone()),
  );
  try {
    for (const name of ['conv2', 'conv1']) {
      const layer = layersModel!.getLayer(name);
      const seed = SANITY_SEED + net.ops.findIndex((o) => o.name === name);
      const [k, b] = layer.getWeights();
      const kernel = tf.initializers.glorotUniform({ seed }).apply(k.shape);
      const bias = tf.zeros(b.shape);
      layer.setWeights([kernel, bias]);
      tf.dispose([kernel, bias]);
    }
    const randomMaps = saliencyRef();
    const sp = trainedMaps.map((t, i) => pearson(rank(t), rank(randomMaps[i])));
    const ss = trainedMaps.map((t, i) => ssimRef(t, randomMaps[i], 28));
    const step = r.methods.find((m) => m.method === 'saliency')!.steps[1];
    console.log(
      `reference saliency, conv2+conv1 randomized: Spearman ${sp.map((v) => v.toFixed(4))} SSIM ${ss.map((v) => v.toFixed(4))}; printed ${step.perImage.spearmanAbs.map((v) => v?.toFixed(4))} / ${step.perImage.ssim.map((v) => v?.toFixed(4))}`,
    );
    sp.forEach((v, i) =>
      assert.ok(Math.abs(v - step.perImage.spearmanAbs[i]!) < 2e-3, `image ${i}: Spearman ${step.perImage.spearmanAbs[i]} vs reference ${v}`),
    );
    ss.forEach((v, i) => assert.ok(Math.abs(v - step.perImage.ssim[i]!) < 2e-3, `image ${i}: SSIM ${step.perImage.ssim[i]} vs reference ${v}`));
    const mean = sp.reduce((a, b) => a + b, 0) / sp.length;
    assert.ok(Math.abs(mean - step.spearmanAbs!) < 2e-3);
  } finally {
    ['conv2', 'conv1'].forEach((name, i) => {
      layersModel!.getLayer(name).setWeights(originals[i]);
      tf.dispose(originals[i]);
    });
    x.dispose();
  }
  assert.deepEqual(snapshot(), weightsBefore);
});
