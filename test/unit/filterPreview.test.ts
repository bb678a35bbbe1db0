import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { filterPreview as previewOf } from '../../src/engine/server/filterPreview';
import * as tf from '../../src/engine/runtime/tf';

/** Nested array lookup of a weight, independent of the flat index arithmetic under test. */
const at = (w: tf.Tensor, ...idx: number[]) => idx.reduce((a: unknown, i) => (a as unknown[])[i], w.arraySync()) as number;

/** filterPreview, asserting it leaves no tensor behind. */
function filterPreview(...args: Parameters<typeof previewOf>): ReturnType<typeof previewOf> {
  const before = tf.memory().numTensors;
  try {
    return previewOf(...args);
  } finally {
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  }
}

function decode(png: Uint8Array | null): PNG {
  assert.ok(png, 'a preview');
  return PNG.sync.read(Buffer.from(png));
}

function pixel(img: PNG, x: number, y: number): number[] {
  const o = 4 * (y * img.width + x);
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

function layerIndex(model: tf.LayersModel, name: string): number {
  const i = net(model).layers.findIndex((l) => l.name === name);
  assert.ok(i >= 0, `layer ${name}`);
  return i;
}

// The colours, written out here as the panel's legends state them: RGB filters (v / lim + 1) / 2 per channel;
// one-channel tiles blue (#2166ac) at -lim, white at 0, red (#b2182b) at +lim, linear on each side.
const rgbUnit = (v: number, lim: number) => Math.round(255 * ((v / lim + 1) / 2));
function signedColour(v: number, lim: number): number[] {
  const t = Math.max(-1, Math.min(1, v / lim));
  const end = t < 0 ? [33, 102, 172] : [178, 24, 43];
  return end.map((e) => Math.round(255 + (e - 255) * Math.abs(t)));
}

test("filter preview: the first filters of a layer in the panel's colours, each tap where its tile puts it", async () => {
  await initBackend('cpu');
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, name: 'rgb' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'deep' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 3, name: 'head' }),
    ],
  });
  // A zero tap in filter 1 of the RGB layer: drawn as the legend's 0 (half of every channel).
  const [k0, b0] = m.getLayer('rgb').getWeights();
  const kv = k0.arraySync() as number[][][][];
  for (let c = 0; c < 3; c++) kv[1][2][c][1] = 0;
  m.getLayer('rgb').setWeights([tf.tensor(kv), b0]);

  // RGB 3×3 filters: one tile per node, nodes side by side, each tap an 8×8 block after a 2-pixel gap.
  const rgb = decode(filterPreview(net(m), layerIndex(m, 'rgb')));
  const k = m.getLayer('rgb').getWeights()[0];
  const lim = Math.max(...(k.dataSync() as Float32Array).map(Math.abs));
  assert.deepEqual([rgb.width, rgb.height], [2 + 4 * (24 + 2), 2 + 24 + 2]);
  for (let n = 0; n < 4; n++) {
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 3; x++) {
        const want = [0, 1, 2].map((c) => rgbUnit(at(k, y, x, c, n), lim));
        assert.deepEqual(pixel(rgb, 2 + n * 26 + x * 8 + 4, 2 + y * 8 + 4), want, `node ${n} tap (${y}, ${x})`);
      }
    }
  }
  assert.deepEqual(pixel(rgb, 2 + 1 * 26 + 2 * 8 + 4, 2 + 1 * 8 + 4), [128, 128, 128], "a zero weight is the legend's 0");

  // 4 input channels: a row per node of its one-channel tiles, in the diverging colours.
  const deep = decode(filterPreview(net(m), layerIndex(m, 'deep')));
  const kd = m.getLayer('deep').getWeights()[0];
  const limD = Math.max(...(kd.dataSync() as Float32Array).map(Math.abs));
  assert.deepEqual([deep.width, deep.height], [2 + 4 * 26, 2 + 5 * 26]);
  for (let n = 0; n < 5; n++) {
    for (let c = 0; c < 4; c++) {
      for (const [y, x] of [
        [0, 0],
        [1, 2],
        [2, 1],
      ]) {
        assert.deepEqual(
          pixel(deep, 2 + c * 26 + x * 8 + 4, 2 + n * 26 + y * 8 + 4),
          signedColour(at(kd, y, x, c, n), limD),
          `node ${n} channel ${c} tap (${y}, ${x})`,
        );
      }
    }
  }

  // No image where the weights are not images: a pooling layer, a dense layer on a flat input.
  assert.equal(filterPreview(net(m), layerIndex(m, 'pool')), null);
  const flat = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 4, name: 'fc' }), tf.layers.dense({ units: 2, name: 'fc2' })] });
  assert.equal(filterPreview(net(flat), layerIndex(flat, 'fc2')), null);
});

test('filter preview: large tiles are sampled so that the PNG stays small enough for a hover', async () => {
  await initBackend('cpu');
  // A dense layer on a 96×96 RGB input: 16 units, each a 96×96 RGB tile of noise (the least compressible case).
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [96, 96, 3] }), tf.layers.dense({ units: 16, name: 'wide' })] });
  const png = filterPreview(net(m), layerIndex(m, 'wide'));
  assert.ok(png);
  assert.ok(png.length < 45_000, `${png.length} bytes (a hover's Markdown is cut at 100,000 characters)`);
  const img = decode(png);
  assert.ok(img.width <= 512 && img.height <= 256, `${img.width}×${img.height}`);
});
