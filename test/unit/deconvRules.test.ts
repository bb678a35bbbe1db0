// The deconvnet's backward rules (src/engine/methods/deconv.ts), op kind by op kind, on hand-built networks.
// Without ReLUs and max pooling a deconvolution is the transpose of the network's linear part applied to the
// kept map: Jᵀs, with J measured column by column from forward passes on basis images (biases drop out of J,
// as they are ignored on the way back). The forward pass is checked against PyTorch in forward.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { deconvolve } from '../../src/engine/methods/deconv';
import { forward } from '../../src/engine/models/forward';
import { inspectableLayers, type Activation, type Network, type Op } from '../../src/engine/models/network';
import * as tf from '../../src/engine/runtime/tf';
import { relError } from './inspectRef';

function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 2 - 1;
  });
}

const NONE = {} as Record<string, never>;
type Build = (w: (shape: number[]) => tf.Tensor) => { input: number[]; ops: Omit<Op, 'source'>[]; constants?: [string, tf.Tensor][] };

const CASES: [string, Build][] = [
  [
    'grouped strided conv with asymmetric pads',
    (w) => ({
      input: [7, 6, 4],
      ops: [
        {
          kind: 'conv2d',
          strides: [2, 2],
          dilations: [1, 1],
          pads: [1, 0, 2, 1],
          groups: 2,
          weights: { kernel: w([3, 3, 2, 6]) as tf.Tensor4D, bias: w([6]) as tf.Tensor1D },
          name: 'y',
          inputs: ['x'],
          shape: [4, 4, 6],
        },
      ],
    }),
  ],
  [
    'conv with one input channel per group',
    (w) => ({
      input: [6, 6, 3],
      ops: [
        {
          kind: 'conv2d',
          strides: [1, 1],
          dilations: [1, 1],
          pads: [1, 1, 1, 1],
          groups: 3,
          weights: { kernel: w([3, 3, 1, 6]) as tf.Tensor4D },
          name: 'y',
          inputs: ['x'],
          shape: [6, 6, 6],
        },
      ],
    }),
  ],
  [
    'depthwise conv, strided, padded',
    (w) => ({
      input: [7, 7, 2],
      ops: [
        {
          kind: 'depthwiseConv2d',
          strides: [2, 2],
          dilations: [1, 1],
          pads: [1, 1, 0, 1],
          weights: { kernel: w([3, 3, 2, 2]) as tf.Tensor4D },
          name: 'y',
          inputs: ['x'],
          shape: [4, 3, 4],
        },
      ],
    }),
  ],
  [
    'transposed conv',
    (w) => ({
      input: [3, 3, 2],
      ops: [
        {
          kind: 'convTranspose2d',
          strides: [2, 2],
          pads: [1, 0, 0, 1],
          outputPadding: [1, 0],
          weights: { kernel: w([3, 3, 3, 2]) as tf.Tensor4D },
          name: 'y',
          inputs: ['x'],
          shape: [7, 6, 3],
        },
      ],
    }),
  ],
  [
    'constant pad, then average pooling that leaves the padding out',
    (_w) => ({
      input: [5, 5, 2],
      ops: [
        {
          kind: 'pad',
          pads: [
            [0, 0],
            [1, 0],
            [0, 2],
            [0, 0],
          ],
          mode: 'constant',
          value: 0.3,
          weights: NONE,
          name: 'p',
          inputs: ['x'],
          shape: [6, 7, 2],
        },
        {
          kind: 'avgPool',
          size: [3, 3],
          strides: [2, 2],
          pads: [1, 1, 1, 0],
          countIncludePad: false,
          weights: NONE,
          name: 'y',
          inputs: ['p'],
          shape: [3, 3, 2],
        },
      ],
      constants: [],
    }),
  ],
  [
    'batch norm, global average pooling, dense',
    (w) => ({
      input: [4, 4, 3],
      ops: [
        {
          kind: 'batchNorm',
          epsilon: 1e-3,
          weights: { mean: w([3]) as tf.Tensor1D, variance: tf.abs(w([3])) as tf.Tensor1D, gamma: w([3]) as tf.Tensor1D, beta: w([3]) as tf.Tensor1D },
          name: 'bn',
          inputs: ['x'],
          shape: [4, 4, 3],
        },
        { kind: 'globalAvgPool', keepDims: false, weights: NONE, name: 'g', inputs: ['bn'], shape: [3] },
        { kind: 'dense', weights: { kernel: w([3, 4]) as tf.Tensor2D, bias: w([4]) as tf.Tensor1D }, name: 'y', inputs: ['g'], shape: [4] },
      ],
    }),
  ],
  [
    'residual add: the signal into both branches, summed at the input',
    (w) => ({
      input: [5, 5, 3],
      ops: [
        {
          kind: 'conv2d',
          strides: [1, 1],
          dilations: [1, 1],
          pads: [1, 1, 1, 1],
          groups: 1,
          weights: { kernel: w([3, 3, 3, 3]) as tf.Tensor4D },
          name: 'c',
          inputs: ['x'],
          shape: [5, 5, 3],
        },
        { kind: 'add', weights: NONE, name: 'y', inputs: ['c', 'x'], shape: [5, 5, 3] },
      ],
    }),
  ],
  [
    'sub and mul by a constant',
    (w) => ({
      input: [4, 4, 2],
      ops: [
        {
          kind: 'depthwiseConv2d',
          strides: [1, 1],
          dilations: [1, 1],
          pads: [0, 0, 0, 0],
          weights: { kernel: w([1, 1, 2, 1]) as tf.Tensor4D },
          name: 'd',
          inputs: ['x'],
          shape: [4, 4, 2],
        },
        { kind: 'sub', weights: NONE, name: 's', inputs: ['x', 'd'], shape: [4, 4, 2] },
        { kind: 'mul', weights: NONE, name: 'y', inputs: ['s', 'k'], shape: [4, 4, 2] },
      ],
      constants: [['k', w([1, 1, 1, 2])]],
    }),
  ],
  [
    'concat: split per input',
    (w) => ({
      input: [4, 4, 2],
      ops: [
        {
          kind: 'conv2d',
          strides: [1, 1],
          dilations: [1, 1],
          pads: [0, 0, 0, 0],
          groups: 1,
          weights: { kernel: w([1, 1, 2, 3]) as tf.Tensor4D },
          name: 'c',
          inputs: ['x'],
          shape: [4, 4, 3],
        },
        { kind: 'concat', axis: -1, weights: NONE, name: 'cat', inputs: ['x', 'c'], shape: [4, 4, 5] },
        {
          kind: 'conv2d',
          strides: [1, 1],
          dilations: [1, 1],
          pads: [1, 1, 1, 1],
          groups: 1,
          weights: { kernel: w([3, 3, 5, 2]) as tf.Tensor4D },
          name: 'y',
          inputs: ['cat'],
          shape: [4, 4, 2],
        },
      ],
    }),
  ],
  [
    'resize',
    (w) => ({
      input: [3, 3, 2],
      ops: [
        { kind: 'resize', size: [5, 6], method: 'bilinear', alignCorners: false, weights: NONE, name: 'r', inputs: ['x'], shape: [5, 6, 2] },
        { kind: 'mul', weights: NONE, name: 'y', inputs: ['r', 'k'], shape: [5, 6, 2] },
      ],
      constants: [['k', w([1, 1, 1, 2])]],
    }),
  ],
  [
    'resize nearest and with aligned corners',
    (w) => ({
      input: [3, 4, 2],
      ops: [
        { kind: 'resize', size: [6, 8], method: 'nearest', alignCorners: false, weights: NONE, name: 'n', inputs: ['x'], shape: [6, 8, 2] },
        { kind: 'resize', size: [7, 9], method: 'bilinear', alignCorners: true, weights: NONE, name: 'r', inputs: ['n'], shape: [7, 9, 2] },
        { kind: 'mul', weights: NONE, name: 'y', inputs: ['r', 'k'], shape: [7, 9, 2] },
      ],
      constants: [['k', w([1, 1, 1, 2])]],
    }),
  ],
  [
    'mean reduction, transpose, channels-first flatten',
    (w) => ({
      input: [5, 6, 2],
      ops: [
        { kind: 'reduceMean', axes: [1], keepDims: true, weights: NONE, name: 'm', inputs: ['x'], shape: [1, 6, 2] },
        { kind: 'transpose', perm: [0, 2, 1, 3], weights: NONE, name: 't', inputs: ['m'], shape: [6, 1, 2] },
        { kind: 'flatten', order: 'nchw', weights: NONE, name: 'f', inputs: ['t'], shape: [12] },
        { kind: 'dense', weights: { kernel: w([12, 3]) as tf.Tensor2D }, name: 'y', inputs: ['f'], shape: [3] },
      ],
    }),
  ],
];

for (const backend of ['cpu', 'wasm'] as const) {
  test(`every linear backward rule is the transpose of its op (${backend})`, async () => {
    await initBackend(backend);
    CASES.forEach(([name, build], ci) => {
      let seed = 1000 * ci + 3;
      const made: tf.Tensor[] = [];
      const w = (shape: number[]) => {
        const t = tf.tensor(
          values(
            shape.reduce((a, b) => a * b, 1),
            seed++,
          ),
          shape,
        );
        made.push(t);
        return t;
      };
      const b = build(w);
      const ops = b.ops.map((o) => ({ ...o, source: o.kind })) as Op[];
      const net: Network = {
        name,
        format: 'onnx',
        path: 'test',
        input: { name: 'x', shape: b.input },
        ops,
        constants: new Map(b.constants ?? []),
        output: 'y',
        layers: inspectableLayers(ops),
        dispose() {},
      };
      const layer = net.layers.findIndex((l) => l.name === 'y');
      const n = b.input.reduce((a, c) => a * c, 1);
      const image = values(n, 77 + ci);
      const node = 1;
      const want = tf.tidy(() => {
        const last = ops.length - 1;
        const out = forward(net, tf.tensor(image, [1, ...b.input]))[last];
        const s = tf.mul(out, tf.oneHot(node, out.shape[out.rank - 1])).dataSync();
        // columns of J from forward passes on scaled basis images (the map is affine: f(c·e_i) − f(0) = c·J e_i)
        const basis = tf.reshape(tf.concat([tf.mul(tf.eye(n), 100), tf.zeros([1, n])]), [n + 1, ...b.input]);
        const f = tf.reshape(forward(net, basis)[last], [n + 1, -1]).arraySync() as number[][];
        return Array.from({ length: n }, (_, i) => f[i].reduce((a, v, o) => a + s[o] * (v - f[n][o]), 0) / 100);
      });
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => Array.from(deconvolve(net, layer, node, tf.tensor(image, [1, ...b.input]), { switches: true, maxOnly: false }).dataSync()));
      assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
      assert.ok(
        want.some((v) => Math.abs(v) > 1e-3),
        `${name}: the reference is zero`,
      );
      const err = relError(got, want);
      assert.ok(err < 1e-4, `${name}: relative error ${err}`);
      tf.dispose(made);
    });
  });
}

test('ReLU6 and leaky ReLU rectify the backward signal; a dilated conv is refused by name', async () => {
  await initBackend('cpu');
  const mk = (activation: Activation): Network => {
    const ops = [{ kind: 'activation', activation, weights: NONE, name: 'y', inputs: ['x'], shape: [2, 2, 1], source: 'ReLU6' }] as Op[];
    return {
      name: 'a',
      format: 'onnx',
      path: 'test',
      input: { name: 'x', shape: [2, 2, 1] },
      ops,
      constants: new Map(),
      output: 'y',
      layers: inspectableLayers(ops),
      dispose() {},
    };
  };
  const x = tf.tensor([-1, 3, 8, -2], [1, 2, 2, 1]);
  for (const a of [{ fn: 'clip', min: 0, max: 6 } as const, { fn: 'leakyRelu', alpha: 0.1 } as const]) {
    const out = Array.from(deconvolve(mk(a), 0, 0, x, { switches: true, maxOnly: false }).dataSync());
    // the kept map is the forward output; only its positive values go back
    const fwd = a.fn === 'clip' ? [0, 3, 6, 0] : [0, 3, 8, 0];
    assert.deepEqual(
      out.map((v) => Math.round(v * 1e6) / 1e6),
      fwd,
      a.fn,
    );
  }
  const k = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
  const ops = [
    {
      kind: 'conv2d',
      strides: [1, 1],
      dilations: [2, 2],
      pads: [0, 0, 0, 0],
      groups: 1,
      weights: { kernel: k },
      name: 'features.3',
      inputs: ['x'],
      shape: [1, 1, 1],
      source: 'Conv',
    },
  ] as Op[];
  const dil: Network = {
    name: 'd',
    format: 'onnx',
    path: 'test',
    input: { name: 'x', shape: [5, 5, 1] },
    ops,
    constants: new Map(),
    output: 'features.3',
    layers: inspectableLayers(ops),
    dispose() {},
  };
  assert.throws(
    () => deconvolve(dil, 0, 0, tf.zeros([1, 5, 5, 1]), { switches: true, maxOnly: false }),
    /Deconvolution cannot pass through Conv features\.3: it is dilated/,
  );
  tf.dispose([x, k]);
});
