import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend';
import { forward } from '../../src/engine/models/forward';
import type { Network } from '../../src/engine/models/network';
import { withPreprocess } from '../../src/engine/models/preprocess';
import * as tf from '../../src/engine/tf';
import { parseLens } from '../../src/engine/lens';

function smallNet(): Network {
  const kernel = tf.tensor4d([1, 2, 3, -1, 0.5, 2], [1, 1, 3, 2]);
  return {
    name: 'small', format: 'onnx', path: '/x.onnx', input: { name: 'in', shape: [2, 2, 3] },
    ops: [{ kind: 'conv2d', strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], groups: 1, weights: { kernel },
      name: 'c', inputs: ['in'], shape: [2, 2, 2], source: 'Conv' }],
    constants: new Map(), output: 'c',
    layers: [{ op: 0, name: 'c', kind: 'conv', shape: [2, 2, 2], nodes: 2 }],
    dispose() { kernel.dispose(); },
  } as Network;
}

test('withPreprocess equals normalizing by hand, BGR swaps channels, layers unchanged', async () => {
  await initBackend();
  const net = smallNet();
  const x = Array.from({ length: 12 }, (_, i) => (i * 7 % 12) / 11);
  const spec = { scale: 1 / 255, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.5], order: 'bgr' as const };
  const pre = withPreprocess(net, spec);
  assert.deepEqual(pre.layers.map((l) => [l.name, pre.ops[l.op].name]), net.layers.map((l) => [l.name, net.ops[l.op].name]));
  // By hand: pixel = 255 x, scaled, channels reversed, normalized.
  const hand: number[] = [];
  for (let p = 0; p < 4; p++) for (let c = 0; c < 3; c++) hand.push((x[p * 3 + 2 - c] * 255 * spec.scale - spec.mean[c]) / spec.std[c]);
  const got = await tf.tidy(() => forward(pre, tf.tensor4d(x, [1, 2, 2, 3])).at(-1)!).data();
  const want = await tf.tidy(() => forward(net, tf.tensor4d(hand, [1, 2, 2, 3])).at(-1)!).data();
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `${i}: ${got[i]} vs ${want[i]}`);
  pre.dispose();
  net.dispose();
});

test('lens preprocess: parsed, and bad values are one line naming the lens file', () => {
  const base = { name: 'n', model: 'm.onnx', dataset: { format: 'efl' } };
  const file = '/tmp/x.lens.json';
  const lens = parseLens({ ...base, preprocess: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'BGR' } }, file);
  assert.deepEqual(lens.preprocess, { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'bgr' });
  for (const bad of [{ std: [0] }, { mean: ['a'] }, { order: 'RBG' }, { scale: 'x' }, { extra: 1 }]) {
    assert.throws(() => parseLens({ ...base, preprocess: bad }, file), (e: Error) => e.message.includes('x.lens.json') && !e.message.includes('\n'));
  }
});
