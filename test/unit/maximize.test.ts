// Activation maximization: the matrix-product inverse DFT against numpy's irfft2; on a small CNN trained here
// on real MNIST digits, maximizing an output unit yields an image the model classifies as that class with
// high probability; the warm-up lets a node that is off at the start be reached; cancellation and no leaks.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { net } from './net';
import { initBackend } from '../../src/engine/runtime/backend';
import { CancelledError } from '../../src/engine/runtime/errors';
import { Random } from '../../src/engine/datasets/random';
import { defaultTransforms, irfft2, irfft2Bases, randomView, rotate } from '../../src/engine/methods/imageParam';
import { makeJob } from '../../src/engine/runtime/job';
import { maximize } from '../../src/engine/methods/maximize';
import * as tf from '../../src/engine/runtime/tf';
import { mnistDigits, smallCnn } from './scanFixtures';

describe('activation maximization', () => {
  let model: tf.LayersModel;
  before(async () => {
    await initBackend('wasm');
    const t0 = Date.now();
    model = smallCnn(21);
    const d = mnistDigits(2500, 100);
    const xs = tf.tensor4d(d.images, [2500, 28, 28, 1]);
    const ys = tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10);
    model.compile({ optimizer: tf.train.adam(0.003), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const h = await model.fit(xs, ys, { epochs: 3, batchSize: 64, verbose: 0, shuffle: true });
    tf.dispose([xs, ys]);
    const test = mnistDigits(500, 0);
    const acc = tf.tidy(() => {
      const p = model.predict(tf.tensor4d(test.images, [500, 28, 28, 1])) as tf.Tensor;
      return tf.mean(tf.cast(tf.equal(tf.argMax(p, 1), tf.tensor1d(test.labels, 'int32')), 'float32')).dataSync()[0];
    });
    console.log(
      `trained SMALL on 2,500 digits in ${((Date.now() - t0) / 1000).toFixed(1)} s: train acc ${(h.history.acc ?? h.history.accuracy)?.slice(-1)}, held-out acc ${acc.toFixed(3)}`,
    );
    assert.ok(acc > 0.85, `the model learned MNIST (${acc})`);
  });

  it('the inverse real DFT by matrix products equals numpy.fft.irfft2', () => {
    for (const [H, W] of [
      [6, 8],
      [5, 7],
    ]) {
      const C = 2;
      const Wf = Math.floor(W / 2) + 1;
      const random = new Random(H * 31 + W);
      const rand = (): number => random.next();
      const a = Array.from({ length: C * H * Wf }, () => rand() - 0.5);
      const b = Array.from({ length: C * H * Wf }, () => rand() - 0.5);
      const py = `import json,sys,numpy as np
d=json.load(sys.stdin); C,H,W,Wf=d['C'],d['H'],d['W'],d['Wf']
X=np.array(d['a']).reshape(C,H,Wf)+1j*np.array(d['b']).reshape(C,H,Wf)
print(json.dumps(np.fft.irfft2(X,s=(H,W)).transpose(1,2,0).ravel().tolist()))`;
      const want = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ C, H, W, Wf, a, b }) }).toString()) as number[];
      const bases = irfft2Bases(H, W);
      const got = tf.tidy(() => {
        const t = { y: tf.tensor2d(bases.y, [2 * H, 2 * H]), x: tf.tensor2d(bases.x, [2 * Wf, W]) };
        return irfft2(tf.tensor3d(a, [C, H, Wf]), tf.tensor3d(b, [C, H, Wf]), W, t).dataSync();
      });
      assert.equal(got.length, want.length);
      let err = 0;
      for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
      assert.ok(err < 1e-5, `[${H}, ${W}] max abs error ${err}`);
    }
  });

  it('rotation by three shears turns an image by 90° exactly (odd size: integer shifts)', () => {
    const n = 7;
    const data = Float32Array.from({ length: n * n * 2 }, (_, i) => (i * 37) % 11);
    const got = tf.tidy(() => rotate(tf.tensor3d(data, [n, n, 2]), Math.PI / 2).dataSync());
    // One of the two 90° turns (the sign convention of the angle is the image's y axis pointing down).
    const turn = (cw: boolean) =>
      Float32Array.from({ length: n * n * 2 }, (_, i) => {
        const c = i % 2;
        const x = Math.floor(i / 2) % n;
        const y = Math.floor(i / 2 / n);
        const [sy, sx] = cw ? [n - 1 - x, y] : [x, n - 1 - y];
        return data[(sy * n + sx) * 2 + c];
      });
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).every((v, i) => Math.abs(v - b[i]) < 1e-5);
    assert.ok(close(got, turn(true)) || close(got, turn(false)), 'a 90° turn');
  });

  it('the robust view keeps the size and is differentiable on this backend', () => {
    const before = tf.memory().numTensors;
    const g = tf.tidy(() => {
      const img = tf.randomUniform([28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor3D;
      const random = new Random(5);
      const rand = (): number => random.next();
      const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.square(randomView(x as tf.Tensor3D, defaultTransforms(28, 28), rand))))(img);
      assert.deepEqual(grad.shape, [28, 28, 1]);
      return tf.sum(tf.abs(grad)).dataSync()[0];
    });
    assert.ok(g > 0);
    assert.equal(tf.memory().numTensors, before);
  });

  it('maximizing an output unit gives an image the model puts in that class with high probability', async () => {
    const outLayer = net(model).layers.length - 1;
    const before = tf.memory().numTensors;
    for (const cls of [0, 3, 7]) {
      const t0 = Date.now();
      let steps = 0;
      const r = await maximize(
        net(model),
        outLayer,
        cls,
        { steps: 96, seed: cls + 1 },
        makeJob(() => steps++),
      );
      const p = r.output[cls];
      const argmax = r.output.indexOf(Math.max(...r.output));
      console.log(
        `class ${cls}: p = ${p.toFixed(4)} (argmax ${argmax}), objective ${r.curve[0].toFixed(2)} -> ${r.curve[r.curve.length - 1].toFixed(2)}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      assert.equal(r.curve.length, 96);
      assert.equal(steps, 96, 'progress every step');
      assert.deepEqual(r.image.shape, [28, 28, 1]);
      assert.ok(r.image.data.every((v) => v >= 0 && v <= 1));
      assert.ok(p > 0.9, `class ${cls} probability ${p}`);
      assert.ok(r.curve[r.curve.length - 1] > r.curve[0], 'the objective rose');
      // The output returned is the model's output for the returned image.
      const check = tf.tidy(() => (model.predict(tf.tensor4d(r.image.data, [1, 28, 28, 1])) as tf.Tensor).dataSync());
      check.forEach((v, i) => assert.ok(Math.abs(v - r.output[i]) < 1e-5));
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  it('the warm-up lets gradients through a ReLU that is off everywhere at the start', async () => {
    // One 3×3 filter of ones with bias −5: off on a gray image (9 · 0.5 − 5 < 0), on once pixels exceed 5/9.
    const m = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 1, kernelSize: 3, activation: 'relu' })] });
    m.layers[0].setWeights([tf.ones([3, 3, 1, 1]), tf.tensor1d([-5])]);
    const opts = { steps: 40, transforms: false, fourier: false, learningRate: 0.1 };
    const cold = await maximize(net(m), 0, 0, { ...opts, warmup: 0 }, makeJob());
    const warm = await maximize(net(m), 0, 0, { ...opts, warmup: 20 }, makeJob());
    assert.ok(
      cold.curve.every((v) => v === 0),
      'without warm-up the dead node gets no gradient',
    );
    assert.ok(warm.curve[warm.curve.length - 1] > 0.5, `with warm-up it fires: ${warm.curve[warm.curve.length - 1]}`);
  });

  it('stops on cancel without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const job = makeJob((p) => {
      if ((p.fraction ?? 0) >= 0.1) job.cancel();
    });
    await assert.rejects(maximize(net(model), 2, 1, { steps: 50 }, job), CancelledError);
    assert.equal(tf.memory().numTensors, before);
    // An RGB-shaped model works too (Fourier basis with colour decorrelation).
    // Seeded weights: with random ones, node 2 can be dead everywhere and the objective stays 0.
    const rgb = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [16, 16, 3],
          filters: 4,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
      ],
    });
    const r = await maximize(net(rgb), 1, 2, { steps: 30, transforms: false, warmup: 30 }, makeJob());
    assert.deepEqual(r.image.shape, [16, 16, 3]);
    assert.ok(r.curve[29] > r.curve[0], `objective ${r.curve[0]} -> ${r.curve[29]}`);
    rgb.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
