// Loading and saving TF.js Layers models: a round trip keeps every weight, every way a model file can be bad
// gives one message naming the file, and a save never leaves a half-written model.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { UserError } from '../../src/engine/runtime/errors';
import { loadModel, saveModel, unloadModels } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';

function smallModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'relu', name: 'conv' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 4, activation: 'softmax', name: 'out' }),
    ],
  });
}

async function rejects(p: Promise<unknown>, code: string, pattern: RegExp, file: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

describe('model files', () => {
  let dir: string;
  let good: string;
  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-model-'));
    good = path.join(dir, 'good', 'model.json');
    const m = smallModel();
    await saveModel(m, good);
    m.dispose();
  });
  after(() => {
    unloadModels();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the good model in its own folder, with `edit` applied to its model.json object. */
  function variant(name: string, edit?: (json: Record<string, any>) => void): string {
    const d = path.join(dir, name);
    fs.cpSync(path.dirname(good), d, { recursive: true });
    const file = path.join(d, 'model.json');
    if (edit) {
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      edit(json);
      fs.writeFileSync(file, JSON.stringify(json));
    }
    return file;
  }

  it('round-trips every weight and describes the layers', async () => {
    const m = smallModel();
    const file = path.join(dir, 'rt', 'model.json');
    await saveModel(m, file);
    const { layersModel: model, info } = await loadModel(file);
    const a = m.getWeights().map((w) => Array.from(w.dataSync()));
    const b = model!.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(b, a);
    assert.deepEqual(info.inputShape, [6, 6, 2]);
    assert.deepEqual(
      info.layers.map((l) => [l.name, l.kind, l.nodes, l.params, l.activation]),
      [
        ['conv', 'conv', 3, 57, 'relu'],
        // Flatten only moves data: not an inspectable layer
        ['out', 'dense', 4, 196, 'softmax'],
      ],
    );
    assert.equal(info.totalParams, 253);
    assert.match(info.weightsHash, /^[0-9a-f]{64}$/);
    m.dispose();
  });

  it('is cached until model.json changes, and a resave replaces the weights whole', async () => {
    const file = path.join(dir, 'resave', 'model.json');
    const m1 = smallModel();
    await saveModel(m1, file);
    const first = await loadModel(file);
    assert.equal(await loadModel(file), first, 'second load is served from the cache');
    const m2 = smallModel();
    await saveModel(m2, file);
    const second = await loadModel(file);
    assert.notEqual(second.info.weightsHash, first.info.weightsHash);
    assert.deepEqual(Array.from(second.layersModel!.getWeights()[0].dataSync()), Array.from(m2.getWeights()[0].dataSync()));
    const shards = fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.bin'));
    assert.equal(shards.length, 1, 'the old shard is removed');
    assert.deepEqual(
      fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')),
      [],
    );
    m1.dispose();
    m2.dispose();
  });

  // A small tmpfs stands in for a full disk and a read-only folder (root in CI, so permissions alone would not
  // stop a write). Where mounting is not allowed, the test says so and fails rather than passing vacuously.
  for (const fault of ['full disk', 'read-only folder'] as const) {
    it(`keeps the old model whole on a ${fault}`, async () => {
      const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-mnt-'));
      const mount = (args: string[]) => execFileSync('mount', args, { stdio: 'pipe' });
      mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
      try {
        const file = path.join(mnt, 'model.json');
        const small = smallModel();
        await saveModel(small, file);
        const before = new Map(fs.readdirSync(mnt).map((f) => [f, fs.readFileSync(path.join(mnt, f))]));
        if (fault === 'read-only folder') mount(['-o', 'remount,ro', mnt]);
        // 16x16x64 conv + dense: ~200 KB of weights, more than the 64 KB disk holds.
        const big = tf.sequential({
          layers: [tf.layers.conv2d({ inputShape: [16, 16, 64], filters: 64, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 8 })],
        });
        await assert.rejects(saveModel(big, file), fault === 'full disk' ? /ENOSPC/ : /EROFS/);
        assert.deepEqual(
          new Map(fs.readdirSync(mnt).map((f) => [f, fs.readFileSync(path.join(mnt, f))])),
          before,
          'the old files are intact and no temporary is left',
        );
        const { layersModel: model } = await loadModel(file);
        assert.deepEqual(Array.from(model!.getWeights()[0].dataSync()), Array.from(small.getWeights()[0].dataSync()));
        small.dispose();
        big.dispose();
      } finally {
        unloadModels();
        execFileSync('umount', [mnt]);
        fs.rmSync(mnt, { recursive: true, force: true });
      }
    });
  }

  it('missing file', () => rejects(loadModel(path.join(dir, 'nope', 'model.json')), 'notFound', /model file not found/, path.join(dir, 'nope', 'model.json')));

  it('invalid JSON', async () => {
    const file = variant('badjson');
    fs.writeFileSync(file, '{"modelTopology": {');
    await rejects(loadModel(file), 'badInput', /is not valid JSON/, file);
  });

  it('a JSON file that is not a model', async () => {
    const file = variant('notmodel');
    fs.writeFileSync(file, '[1, 2, 3]');
    await rejects(loadModel(file), 'badInput', /expected a JSON object/, file);
    fs.writeFileSync(file, '{"name": "x"}');
    unloadModels();
    await rejects(loadModel(file), 'badInput', /no "modelTopology"/, file);
  });

  it('a missing weight shard', async () => {
    const file = variant('noshard');
    for (const f of fs.readdirSync(path.dirname(file))) if (f.endsWith('.bin')) fs.rmSync(path.join(path.dirname(file), f));
    await rejects(loadModel(file), 'notFound', /weight file .*\.bin is missing/, file);
  });

  it('a truncated weight shard', async () => {
    const file = variant('truncated');
    const bin = fs.readdirSync(path.dirname(file)).find((f) => f.endsWith('.bin'))!;
    const p = path.join(path.dirname(file), bin);
    fs.writeFileSync(p, fs.readFileSync(p).subarray(0, 100));
    await rejects(loadModel(file), 'badInput', /hold 100 bytes but the manifest describes 1012 bytes/, file);
  });

  it('weights whose byte count does not match the manifest', async () => {
    const file = variant('mismatch', (j) => {
      j.weightsManifest[0].weights[0].shape = [3, 3, 2, 4];
    });
    await rejects(loadModel(file), 'badInput', /manifest describes 1084 bytes/, file);
  });

  it('a shard path that leaves the folder', async () => {
    const file = variant('escape', (j) => {
      j.weightsManifest[0].paths = ['../good/x.bin'];
    });
    await rejects(loadModel(file), 'badInput', /outside its folder/, file);
  });

  it('an unknown layer class', async () => {
    const file = variant('unknown', (j) => {
      j.modelTopology.config.layers[1].class_name = 'FancyAttention';
    });
    await rejects(loadModel(file), 'unsupported', /FancyAttention/, file);
  });

  it('a graph model without nodes', async () => {
    const file = variant('graph', (j) => {
      j.format = 'graph-model';
      j.modelTopology = { node: [], library: {}, versions: {} };
    });
    await rejects(loadModel(file), 'badInput', /graph model without nodes/, file);
  });

  it('a Keras config without weights', async () => {
    const file = variant('keras');
    fs.writeFileSync(file, JSON.stringify({ class_name: 'Sequential', config: { layers: [] }, keras_version: '2.15.0' }));
    await rejects(loadModel(file), 'badInput', /Keras architecture without weights/, file);
  });

  it('a 2 GB model.json is refused before it is read', async () => {
    const file = variant('huge');
    fs.truncateSync(file, 2 * 1024 ** 3);
    await rejects(loadModel(file), 'badInput', /is 2048 MB/, file);
    fs.rmSync(file);
  });
});
