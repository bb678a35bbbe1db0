// The engine process seen from the extension host: requests, errors as values, ordering, and recovery after
// the engine is killed. Runs the built engine bundle (dist/engine.js), as the extension does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineClient } from '../../src/extension/engineClient';
import type { LogLevel } from '../../src/shared/protocol';
import { initBackend } from '../../src/engine/runtime/backend';
import { saveModel } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';
import { writeEflLens } from './eflLens';

const enginePath = path.resolve(__dirname, '../../dist/engine.js');

describe('engine process', () => {
  let dir: string;
  let modelPath: string;
  const logs: { level: LogLevel; message: string }[] = [];
  let client: EngineClient;

  before(async () => {
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-engine-'));
    modelPath = path.join(dir, 'model.json');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, activation: 'relu', name: 'conv' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 2, name: 'logits' }),
      ],
    });
    await saveModel(model, modelPath);
    model.dispose();
    client = new EngineClient({ enginePath, backend: () => 'wasm', log: (level, message) => logs.push({ level, message }) });
  });

  after(() => {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts lazily and answers a request with the model layers', async () => {
    assert.equal(client.running, false);
    const info = await client.call('modelInfo', { model: modelPath });
    assert.deepEqual(
      info.layers.map((l) => [l.name, l.className, l.outputShape.join('x'), l.params]),
      [
        ['conv', 'Conv2D', '6x6x3', 30],
        ['pool', 'MaxPooling2D', '3x3x3', 0],
        // Flatten only moves data: not an inspectable layer
        ['logits', 'Dense', '2', 56],
      ],
    );
    assert.equal(info.backend, 'wasm');
    assert.equal(client.status?.backend, 'wasm');
    assert.ok(logs.some((l) => /Engine ready: backend wasm/.test(l.message)));
    assert.ok(!logs.some((l) => /node-score kernel/.test(l.message)), 'the built engine has its scan kernel');
  });

  it('an engine without its scan kernel says so once, with the missing file', { timeout: 60_000 }, async () => {
    // The bundle and tfjs's wasm files, without node-scores*.wasm (as a partial build would leave them).
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-engine-bare-'));
    const own: { level: LogLevel; message: string }[] = [];
    const c = new EngineClient({ enginePath: path.join(bare, 'engine.js'), backend: () => 'wasm', log: (level, message) => own.push({ level, message }) });
    try {
      for (const f of fs.readdirSync(path.dirname(enginePath)))
        if (/^(engine\.js|tfjs-backend-wasm.*\.wasm)$/.test(f)) fs.copyFileSync(path.join(path.dirname(enginePath), f), path.join(bare, f));
      await c.call('modelInfo', { model: modelPath });
      const warned = own.filter((l) => /node-score kernel/.test(l.message));
      assert.equal(warned.length, 1, JSON.stringify(own));
      assert.equal(warned[0].level, 'warn');
      assert.match(warned[0].message, /node-scores\.wasm is missing/);
    } finally {
      c.dispose();
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });

  it('replies with an error value naming the file, and keeps serving', async () => {
    const bad = path.join(dir, 'broken', 'model.json');
    fs.mkdirSync(path.dirname(bad));
    fs.writeFileSync(bad, '{"modelTopology": ');
    const r = await client.request('modelInfo', { model: bad });
    assert.ok('err' in r);
    assert.equal(r.err.code, 'badInput');
    assert.match(r.err.message, /broken\/model\.json: is not valid JSON/);
    const ok = await client.request('modelInfo', { model: modelPath });
    assert.ok('ok' in ok);
  });

  it('answers 200 requests fired at once, in order', async () => {
    const order: number[] = [];
    const all = Array.from({ length: 200 }, (_, i) =>
      client.request(i % 2 ? 'modelInfo' : 'status', i % 2 ? { model: modelPath } : {}).then((r) => {
        assert.ok('ok' in r);
        order.push(i);
      }),
    );
    await Promise.all(all);
    assert.deepEqual(
      order,
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it('drops an unknown method with an error value', async () => {
    const r = await client.request('noSuchMethod' as 'status', {});
    assert.ok('err' in r);
    assert.match(r.err.message, /Unknown engine request: noSuchMethod/);
  });

  it('fails every pending request when the engine is killed, and the next request starts a fresh engine', { timeout: 60_000 }, async () => {
    // A training (seconds long) at the front of the engine's queue: the five requests behind it are all still
    // pending when SIGKILL lands, whatever the machine's speed.
    const lens = writeEflLens(fs.mkdtempSync(path.join(dir, 'efl-')));
    await client.call('status', {});
    const pid = client.pid!;
    let started!: () => void;
    const training = new Promise<void>((res) => (started = res));
    const train = client.request('train', { lens }, { onProgress: (p) => p.train && started() });
    await training;
    const pending = [train, ...Array.from({ length: 5 }, () => client.request('modelInfo', { model: modelPath }))];
    process.kill(pid, 'SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    const results = await Promise.race([
      Promise.all(pending),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('requests pending when the engine died were never settled')), 20_000))),
    ]).finally(() => clearTimeout(timer));
    for (const [i, r] of results.entries()) {
      assert.ok('err' in r, `request ${i} should fail: ${JSON.stringify(r).slice(0, 200)}`);
      assert.equal(r.err.code, 'engineDied');
      assert.match(r.err.message, new RegExp(`engine was killed \\(SIGKILL.*\\(while running ${i ? 'modelInfo' : 'train'}\\)$`));
    }
    assert.ok(
      logs.some((l) => l.level === 'error' && /6 request\(s\) failed: train, modelInfo, modelInfo, modelInfo, modelInfo, modelInfo\./.test(l.message)),
      'the log lists the failed requests',
    );
    const info = await client.call('modelInfo', { model: modelPath });
    assert.equal(info.layers.length, 3); // conv, pool, dense (Flatten is not listed)
    assert.notEqual(client.pid, pid);
  });
});
