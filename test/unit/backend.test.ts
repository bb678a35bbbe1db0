import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { currentBackend, initBackend, wasmDirectory } from '../../src/engine/runtime/backend';
import * as tf from '../../src/engine/runtime/tf';

// `auto` picks tensorflow when @tensorflow/tfjs-node is installed (npm ci on a networked machine may install
// it), else falls back to wasm and says why; an explicit `tensorflow` then fails clearly. On machines where
// tfjs-node cannot be installed (its install downloads libtensorflow) the fallback is what runs.

/** Whether @tensorflow/tfjs-node resolves from here. */
const HAS_TFJS_NODE = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...m: unknown[]) => void warnings.push(m.join(' '));
  return fn().then(
    (value) => ((console.warn = warn), { value, warnings }),
    (e) => {
      console.warn = warn;
      throw e;
    },
  );
}

test(`auto picks ${HAS_TFJS_NODE ? 'tensorflow (tfjs-node resolves)' : 'wasm and says tfjs-node is absent (it does not resolve)'}`, async () => {
  const { backend, note } = await initBackend('auto');
  if (HAS_TFJS_NODE) {
    assert.equal(backend, 'tensorflow', note);
    assert.equal(currentBackend(), 'tensorflow');
    return;
  }
  assert.equal(backend, 'wasm');
  assert.equal(currentBackend(), 'wasm');
  assert.match(note ?? '', /@tensorflow\/tfjs-node/);
  assert.match(note ?? '', /not installed|Cannot find module/);
});

test('wasm registers the gradient kernels it lacks', async () => {
  assert.equal((await initBackend('wasm')).backend, 'wasm');
  for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
    assert.ok(tf.getKernel(k, 'wasm'), `${k} registered`);
  }
  // a gradient through a conv works (it throws on a bare wasm backend)
  const dw = tf.tidy(() =>
    tf
      .grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')))(tf.zeros([2, 2, 1, 1]))
      .dataSync(),
  );
  assert.deepEqual(Array.from(dw), [4, 4, 4, 4]);
});

test('initBackend is idempotent: a second call gives the same choice, silently, without new tensors', async () => {
  const first = await initBackend('auto');
  const tensors = tf.memory().numTensors;
  const { value: second, warnings } = await quietly(() => initBackend('auto'));
  assert.deepEqual(second, first);
  assert.deepEqual(warnings, []);
  const { value: third } = await quietly(() => initBackend('wasm'));
  assert.deepEqual(third, { backend: 'wasm' });
  assert.equal(tf.memory().numTensors, tensors);
});

test(`tensorflow ${HAS_TFJS_NODE ? 'works (tfjs-node resolves)' : 'fails with an error that names the missing package, and leaves the backend usable'}`, async () => {
  await initBackend('wasm');
  if (HAS_TFJS_NODE) {
    assert.deepEqual(await initBackend('tensorflow'), { backend: 'tensorflow' });
    assert.equal(
      tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]),
      6,
    );
    await initBackend('wasm');
    return;
  }
  await assert.rejects(initBackend('tensorflow'), (e: Error) => {
    assert.match(e.message, /The tensorflow backend needs @tensorflow\/tfjs-node, which is not installed/);
    return true;
  });
  assert.equal(currentBackend(), 'wasm');
  const s = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]);
  assert.equal(s, 6);
});

test('cpu works, and switching back to wasm works', async () => {
  assert.deepEqual(await initBackend('cpu'), { backend: 'cpu' });
  assert.equal(currentBackend(), 'cpu');
  const m = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync());
  assert.deepEqual(Array.from(m), [19, 22, 43, 50]);
  assert.equal((await initBackend('wasm')).backend, 'wasm');
  assert.equal(currentBackend(), 'wasm');
});

test('the .wasm binaries are taken from beside the bundle when there, else from the package', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-wasm-'));
  try {
    assert.equal(wasmDirectory(dir), path.join(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'), '..', 'dist') + path.sep);
    assert.ok(fs.existsSync(path.join(wasmDirectory(dir), 'tfjs-backend-wasm-simd.wasm')));
    fs.writeFileSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm'), '');
    assert.equal(wasmDirectory(dir), dir + path.sep);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
