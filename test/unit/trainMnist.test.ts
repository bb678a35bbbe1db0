// The seed's MNIST experiment on real digits, on the wasm backend: the sample lens (two conv + ReLU + max-pool
// layers and a dense softmax output) trained on 8,000 digits must reach at least 97.2% test accuracy on 2,000
// held-out digits (the seed: 2.79% error). Prepares the sample data itself. Prints accuracy, time, images/s.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { makeJob } from '../../src/engine/runtime/job';
import * as tf from '../../src/engine/runtime/tf';
import { trainLens } from '../../src/engine/training/train';

const root = path.resolve(__dirname, '../..');
let dir: string;
before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-mnist-'));
  execFileSync(process.execPath, [path.join(root, 'scripts/prepare-samples.mjs'), 'mnist'], { stdio: 'pipe' });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

it('trains the MNIST sample to >= 97.2% test accuracy on wasm', { timeout: 15 * 60_000 }, async () => {
  const sample = path.join(root, 'samples/mnist/mnist.lens.json');
  const lens = JSON.parse(fs.readFileSync(sample, 'utf8'));
  // Same recipe and data; the model is written to a temp folder, not into samples/.
  for (const split of ['train', 'test'])
    for (const k of ['images', 'labels']) lens.dataset[split][k] = path.join(root, 'samples/mnist', lens.dataset[split][k]);
  const file = path.join(dir, 'mnist.lens.json');
  fs.writeFileSync(file, JSON.stringify(lens));
  const n0 = tf.memory().numTensors;
  const r = await trainLens(file, makeJob());
  console.log(
    `MNIST (${r.backend}): test accuracy ${(r.testAccuracy * 100).toFixed(2)}% (error ${(r.testError * 100).toFixed(2)}%; the seed: 2.79%), ` +
      `train accuracy ${(r.trainAccuracy * 100).toFixed(2)}%, ${r.epochs} epochs on ${r.trainImages} digits in ${r.seconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} images/s`,
  );
  console.log(`history: ${r.history.map((h) => `${h.epoch}: loss ${h.loss.toFixed(3)} test ${((h.testAccuracy ?? 0) * 100).toFixed(2)}%`).join(', ')}`);
  assert.equal(r.backend, 'wasm');
  assert.equal(tf.memory().numTensors, n0);
  assert.equal(r.testImages, 2000);
  assert.equal(
    r.confusion.flat().reduce((a, b) => a + b, 0),
    2000,
  );
  assert.ok(r.testAccuracy >= 0.972, `test accuracy ${r.testAccuracy}`);
});
