// With the native runtime turned off (FEATURE_LENS_NATIVE=off, as where onnxruntime-node is missing or fails to
// load) every forward pass runs on tfjs, gives the same outputs, and the status says why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { saveModel } from '../../src/engine/models/modelIO';
import { forwardLayers, forwardStatus, nativeForward } from '../../src/engine/native/forwardLayers';
import { nativeRuntime } from '../../src/engine/native/runtime';
import * as tf from '../../src/engine/runtime/tf';
import { convNet, referenceForward, testForward } from './nativeNets';
import { values } from './numbers';

before(async () => {
  process.env.FEATURE_LENS_NATIVE = 'off';
  await initBackend('cpu');
});

test('FEATURE_LENS_NATIVE=off: forward passes fall back to tfjs with the same outputs, and the status says why', async () => {
  const rt = nativeRuntime();
  assert.equal(rt.ok, false);
  assert.match((rt as { why: string }).why, /FEATURE_LENS_NATIVE=off/);
  const net = convNet();
  try {
    const x = values(2 * net.input.shape.reduce((a, b) => a * b, 1), 4);
    const ops = net.layers.map((l) => l.op);
    assert.equal(await nativeForward(net, x, 2, ops), null);
    const r = await forwardLayers(net, x, 2, ops, testForward, { purpose: 'scan', layout: 'nchw' });
    assert.equal(r.path, 'tfjs');
    const want = tf.tidy(() =>
      referenceForward(net, tf.tensor(x, [2, ...net.input.shape])).map((t) => (t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t).dataSync() as Float32Array),
    );
    ops.forEach((op, i) => assert.deepEqual(Array.from(r.outputs[i]), Array.from(want[op]), `layer ${net.ops[op].name}`));
    const s = forwardStatus();
    assert.equal(s.forward, 'tfjs');
    assert.match(s.forwardNote, /unavailable \(turned off by FEATURE_LENS_NATIVE=off\).*scan: tfjs/);
  } finally {
    net.dispose();
  }
});

test('feature-lens info names the forward path: onnxruntime where it loads, tfjs with the reason when it is off', async (t) => {
  if (!fs.existsSync('dist/engine.js')) return t.skip('needs the build (node esbuild.mjs)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-native-info-'));
  try {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    await saveModel(model, path.join(dir, 'model.json'));
    model.dispose();
    const info = (native: string) =>
      spawnSync(process.execPath, ['dist/engine.js', 'info', path.join(dir, 'model.json')], {
        env: { ...process.env, FEATURE_LENS_NATIVE: native },
        encoding: 'utf8',
      });
    const off = info('off');
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stdout, /forward tfjs\n.*unavailable \(turned off by FEATURE_LENS_NATIVE=off\)/);
    const on = info('');
    assert.equal(on.status, 0, on.stderr);
    assert.match(on.stdout, /forward onnxruntime\n.*onnxruntime-node \d/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
