// The seed's RGB experiment, small: real photos (Debian's tuxpaint-stamps-default, prepared by the sample script
// with apt-get download) in class folders, three conv + ReLU + max-pool layers and a dense output, trained with
// random flips and rotations on wasm. It must beat chance clearly. Prints accuracy and time.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { makeJob } from '../../src/engine/runtime/job';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import * as tf from '../../src/engine/runtime/tf';
import { trainLens } from '../../src/engine/training/train';

const root = path.resolve(__dirname, '../..');
const photos = path.join(root, 'samples/rgb/photos');
let dir: string;
let prepared = '';
before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-rgb-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts/prepare-samples.mjs'), 'rgb'], { stdio: 'pipe' });
  } catch (e) {
    prepared = String((e as { stderr?: Buffer }).stderr ?? e).trim();
  }
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

it('trains the RGB photo sample with flips and rotations and beats chance', { timeout: 15 * 60_000 }, async (t) => {
  if (prepared && !fs.existsSync(photos)) {
    t.skip(`no photos: ${prepared}`);
    return;
  }
  const lens = JSON.parse(fs.readFileSync(path.join(root, 'samples/rgb/rgb.lens.json'), 'utf8'));
  lens.dataset.root = photos;
  const file = path.join(dir, 'rgb.lens.json');
  fs.writeFileSync(file, JSON.stringify(lens));
  const test = await openDataset(await readLens(file), 'test');
  assert.deepEqual(test.shape, [64, 64, 3]);
  const n0 = tf.memory().numTensors;
  const r = await trainLens(file, makeJob());
  const chance = 1 / r.classes.length;
  const majority = Math.max(...r.confusion.map((row) => row.reduce((a, b) => a + b, 0))) / r.testImages;
  console.log(
    `RGB (${r.classes.join(', ')}; ${r.trainImages} train / ${r.testImages} test photos, flips + rotations): test accuracy ${(r.testAccuracy * 100).toFixed(1)}% ` +
      `(error ${(r.testError * 100).toFixed(1)}%; chance ${(chance * 100).toFixed(0)}%, majority class ${(majority * 100).toFixed(0)}%), train accuracy ${(r.trainAccuracy * 100).toFixed(1)}%, ${r.seconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} images/s`,
  );
  console.log(`confusion (rows actual, columns predicted): ${JSON.stringify(r.confusion)}`);
  assert.equal(tf.memory().numTensors, n0);
  assert.ok(r.testAccuracy > Math.max(majority, chance) + 0.15, `test accuracy ${r.testAccuracy} vs majority ${majority}`);
});
