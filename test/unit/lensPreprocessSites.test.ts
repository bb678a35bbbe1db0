// Every command given a lens file runs its model behind the lens's `preprocess` (lens/lensModel.ts): compare,
// time-lapse and render --image each refuse a lens whose preprocess does not fit the model, which they can only
// notice by loading the model as the lens runs it (they once loaded the plain model and ignored the block). The
// sanity check's cascade never randomizes the preprocess op, which is not a layer of the model.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { renderImage } from '../../src/engine/cli/renderImage';
import { loadModel, saveModel, unloadModels } from '../../src/engine/models/modelIO';
import { PREPROCESS_SOURCE, withPreprocess } from '../../src/engine/models/preprocess';
import { initBackend } from '../../src/engine/runtime/backend';
import { makeJob } from '../../src/engine/runtime/job';
import { compareLenses } from '../../src/engine/server/compare';
import { cascadeOps } from '../../src/engine/server/sanity';
import { writeTimelapse } from '../../src/engine/server/timelapse';
import { smallCnn, writeMnistLens } from './scanFixtures';

let dir: string;
let lens: string;
let image: string;
const MISFIT = /preprocess\.mean" has 3 values but the model's input has 1 channel/;

before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-preprocess-sites-'));
  lens = writeMnistLens(dir, 40);
  const model = smallCnn(3);
  await saveModel(model, path.join(dir, 'model', 'model.json'));
  model.dispose();
  // Three means for a one-channel model, and the model itself as a checkpoint series of one.
  const json = JSON.parse(fs.readFileSync(lens, 'utf8'));
  fs.writeFileSync(lens, JSON.stringify({ ...json, preprocess: { mean: [0.1, 0.2, 0.3] }, checkpoints: 'model/*.json' }));
  const png = new PNG({ width: 28, height: 28 });
  png.data.fill(200);
  image = path.join(dir, 'digit.png');
  fs.writeFileSync(image, PNG.sync.write(png));
});
after(() => {
  unloadModels();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('compare runs each model behind its lens preprocess', async () => {
  await assert.rejects(compareLenses(lens, lens), MISFIT);
});

test('time-lapse runs each checkpoint behind the lens preprocess', async () => {
  await assert.rejects(writeTimelapse({ lens, layer: '0', node: 0, storageDir: path.join(dir, 'index'), k: 3, out: path.join(dir, 'out') }, makeJob()), MISFIT);
});

test('render --image given a lens file runs its model behind the lens preprocess', async () => {
  await assert.rejects(renderImage({ model: lens, layer: '0', node: 0, image, out: path.join(dir, 'one.png'), method: 'saliency' }, makeJob()), MISFIT);
});

test('the sanity cascade never randomizes the preprocess op', async () => {
  const { network } = await loadModel(path.join(dir, 'model', 'model.json'));
  const net = withPreprocess(network, { scale: 1 / 255, mean: [0.5], std: [0.25], order: 'rgb' });
  try {
    const top = net.layers[net.layers.length - 1].op;
    const chain = cascadeOps(net, top);
    assert.ok(chain.length > 0, 'the model has layers with kernels');
    assert.ok(net.ops[0].source === PREPROCESS_SOURCE && (net.ops[0].weights as { kernel?: unknown }).kernel, 'the prefix is a conv with a kernel');
    assert.ok(!chain.includes(0), `the cascade ${JSON.stringify(chain)} includes the preprocess op`);
    assert.deepEqual(
      chain,
      cascadeOps(network, top - 1).map((i) => i + 1),
      'the same layers as without the prefix',
    );
  } finally {
    net.dispose();
  }
});
