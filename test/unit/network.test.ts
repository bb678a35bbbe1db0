import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { featureMaps } from '../../src/engine/methods/featureMaps';
import { gradcamOp } from '../../src/engine/methods/gradcam';
import { inspectImages } from '../../src/engine/server/inspectNode';
import { layerByClassOfDataset } from '../../src/engine/scan/layerByClass';
import { makeJob } from '../../src/engine/runtime/job';
import { maximize } from '../../src/engine/methods/maximize';
import { layersNetwork } from '../../src/engine/models/layers';
import { project } from '../../src/engine/methods/projection';
import { scanLayers } from '../../src/engine/scan/scan';
import * as tf from '../../src/engine/runtime/tf';
import { layerWeights } from '../../src/engine/methods/weights';
import { relError, seededImage } from './inspectRef';
import { layersReference, net } from './net';
import { memoryDataset } from './scanFixtures';

/**
 * A MobileNetV2-style Layers model: ZeroPadding2D, a strided conv without bias, BatchNormalization, ReLU6,
 * an inverted residual block (1×1 expand, DepthwiseConv2D, 1×1 project, BN) closed by a residual Add, a
 * SeparableConv2D branch joined by Concatenate, max pooling, global average pooling, a softmax dense layer.
 */
function mobileNetLike(): tf.LayersModel {
  const init = (seed: number, stddev = 0.5) => tf.initializers.randomNormal({ seed, stddev });
  const bn = (name: string, seed: number) =>
    tf.layers.batchNormalization({
      name,
      gammaInitializer: init(seed),
      betaInitializer: init(seed + 1, 0.1),
      movingMeanInitializer: init(seed + 2, 0.1),
      movingVarianceInitializer: tf.initializers.constant({ value: 1.7 }),
    });
  const relu6 = (name: string) => tf.layers.reLU({ maxValue: 6, name });
  const input = tf.input({ shape: [12, 12, 3], name: 'image' });
  let x = tf.layers
    .zeroPadding2d({
      padding: [
        [0, 1],
        [0, 1],
      ],
      name: 'pad',
    })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false, name: 'conv1', kernelInitializer: init(1) }).apply(x) as tf.SymbolicTensor;
  x = bn('bn1', 10).apply(x) as tf.SymbolicTensor;
  const stem = relu6('relu1').apply(x) as tf.SymbolicTensor;
  let y = tf.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false, name: 'expand', kernelInitializer: init(2) }).apply(stem) as tf.SymbolicTensor;
  y = relu6('expand_relu').apply(bn('expand_bn', 20).apply(y) as tf.SymbolicTensor) as tf.SymbolicTensor;
  y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw', depthwiseInitializer: init(3) }).apply(y) as tf.SymbolicTensor;
  y = relu6('dw_relu').apply(bn('dw_bn', 30).apply(y) as tf.SymbolicTensor) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'project', kernelInitializer: init(4) }).apply(y) as tf.SymbolicTensor;
  y = bn('project_bn', 40).apply(y) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'add' }).apply([stem, y]) as tf.SymbolicTensor;
  const sep = tf.layers
    .separableConv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      name: 'sep',
      depthwiseInitializer: init(5),
      pointwiseInitializer: init(6),
    })
    .apply(add) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([add, sep]) as tf.SymbolicTensor;
  const pool = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(cat) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(pool) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'out', kernelInitializer: init(7) }).apply(gap) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`MobileNetV2-style Layers model: the network computes what tfjs-layers does, and every method runs (${backend})`, async () => {
    await initBackend(backend);
    const model = mobileNetLike();
    const n = net(model);
    const idx = (name: string) => n.layers.findIndex((l) => l.name === name);
    // pad is not listed (it only moves data); SeparableConv2D is its depthwise part and its 1×1 conv
    assert.deepEqual(
      n.layers.map((l) => l.name),
      [
        'conv1',
        'bn1',
        'relu1',
        'expand',
        'expand_bn',
        'expand_relu',
        'dw',
        'dw_bn',
        'dw_relu',
        'project',
        'project_bn',
        'add',
        'sep/depthwise',
        'sep',
        'cat',
        'pool',
        'gap',
        'out',
      ],
    );
    assert.deepEqual(n.ops.map((o) => o.kind).slice(0, 4), ['pad', 'conv2d', 'batchNorm', 'activation']);
    const image = seededImage([12, 12, 3], 4);
    const x = tf.tensor4d(image.data, [1, 12, 12, 3]);

    // every layer's output against tfjs-layers' own predict (the independent reference)
    const names = n.layers.map((l) => l.name).filter((s) => !s.includes('/'));
    const ref = layersReference(model, names);
    const want = tf.tidy(() => (ref.predict(x) as tf.Tensor[]).map((t) => Array.from(t.dataSync())));
    const before = tf.memory().numTensors;
    names.forEach((name, i) => {
      const got = featureMaps(n, idx(name), image).maps.data;
      assert.ok(relError(got, want[i]) < 1e-5, `${name}: relative error ${relError(got, want[i])}`);
    });

    // saliency against tf.grad through the LayersModel's own apply (tfjs-layers' BN, ReLU6, depthwise, Add)
    for (const [name, node] of [
      ['dw_relu', 3],
      ['add', 5],
      ['out', 1],
    ] as const) {
      const g = tf.tidy(() => {
        const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(name).output as tf.SymbolicTensor });
        return Array.from(
          tf
            .grad((v: tf.Tensor) => {
              const y = sub.apply(v, { training: false }) as tf.Tensor;
              return tf.sum(tf.mul(y, tf.oneHot(node, y.shape[y.rank - 1])));
            })(x)
            .dataSync(),
        );
      });
      const got = project(n, idx(name), node, image, 'saliency').projection.data;
      assert.ok(
        g.some((v) => v !== 0),
        `${name}: the reference gradient is zero`,
      );
      assert.ok(relError(got, g) < 1e-4, `${name} saliency: relative error ${relError(got, g)}`);
    }

    // every projection of a depthwise node, a node after the residual Add and one after Concatenate: not blank
    for (const name of ['dw', 'add', 'cat', 'pool']) {
      for (const method of ['deconv', 'deconvNoSwitches', 'guided', 'saliency', 'gradcam'] as const) {
        const r = project(n, idx(name), 2, image, method);
        assert.ok(r.projection.data.every(Number.isFinite), `${method} ${name}`);
        assert.ok(
          r.projection.data.some((v) => v !== 0),
          `${method} of ${name} node 2 is blank`,
        );
      }
    }
    // Grad-CAM's maps: the last conv or merge on every path to the node
    const opName = (layer: string) => n.ops[gradcamOp(n, idx(layer))].name;
    assert.deepEqual([opName('out'), opName('sep'), opName('project_bn'), opName('add')], ['cat', 'sep/depthwise', 'project', 'conv1']);
    const w = layerWeights(n, idx('dw'), 3);
    assert.deepEqual(w.tiles[0][0].shape, [3, 3, 1]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');

    // the scan, the layer table, the top images with their projections, activation maximization
    const count = 6;
    const images = Float32Array.from({ length: count * 432 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
    const ds = memoryDataset(
      images,
      Int32Array.from({ length: count }, (_, i) => i % 2),
      [12, 12, 3],
      ['a', 'b'],
    );
    const table = await layerByClassOfDataset(n, ds, makeJob(), { batchSize: 4 });
    assert.equal(table.layers.length, scanLayers(n).length);
    assert.ok(table.norms[0].every((v) => Number.isFinite(v)));
    const top = await inspectImages(
      n,
      ds,
      idx('dw'),
      1,
      [
        { index: 0, score: 1, label: 0 },
        { index: 3, score: 1, label: 1 },
      ],
      'deconv',
    );
    assert.equal(top.projectionError, undefined);
    assert.ok(top.items.every((it) => it.projection!.data.some((v) => v !== 0)));
    const m = await maximize(n, idx('dw_relu'), 2, { steps: 8, transforms: false, warmup: 8 }, makeJob());
    assert.equal(m.curve.length, 8);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    x.dispose();
    model.dispose();
  });
}

/**
 * A hand-worked deconvolution through padding and a residual block:
 *   x (3×3×1) → ZeroPadding2D(1) → conv 3×3 valid K (K[0][1] = 1, K[2][2] = −1, else 0, no bias) = c
 *   res = Add(c, x); r = ReLU(res)
 * With X = [[1, 2, 0], [0, 1, 3], [2, 0, 1]]: c[i][j] = X[i−1][j] − X[i+1][j+1] (0 outside) =
 * [[−1, −3, 0], [1, 1, 0], [0, 1, 3]], res = [[0, −1, 0], [1, 2, 3], [2, 1, 4]], r = [[0, 0, 0], [1, 2, 3], [2, 1, 4]].
 * Back from r (s = r, already rectified): the Add sends s into both branches. The conv branch is the
 * transposed conv on the 5×5 padded grid, cropped back by 1: T[y][x] = s[y+1][x] − s[y−1][x−1] =
 * [[1, 2, 3], [2, 1, 4], [0, −1, −2]]. The input gets T + s = [[1, 2, 3], [3, 3, 7], [2, 0, 2]].
 * With maxOnly the seed is s[2][2] = 4 alone: T has 4 at (1, 2); with the residual 4 at (2, 2).
 */
test('deconvolution through a residual block and padding matches the hand-worked projection', async () => {
  await initBackend('cpu');
  const input = tf.input({ shape: [3, 3, 1], name: 'x' });
  const padded = tf.layers.zeroPadding2d({ padding: 1, name: 'pad' }).apply(input) as tf.SymbolicTensor;
  const c = tf.layers.conv2d({ filters: 1, kernelSize: 3, useBias: false, name: 'c' }).apply(padded) as tf.SymbolicTensor;
  const res = tf.layers.add({ name: 'res' }).apply([c, input]) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ name: 'r' }).apply(res) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: r });
  model.getLayer('c').setWeights([tf.tensor4d([0, 1, 0, 0, 0, 0, 0, 0, -1], [3, 3, 1, 1])]);
  const n = layersNetwork(model, 'residual.json');
  assert.deepEqual(
    n.layers.map((l) => l.name),
    ['c', 'res', 'r'],
  );
  const image = { shape: [3, 3, 1], data: Float32Array.from([1, 2, 0, 0, 1, 3, 2, 0, 1]) };
  const before = tf.memory().numTensors;
  assert.deepEqual(Array.from(featureMaps(n, 2, image).maps.data), [0, 0, 0, 1, 2, 3, 2, 1, 4]);
  for (const method of ['deconv', 'deconvNoSwitches'] as const) {
    assert.deepEqual(Array.from(project(n, 2, 0, image, method).projection.data), [1, 2, 3, 3, 3, 7, 2, 0, 2]);
    assert.deepEqual(Array.from(project(n, 2, 0, image, method, true).projection.data), [0, 0, 0, 0, 0, 4, 0, 0, 4]);
  }
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  model.dispose();
});

test('the Layers importer names an unknown layer, its class and the file in one line', async () => {
  await initBackend('cpu');
  const model = tf.sequential({ layers: [tf.layers.conv1d({ inputShape: [8, 2], filters: 2, kernelSize: 3, name: 'wave' })] });
  assert.throws(
    () => layersNetwork(model, '/models/m/model.json'),
    (e: unknown) => e instanceof Error && /Conv1D layer wave/.test(e.message) && /\/models\/m\/model\.json/.test(e.message) && !e.message.includes('\n'),
  );
  model.dispose();
});

/**
 * Guided backpropagation and Grad-CAM on a residual net with ReLU6, padding and a depthwise conv, against a
 * forward pass written here with plain tf ops from the layers' weights (none of the code under test):
 *   x [6, 6, 2] → pad (0, 1, 0, 1) → conv 3×3 (4) ReLU6 = c1 → depthwise 3×3 same, ReLU = d → Add(c1, d) = a
 *   → conv 1×1 (3) ReLU = c2 → global average pool → dense (2).
 * Guided: every ReLU (and ReLU6's rectifying half) passes the gradient only where its input and the gradient
 * are positive. Grad-CAM for a node of c2: the maps of the residual Add a (after c1, the last conv every path
 * to c2 passes through, the block's output is on every path too).
 */
for (const backend of ['cpu', 'wasm'] as const) {
  test(`guided backpropagation and Grad-CAM through ReLU6, padding, depthwise and a residual Add match an independent forward (${backend})`, async () => {
    await initBackend(backend);
    const init = (seed: number) => tf.initializers.randomNormal({ seed, mean: 0.1, stddev: 0.6 });
    const input = tf.input({ shape: [6, 6, 2] });
    const p = tf.layers
      .zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: 'p',
      })
      .apply(input) as tf.SymbolicTensor;
    const c1 = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, activation: 'relu6', name: 'c1', kernelInitializer: init(1), biasInitializer: init(2) })
      .apply(p) as tf.SymbolicTensor;
    const d = tf.layers
      .depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', name: 'd', depthwiseInitializer: init(3), biasInitializer: init(4) })
      .apply(c1) as tf.SymbolicTensor;
    const a = tf.layers.add({ name: 'a' }).apply([c1, d]) as tf.SymbolicTensor;
    const c2 = tf.layers
      .conv2d({ filters: 3, kernelSize: 1, activation: 'relu', name: 'c2', kernelInitializer: init(5), biasInitializer: init(6) })
      .apply(a) as tf.SymbolicTensor;
    const g = tf.layers.globalAveragePooling2d({ name: 'g' }).apply(c2) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'out', kernelInitializer: init(7) }).apply(g) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const W = (name: string) => model.getLayer(name).getWeights();
    const guided = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: tf.relu(x),
        gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.cast(tf.greater(s, 0), 'float32'), tf.cast(tf.greater(dy, 0), 'float32'))),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
    const guided6 = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: tf.clipByValue(x, 0, 6),
        gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) =>
          tf.mul(dy, tf.mul(tf.cast(tf.logicalAnd(tf.greater(s, 0), tf.less(s, 6)), 'float32'), tf.cast(tf.greater(dy, 0), 'float32'))),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
    type Acts = { relu: (x: tf.Tensor) => tf.Tensor; relu6: (x: tf.Tensor) => tf.Tensor };
    const plain: Acts = { relu: (v) => tf.relu(v), relu6: (v) => tf.clipByValue(v, 0, 6) };
    const c1Of = (x: tf.Tensor, f = plain) =>
      f.relu6(
        tf.add(
          tf.conv2d(
            tf.pad(x, [
              [0, 0],
              [0, 1],
              [0, 1],
              [0, 0],
            ]) as tf.Tensor4D,
            W('c1')[0] as tf.Tensor4D,
            1,
            'valid',
          ),
          W('c1')[1],
        ),
      );
    const aOf = (m: tf.Tensor, f = plain) => tf.add(m, f.relu(tf.add(tf.depthwiseConv2d(m as tf.Tensor4D, W('d')[0] as tf.Tensor4D, 1, 'same'), W('d')[1])));
    const c2FromA = (am: tf.Tensor, f = plain) => f.relu(tf.add(tf.conv2d(am as tf.Tensor4D, W('c2')[0] as tf.Tensor4D, 1, 'valid'), W('c2')[1]));
    const node = 1;
    const target = (y: tf.Tensor) => tf.sum(tf.slice(y, [0, 0, 0, node], [-1, -1, -1, 1])) as tf.Scalar;
    const image = seededImage([6, 6, 2], 21);
    const x = tf.tensor4d(image.data, [1, 6, 6, 2]);
    const [wantGuided, wantCam] = tf.tidy(() => {
      const g6: Acts = { relu: guided, relu6: guided6 };
      const gb = tf.grad((v: tf.Tensor) => target(c2FromA(aOf(c1Of(v, g6), g6), g6)))(x);
      const maps = aOf(c1Of(x));
      const alpha = tf.mean(tf.grad((m: tf.Tensor) => target(c2FromA(m)))(maps), [1, 2], true);
      const cam = tf.image.resizeBilinear(tf.relu(tf.sum(tf.mul(alpha, maps), 3, true)) as tf.Tensor4D, [6, 6], false, true);
      return [Array.from(gb.dataSync()), Array.from(cam.dataSync())];
    });
    const n = net(model);
    const layer = n.layers.findIndex((l) => l.name === 'c2');
    const before = tf.memory().numTensors;
    const gotGuided = project(n, layer, node, image, 'guided').projection.data;
    const gotCam = project(n, layer, node, image, 'gradcam').projection.data;
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.ok(wantGuided.some((v) => v !== 0) && wantCam.some((v) => v !== 0), 'the references are zero: the check would be empty');
    assert.ok(relError(gotGuided, wantGuided) < 1e-5, `guided: relative error ${relError(gotGuided, wantGuided)}`);
    assert.ok(relError(gotCam, wantCam) < 1e-5, `Grad-CAM: relative error ${relError(gotCam, wantCam)}`);
    x.dispose();
    model.dispose();
  });
}
