// Checkpoints and the time-lapse of a node (issue 14): the MNIST recipe with `"checkpoints": {"every": 1}` keeps
// the weights of each epoch beside the model, listed in the training results; the first epoch's conv1 filters
// differ from the last; `feature-lens timelapse` writes per-epoch figures and a JSON whose overlaps are those of
// the top lists it reports, and a lens's own checkpoint pattern gives the same series.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { cliJson } from './cliJson';
import { makeJob } from '../../src/engine/runtime/job';
import { listCheckpoints, timelapse } from '../../src/engine/server/timelapse';
import { loadModel, unloadModels } from '../../src/engine/models/modelIO';
import { trainLens } from '../../src/engine/training/train';

const root = path.resolve(__dirname, '../..');
let dir: string;
before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-timelapse-'));
});
after(() => {
  unloadModels();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('MNIST with checkpoints every epoch: kept, listed, different; the time-lapse of a conv1 node', { timeout: 10 * 60_000 }, async () => {
  const lensJson = JSON.parse(fs.readFileSync(path.join(root, 'samples/mnist/mnist.lens.json'), 'utf8'));
  for (const split of ['train', 'test'])
    for (const k of ['images', 'labels']) lensJson.dataset[split][k] = path.join(root, 'samples/mnist', lensJson.dataset[split][k]);
  lensJson.training.epochs = 2;
  lensJson.training.checkpoints = { every: 1 };
  const lens = path.join(dir, 'mnist.lens.json');
  fs.writeFileSync(lens, JSON.stringify(lensJson));
  const r = await trainLens(lens, makeJob());
  const ckDir = path.join(dir, 'model', 'model-checkpoints');
  assert.deepEqual(
    r.checkpoints?.map((c) => [c.epoch, c.model]),
    [1, 2].map((e) => [e, path.join(ckDir, `epoch-${e}.json`)]),
  );
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'mnist.training.json'), 'utf8')).checkpoints, r.checkpoints, 'listed in the training results');
  assert.deepEqual(
    fs.readdirSync(path.join(dir, 'model')).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary folder left',
  );
  const conv1 = async (file: string) => Array.from((await loadModel(file)).layersModel!.getLayer('conv1').getWeights()[0].dataSync());
  const first = await conv1(r.checkpoints![0].model);
  const last = await conv1(r.checkpoints![1].model);
  const final = await conv1(r.model);
  assert.deepEqual(last, final, 'the last checkpoint is the trained model');
  const change = Math.max(...first.map((v, i) => Math.abs(v - last[i])));
  console.log(`conv1 filters, epoch 1 vs 2: largest change ${change.toFixed(4)} (weights in ±${Math.max(...last.map(Math.abs)).toFixed(3)})`);
  assert.ok(change > 1e-3, 'the first-epoch filters differ from the last');

  const out = path.join(dir, 'figures');
  const storage = path.join(dir, 'index');
  const t = await cliJson(['timelapse', lens, '--layer', 'conv1', '--node', '3', '--out', out, '--storage', storage, '--k', '9']);
  assert.deepEqual(
    t.frames.map((f: any) => f.epoch),
    [1, 2],
  );
  for (const e of [1, 2]) for (const kind of ['weights', 'top']) assert.ok(fs.statSync(path.join(out, `conv1-3-epoch-${e}-${kind}.png`)).size > 100);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'conv1-3-timelapse.json'), 'utf8'));
  const [a, b] = json.frames;
  assert.equal(a.top.length, 9);
  const shared = b.top.filter((x: any) => a.top.some((y: any) => y.index === x.index)).length;
  assert.equal(b.overlapWithPrevious, shared / 9);
  assert.equal(a.overlapWithPrevious, undefined);
  assert.equal(b.topScore, b.top[0].score);
  console.log(
    `time-lapse conv1 node 3: ${json.frames.map((f: any) => `epoch ${f.epoch}: top score ${f.topScore.toFixed(3)}, mean ${f.meanTopScore.toFixed(3)}${f.overlapWithPrevious !== undefined ? `, overlap ${f.overlapWithPrevious.toFixed(2)}` : ''}`).join('; ')}`,
  );

  // each checkpoint's index is kept: a second time-lapse scans nothing and gives the same frames
  const indexes = fs.readdirSync(storage).sort();
  const again = await timelapse({ lens, layer: 'conv1', node: 3, storageDir: storage, k: 9 }, makeJob());
  assert.deepEqual(fs.readdirSync(storage).sort(), indexes);
  assert.deepEqual(
    again.frames.map((f) => f.top),
    json.frames.map((f: any) => f.top),
  );

  // the node page's requests: the series, and one checkpoint at a time with its images, maps and projections
  assert.deepEqual(
    await listCheckpoints(lens),
    r.checkpoints!.map((c) => ({ epoch: c.epoch, model: c.model })),
  );
  const one = await timelapse({ lens, layer: 'conv1', node: 3, storageDir: storage, k: 9, checkpoint: 1, method: 'deconv' }, makeJob());
  assert.deepEqual(
    one.frames.map((f) => [f.epoch, f.top]),
    [[2, again.frames[1].top]],
    'checkpoint 1 alone is the series second frame',
  );
  assert.deepEqual(
    one.frames[0].items!.map((i) => i.entry.index),
    one.frames[0].top.map((t) => t.index),
  );
  for (const it of one.frames[0].items!) {
    assert.deepEqual(it.featureMap.shape, [24, 24], 'conv1 maps of a 28×28 digit');
    assert.deepEqual(it.projection?.shape, [28, 28, 1], 'the deconvolution back to the input');
  }
  await assert.rejects(
    timelapse({ lens, layer: 'conv1', node: 3, storageDir: storage, k: 9, checkpoint: 2 }, makeJob()),
    /checkpoint 2 is not one of the series' 2/,
  );
  const none = path.join(dir, 'none.lens.json');
  fs.writeFileSync(none, JSON.stringify({ ...lensJson, name: 'none', model: 'model/model.json', training: undefined }));
  assert.deepEqual(await listCheckpoints(none), [], 'a lens without checkpoints: no series, no error');

  // the user's own files, named by a pattern, are the same series
  const own = path.join(dir, 'own.lens.json');
  fs.writeFileSync(own, JSON.stringify({ ...lensJson, name: 'own', checkpoints: 'model/model-checkpoints/epoch-*.json', training: undefined }));
  const viaPattern = await timelapse({ lens: own, layer: 'conv1', node: 3, storageDir: storage, k: 9 }, makeJob());
  assert.deepEqual(
    viaPattern.frames.map((f) => [f.epoch, f.model]),
    r.checkpoints!.map((c) => [c.epoch, c.model]),
  );
  assert.deepEqual(
    viaPattern.frames.map((f) => f.top),
    again.frames.map((f) => f.top),
  );
});
