// "Create Lens File…": the lens file written for a model without one is one the engine reads, over the picked
// image folder, at the model's input size; it is written beside the model and never over an existing file.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { initBackend } from '../../src/engine/runtime/backend';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import { freeLensPath, lensForModel } from '../../src/extension/lensTemplate';

function png(file: string, w: number, h: number): void {
  const p = new PNG({ width: w, height: h });
  p.data.fill(200);
  fs.writeFileSync(file, PNG.sync.write(p));
}

test('the written lens is read by the engine, with the model input size, relative paths and both splits', async () => {
  await initBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-newlens-'));
  try {
    const modelDir = path.join(dir, 'zoo');
    fs.mkdirSync(modelDir);
    const model = path.join(modelDir, 'resnet18.onnx');
    fs.writeFileSync(model, '');
    for (const cls of ['cats', 'dogs']) {
      fs.mkdirSync(path.join(dir, 'photos', cls), { recursive: true });
      for (let i = 0; i < 4; i++) png(path.join(dir, 'photos', cls, `${i}.png`), 40, 30);
    }
    const file = freeLensPath(model);
    assert.equal(file, path.join(modelDir, 'resnet18.lens.json'));
    const json = lensForModel({ name: 'resnet18', inputShape: [64, 64, 3] }, file, model, path.join(dir, 'photos'));
    assert.deepEqual(json, {
      name: 'resnet18',
      model: 'resnet18.onnx',
      dataset: { format: 'imageFolder', root: '../photos', size: [64, 64], channels: 3, testFraction: 0.25, seed: 1 },
    });
    fs.writeFileSync(file, JSON.stringify(json));
    const lens = await readLens(file);
    assert.equal(lens.model, model);
    const test = await openDataset(lens, 'test');
    const train = await openDataset(lens, 'train');
    assert.deepEqual([...test.shape], [64, 64, 3]);
    assert.deepEqual(test.classes, ['cats', 'dogs']);
    assert.equal(test.size + train.size, 8);
    // taken: the next name, never the same file
    assert.equal(freeLensPath(model), path.join(modelDir, 'resnet18-2.lens.json'));
    // a model.json is named after its folder
    assert.equal(freeLensPath(path.join(dir, 'mnist', 'model', 'model.json')), path.join(dir, 'mnist', 'model', 'model.lens.json'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a flat square input is a grey image; inputs that are not images are refused with a reason', () => {
  const flat = lensForModel({ name: 'mlp', inputShape: [784] }, '/w/mlp.lens.json', '/w/model.json', '/w/digits');
  assert.deepEqual((flat.dataset as { size: number[]; channels: number }).size, [28, 28]);
  assert.equal((flat.dataset as { channels: number }).channels, 1);
  assert.throws(() => lensForModel({ name: 'seq', inputShape: [101] }, '/w/a.lens.json', '/w/a.onnx', '/w/d'), /input \[101\] is not an image/);
  assert.throws(() => lensForModel({ name: 'x', inputShape: [8, 8, 4] }, '/w/a.lens.json', '/w/a.onnx', '/w/d'), /4 channels/);
});
