// The native forward path (src/engine/native): the Network exported to ONNX and run by onnxruntime-node gives
// every op's output as the tfjs path does, for hand-built networks covering every op kind; the scan's scores
// from native outputs equal scores computed from the tfjs outputs; networks that do not export fall back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { initBackend } from '../../src/engine/runtime/backend';
import { forward } from '../../src/engine/models/forward';
import { loadOnnx } from '../../src/engine/models/onnx';
import { loadModel } from '../../src/engine/models/modelIO';
import type { Network } from '../../src/engine/models/network';
import { exportOnnx, NativeExportError } from '../../src/engine/native/exportOnnx';
import { nativeFeatureMaps } from '../../src/engine/native/featureMaps';
import { forwardLayers, forwardStatus, nativeForward, tfjsForwardLayers } from '../../src/engine/native/forwardLayers';
import { nativeBatchScores, ScoreBuffers, type NativeScanLayer } from '../../src/engine/native/nativeScores';
import { nativeRuntime, nativeSession, releaseNativeSessions, runNative } from '../../src/engine/native/runtime';
import * as tf from '../../src/engine/runtime/tf';
import { convNet, graphNet, NetBuilder, referenceForward, testForward } from './nativeNets';
import { KERAS_DIR, kerasFixtures } from './kerasFixtures';
import { values } from './numbers';

before(async () => {
  await initBackend('cpu');
});
after(async () => {
  await releaseNativeSessions();
});

/**
 * `got` equals `want` within 1e-4 of want's range (max − min; the largest magnitude for a near-constant output):
 * the agreement criterion.
 */
function assertAgree(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, the reference has ${want.length}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of want) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const tol = 1e-4 * Math.max(hi - lo, Math.abs(lo), Math.abs(hi), 1e-3);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${what}: differs by ${worst} at ${at} (native ${got[at]}, tfjs ${want[at]}), tolerance ${tol}`);
}

function images(net: Network, count: number, seed: number): Float32Array {
  return values(count * net.input.shape.reduce((a, b) => a * b, 1), seed);
}

/** Every op's output from the reference pass, in NHWC or NCHW (rank-4 values). */
function reference(net: Network, x: Float32Array, count: number, layout: 'nhwc' | 'nchw'): Float32Array[] {
  return tf.tidy(() =>
    referenceForward(net, tf.tensor(x, [count, ...net.input.shape])).map(
      (t) => (layout === 'nchw' && t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t).dataSync() as Float32Array,
    ),
  );
}

const none = {} as Record<string, never>;

const nets: [string, () => Network][] = [
  ['convolutions, pools, batch norm, pads, resizes', convNet],
  ['elementwise ops with constants, concat, activations, reductions, reshapes, dense, matMul', graphNet],
];

for (const [what, make] of nets) {
  for (const layout of ['nhwc', 'nchw'] as const) {
    test(`every op's output agrees with tfjs (${what}; ${layout} outputs)`, async (t) => {
      if (!nativeRuntime().ok) return t.skip(`onnxruntime-node unavailable: ${(nativeRuntime() as { why: string }).why}`);
      const net = make();
      try {
        const exported = exportOnnx(net, { outputs: net.ops.map((op) => op.name), layout });
        const session = await nativeSession(exported.bytes, exported.input, exported.outputs, net.input.shape);
        const x = images(net, 3, 11);
        const got = await runNative(session, x, 3);
        const want = reference(net, x, 3, layout);
        assert.equal(got.length, net.ops.length);
        net.ops.forEach((op, i) => assertAgree(got[i], want[i], `${net.name}: op ${op.name} (${op.kind})`));
      } finally {
        net.dispose();
      }
    });
  }
}

test('op kinds covered by the test networks: every kind of network.ts', () => {
  const kinds = new Set<string>();
  for (const [, make] of nets) {
    const net = make();
    net.ops.forEach((op) => kinds.add(op.kind));
    net.dispose();
  }
  // The OpSpec union's kinds, listed so a new kind fails here until the test networks use it.
  const all = [
    'conv2d',
    'depthwiseConv2d',
    'convTranspose2d',
    'dense',
    'matMul',
    'activation',
    'prelu',
    'maxPool',
    'avgPool',
    'globalAvgPool',
    'globalMaxPool',
    'batchNorm',
    'pad',
    'add',
    'sub',
    'mul',
    'div',
    'max',
    'min',
    'concat',
    'reduceMean',
    'reduceMax',
    'reduceSum',
    'flatten',
    'reshape',
    'transpose',
    'identity',
    'resize',
  ];
  assert.deepEqual(
    all.filter((k) => !kinds.has(k)),
    [],
  );
});

test('forwardLayers runs natively, one batch or image at a time, and reports the path', async (t) => {
  if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
  const net = convNet();
  try {
    const ops = net.layers.map((l) => l.op);
    for (const count of [1, 4]) {
      const x = images(net, count, 5 + count);
      const r = await forwardLayers(net, x, count, ops, testForward, { purpose: 'feature maps' });
      assert.equal(r.path, 'onnxruntime');
      const want = reference(net, x, count, 'nhwc');
      ops.forEach((op, i) => assertAgree(r.outputs[i], want[op], `layer ${net.ops[op].name}, batch ${count}`));
    }
    const s = forwardStatus();
    assert.equal(s.forward, 'onnxruntime');
    assert.match(s.forwardNote, /feature maps: onnxruntime/);
  } finally {
    net.dispose();
  }
});

test('weights set again on the same Network object get a new session (a retrained model is not run with its old weights)', async (t) => {
  if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
  const net = convNet();
  try {
    const ops = net.layers.map((l) => l.op);
    const x = images(net, 2, 8);
    await nativeForward(net, x, 2, ops);
    const conv = net.ops[0] as Extract<Network['ops'][number], { kind: 'conv2d' }>;
    const old = conv.weights.kernel;
    conv.weights.kernel = tf.mul(old, -1.5) as tf.Tensor4D;
    old.dispose();
    const got = (await nativeForward(net, x, 2, ops))!;
    const want = reference(net, x, 2, 'nhwc');
    ops.forEach((op, i) => assertAgree(got[i], want[op], `layer ${net.ops[op].name} after new weights`));
  } finally {
    net.dispose();
  }
});

test("feature maps natively: the layer's maps, their range and the model output as the tfjs path gives them", async (t) => {
  if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
  const net = graphNet();
  try {
    const data = images(net, 1, 31);
    const want = reference(net, data, 1, 'nhwc');
    const out = net.ops.findIndex((op) => op.name === net.output);
    for (const layer of [0, 5, net.layers.length - 1]) {
      const r = await nativeFeatureMaps(net, layer, { shape: [...net.input.shape], data });
      assert.ok(r, 'computed natively');
      const op = net.layers[layer].op;
      assert.deepEqual(r.maps.shape, net.ops[op].shape);
      assertAgree(r.maps.data, want[op], `maps of layer ${layer}`);
      assert.ok(Math.abs(r.min - Math.min(...want[op])) <= 1e-5 && Math.abs(r.max - Math.max(...want[op])) <= 1e-5, 'range');
      assertAgree(r.output, want[out], 'model output');
    }
    await assert.rejects(nativeFeatureMaps(net, 0, { shape: [5, 6, 4], data }), /expects \[6, 5, 4\]/);
    await assert.rejects(nativeFeatureMaps(net, net.layers.length, { shape: [...net.input.shape], data }), /out of range/);
  } finally {
    net.dispose();
  }
});

test('a network with an op the exporter has no rule for runs on tfjs, with the reason in the status', async () => {
  const b = new NetBuilder('unexportable', [6, 4]);
  // A channels-first flatten of a rank-3 value: no NCHW meaning, so no export rule.
  const f = b.add('flat', ['x'], { kind: 'flatten', order: 'nchw', weights: {} as Record<string, never> });
  b.add('fc', [f], { kind: 'dense', activation: { fn: 'relu' }, weights: { kernel: b.rand([24, 5]) as tf.Tensor2D } });
  const net = b.build();
  try {
    assert.throws(() => exportOnnx(net), NativeExportError);
    const x = images(net, 2, 3);
    assert.equal(await nativeForward(net, x, 2, [1]), null);
    const r = await forwardLayers(net, x, 2, [1], testForward, { purpose: 'scan' });
    assert.equal(r.path, 'tfjs');
    assertAgree(r.outputs[0], reference(net, x, 2, 'nhwc')[1], 'fc on the fallback');
    const s = forwardStatus();
    assert.match(s.forwardNote, /scan: tfjs/);
    assert.match(s.forwardNote, /unexportable on tfjs \(.*flat/);
  } finally {
    net.dispose();
  }
});

/** The native scan scores of every layer of `net` against brute force over the tfjs reference outputs. */
async function assertNativeScores(net: Network): Promise<void> {
  try {
    const count = 5;
    const x = images(net, count, 21);
    const outs = reference(net, x, count, 'nhwc');
    await assertScoresOf(net, x, count, (op) => outs[op]);
  } finally {
    net.dispose();
  }
}

/** The native scan scores of every layer of `net` on `x` against brute force over `outs` (op → NHWC values). */
async function assertScoresOf(net: Network, x: Float32Array, count: number, outs: (op: number) => Float32Array): Promise<void> {
  {
    let offset = 0;
    const layers: NativeScanLayer[] = net.layers.map((l) => {
      const positions = l.shape.length === 3 ? l.shape[0] * l.shape[1] : 1;
      const s = { op: l.op, offset, nodes: l.nodes, positions };
      offset += l.nodes;
      return s;
    });
    const N = offset;
    const buffers = new ScoreBuffers();
    const got = await nativeBatchScores(net, layers, x, count, buffers);
    assert.ok(got, 'scored natively');
    for (const l of layers) {
      const a = outs(l.op);
      for (let r = 0; r < count; r++) {
        for (let i = 0; i < l.nodes; i++) {
          // The node's map read from the NHWC reference: position s of node i at (r · P + s) · nodes + i.
          let sq = 0;
          let sum = 0;
          let best = -Infinity;
          let where = -1;
          for (let s = 0; s < l.positions; s++) {
            const v = a[(r * l.positions + s) * l.nodes + i];
            sq += v * v;
            sum += v;
            if (v > best) [best, where] = [v, s];
          }
          const k = r * N + l.offset + i;
          const name = `${net.ops[l.op].name} image ${r} node ${i}`;
          assert.ok(
            Math.abs(got.frobenius[k] - Math.sqrt(sq)) <= 1e-4 * Math.max(1, Math.sqrt(sq)),
            `${name}: frobenius ${got.frobenius[k]} vs ${Math.sqrt(sq)}`,
          );
          assert.ok(Math.abs(got.max[k] - best) <= 1e-4 * Math.max(1, Math.abs(best)), `${name}: max`);
          assert.ok(Math.abs(got.mean[k] - sum / l.positions) <= 1e-4 * Math.max(1, Math.abs(sum / l.positions)), `${name}: mean`);
          // The position where the reference's maximum lies (ties within rounding: the value there is the max).
          const at = got.argmax[k];
          assert.ok(
            at >= 0 && at < l.positions && Math.abs(a[(r * l.positions + at) * l.nodes + i] - best) <= 1e-4 * Math.max(1, Math.abs(best)),
            `${name}: argmax ${at} vs ${where}`,
          );
        }
      }
    }
  }
}

test('native scan scores equal the scores of the tfjs outputs (Frobenius, max with its position, mean)', async (t) => {
  if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
  await assertNativeScores(convNet());
});

/**
 * Batch norms and activations after a scored value, as in conv → BN → ReLU6 chains: their scores are derived from
 * the input's (exportOnnxScores.ts). The clip saturates (many tied maxima), a ReLU sees all-negative maps, one
 * batch norm has negative scales and one is on a dense layer.
 */
function activationChainNet(gamma3 = -1.1): Network {
  const b = new NetBuilder('activations', [6, 7, 3]);
  let v = b.add('conv', ['x'], {
    kind: 'conv2d',
    strides: [1, 1],
    dilations: [1, 1],
    pads: [1, 1, 1, 1],
    groups: 1,
    weights: { kernel: b.rand([3, 3, 3, 5]) as tf.Tensor4D, bias: tf.tensor1d([0, 0.3, -0.2, -9, 0.1]) },
  });
  v = b.add('bnMixed', [v], {
    kind: 'batchNorm',
    epsilon: 1e-3,
    weights: {
      mean: tf.tensor1d([0.1, -0.2, 0.3, 0, 0.05]),
      variance: tf.tensor1d([0.5, 1.5, 0.2, 1, 2]),
      gamma: tf.tensor1d([1.2, -0.7, 0.4, gamma3, 0.9]),
      beta: tf.tensor1d([0.1, 0.2, -0.3, 0, 0.4]),
    },
  });
  v = b.add('relu', [v], { kind: 'activation', activation: { fn: 'relu' }, weights: none });
  v = b.add('clip', [v], { kind: 'activation', activation: { fn: 'clip', min: 0.05, max: 0.2 }, weights: none });
  v = b.add('leaky', [v], { kind: 'activation', activation: { fn: 'leakyRelu', alpha: 0.2 }, weights: none });
  v = b.add('tanh', [v], { kind: 'activation', activation: { fn: 'tanh' }, weights: none });
  v = b.add('gap', [v], { kind: 'globalAvgPool', keepDims: false, weights: none });
  v = b.add('dense', [v], { kind: 'dense', weights: { kernel: b.rand([5, 4]) as tf.Tensor2D } });
  v = b.add('bnDense', [v], {
    kind: 'batchNorm',
    epsilon: 1e-5,
    weights: { mean: tf.tensor1d([0.2, -0.1, 0, 0.4]), variance: tf.tensor1d([0.3, 1, 2, 0.7]), beta: tf.tensor1d([0.5, -0.5, 0, 0.1]) },
  });
  b.add('denseRelu', [v], { kind: 'activation', activation: { fn: 'relu' }, weights: none });
  return b.build();
}

for (const [what, gamma3] of [
  ['negative scales', -1.1],
  ['a zero scale', 0],
] as const) {
  test(`native scan scores derived from the input (batch norm, ReLU, clip with ties, leaky ReLU) equal brute force: ${what}`, async (t) => {
    if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
    const net = activationChainNet(gamma3);
    // The derivations are taken: a TopK for the maxima of conv, tanh, gap and dense, and for the minima under the
    // batch norm with negative scales; a sum of squares for every layer but the two batch norms.
    const exported = exportOnnx(net, { outputs: net.layers.map((l) => net.ops[l.op].name), layout: 'nchw', scores: true });
    const count = (type: string) => onnx.ModelProto.decode(exported.bytes).graph!.node!.filter((n) => n.opType === type).length;
    assert.equal(net.layers.length, 10);
    assert.equal(count('TopK'), 5);
    assert.equal(count('ReduceSum'), 8);
    assert.equal(count('BatchNormalization'), 2);
    await assertNativeScores(net);
  });
}

/** conv → batch norm with negative scales → a second batch norm (scale `g2`, running mean `mu2`, variance `var2`). */
function batchNormPairNet(g2: number, mu2: number, var2: number): Network {
  const b = new NetBuilder('batch norms', [5, 6, 2]);
  let v = b.add('conv', ['x'], {
    kind: 'conv2d',
    strides: [1, 1],
    dilations: [1, 1],
    pads: [1, 1, 1, 1],
    groups: 1,
    weights: { kernel: b.rand([3, 3, 2, 3]) as tf.Tensor4D, bias: tf.tensor1d([0.2, -0.1, 0.3]) },
  });
  const bn = (name: string, gamma: number[], mean: number, variance: number) =>
    b.add(name, [v], {
      kind: 'batchNorm',
      epsilon: 1e-3,
      weights: {
        mean: tf.fill([3], mean) as tf.Tensor1D,
        variance: tf.fill([3], variance) as tf.Tensor1D,
        gamma: tf.tensor1d(gamma),
        beta: tf.tensor1d([0.1, 0, -0.2]),
      },
    });
  v = bn('bn1', [0.8, -1.3, 0.5], 0.05, 0.9);
  bn('bn2', [g2, 1, 0.7], mu2, var2);
  return b.build();
}

for (const [what, g2, mu2, var2, passes] of [
  ['the second derived from the first', 1.1, 0.1, 1, 1],
  ['a negative scale after a derived batch norm: a pass over its maps', -1.1, 0.1, 1, 2],
  ['a running mean far from zero against its spread (Σy² would cancel): a pass over its maps', 1.1, 50, 0.01, 2],
] as const) {
  test(`native scan scores of a batch norm after a batch norm equal brute force: ${what}`, async (t) => {
    if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
    const net = batchNormPairNet(g2, mu2, var2);
    const exported = exportOnnx(net, { outputs: net.layers.map((l) => net.ops[l.op].name), layout: 'nchw', scores: true });
    const sums = onnx.ModelProto.decode(exported.bytes).graph!.node!.filter((n) => n.opType === 'ReduceSum').length;
    assert.equal(sums, passes);
    await assertNativeScores(net);
  });
}

// A Keras model (batch norms, activations and a separable block as layers of their own, as Keras writes them):
// the scan's scores derived in the graph against brute force over the tfjs outputs.
test('Keras blocks.keras: native scan scores of every layer equal brute force over the tfjs outputs', async (t) => {
  if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
  const why = kerasFixtures();
  assert.equal(why, undefined, why);
  const { network: net } = await loadModel(path.join(KERAS_DIR, 'blocks.keras'));
  try {
    assert.ok(
      ['batchNorm', 'activation'].every((k) => net.layers.some((l) => net.ops[l.op].kind === k)),
      'the model has batch norms and activations',
    );
    const x = images(net, 3, 5);
    const ops = net.layers.map((l) => l.op);
    const want = await tfjsForwardLayers(net, x, 3, ops, 'nhwc', forward);
    await assertScoresOf(net, x, 3, (op) => want[ops.indexOf(op)]);
  } finally {
    net.dispose();
    await releaseNativeSessions();
  }
});

// The zoo (scripts/make-zoo.py: ResNet-18, MobileNetV2, SqueezeNet, VGG-11, AlexNet, the digits CNN, op tests), imported
// by the ONNX importer: every layer's output natively and on the tfjs path (models/forward.ts), 2 images.
const ZOO = process.env.FEATURE_LENS_ZOO_DIR ?? path.join(__dirname, '..', 'fixtures', 'zoo');
const zooModels = fs.existsSync(ZOO)
  ? fs
      .readdirSync(ZOO)
      .filter((f) => f.endsWith('.onnx'))
      .sort()
  : [];
test(
  'zoo fixtures present (scripts/make-zoo.py)',
  { skip: zooModels.length === 0 && `no ${ZOO}: run python3 scripts/make-zoo.py (scripts/test.mjs does)` },
  () => {},
);
for (const file of zooModels) {
  // VGG-11's tfjs reference on the cpu backend takes minutes: left to the bench-sized runs.
  const big = fs.statSync(path.join(ZOO, file)).size > 300e6;
  test(
    `zoo ${file}: every layer's output and its scan scores agree natively and on tfjs`,
    { skip: big && 'over 300 MB: the cpu-backend reference takes minutes' },
    async (t) => {
      if (!nativeRuntime().ok) return t.skip('onnxruntime-node unavailable');
      const net = await loadOnnx(path.join(ZOO, file));
      try {
        const x = images(net, 2, 3);
        const ops = net.layers.map((l) => l.op);
        const got = await nativeForward(net, x, 2, ops);
        // A declined network runs on tfjs (correct, only slower): reported as a todo, not hidden.
        if (!got) return t.todo(`${file} declined natively: ${forwardStatus().forwardNote}`);
        const want = await tfjsForwardLayers(net, x, 2, ops, 'nhwc', forward);
        ops.forEach((op, i) => assertAgree(got[i], want[i], `${file}: layer ${net.ops[op].name} (${net.ops[op].kind})`));
        // The scan's scores computed in the graph (batch norms and activations derived, convolutions folded with
        // their batch norms: exportOnnxScores.ts) against brute force over the tfjs outputs.
        await assertScoresOf(net, x, 2, (op) => want[ops.indexOf(op)]);
      } finally {
        net.dispose();
        await releaseNativeSessions();
      }
    },
  );
}
