// The engine process seen from the extension host: requests, errors as values, ordering, and recovery after
// the engine is killed. Runs the built engine bundle (dist/engine.js), as the extension does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineClient } from '../../src/extension/engineClient';
import type { LogLevel } from '../../src/shared/protocol';
import { initBackend } from '../../src/engine/backend';
import { saveModel } from '../../src/engine/modelIO';
import * as tf from '../../src/engine/tf';

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
    assert.deepEqual(info.layers.map((l) => [l.name, l.className, l.outputShape.join('x'), l.params]), [
      ['conv', 'Conv2D', '6x6x3', 30],
      ['pool', 'MaxPooling2D', '3x3x3', 0],
      ['flat', 'Flatten', '27', 0],
      ['logits', 'Dense', '2', 56],
    ]);
    assert.equal(info.backend, 'wasm');
    assert.equal(client.status?.backend, 'wasm');
    assert.ok(logs.some((l) => /Engine ready: backend wasm/.test(l.message)));
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
    assert.deepEqual(order, Array.from({ length: 200 }, (_, i) => i));
  });

  it('drops an unknown method with an error value', async () => {
    const r = await client.request('noSuchMethod' as 'status', {});
    assert.ok('err' in r);
    assert.match(r.err.message, /Unknown engine request: noSuchMethod/);
  });

  it('fails pending requests when the engine is killed, and the next request starts a fresh engine', async () => {
    await client.call('status', {});
    const pid = client.pid!;
    const pending = Array.from({ length: 5 }, () => client.request('modelInfo', { model: modelPath }));
    process.kill(pid, 'SIGKILL');
    const results = await Promise.all(pending);
    const died = results.filter((r) => 'err' in r && r.err.code === 'engineDied');
    assert.ok(died.length >= 1, 'at least the requests still pending when the engine died fail with engineDied');
    for (const r of died) assert.match((r as { err: { message: string } }).err.message, /engine was killed \(SIGKILL/);
    const info = await client.call('modelInfo', { model: modelPath });
    assert.equal(info.layers.length, 4);
    assert.notEqual(client.pid, pid);
  });
});
