// Hand-built Networks covering every op kind of models/network.ts, and an independent tfjs forward pass of
// them (one rule per op kind, written from the contract in network.ts), for the native-path tests.
import type { Activation, Network, Op, OpSpec } from '../../src/engine/models/network';
import * as tf from '../../src/engine/runtime/tf';
import { values } from './numbers';

type Pads = [number, number, number, number];

/** A tensor of deterministic values in [-scale, scale). */
export function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    values(n, seed).map((v) => v * scale),
    shape,
  );
}

/** Builds a Network op by op; `shape` of each op is taken from the reference forward pass of one image. */
export class NetBuilder {
  readonly ops: Op[] = [];
  readonly constants = new Map<string, tf.Tensor>();
  private seed = 1;
  constructor(
    readonly name: string,
    readonly inputShape: number[],
  ) {}
  rand(shape: number[], scale = 0.5): tf.Tensor {
    return rand(shape, this.seed++ * 7919, scale);
  }
  constant(name: string, t: tf.Tensor): string {
    this.constants.set(name, t);
    return name;
  }
  add(name: string, inputs: string[], spec: OpSpec): string {
    // A reshape's target shape is its output shape (the contract's `shape`); other ops' come from the reference pass.
    this.ops.push({ shape: [], ...spec, name, inputs, source: spec.kind } as Op);
    return name;
  }
  build(): Network {
    const net: Network = {
      name: this.name,
      format: 'onnx',
      path: `/test/${this.name}`,
      input: { name: 'x', shape: this.inputShape },
      ops: this.ops,
      constants: this.constants,
      output: this.ops[this.ops.length - 1].name,
      layers: [],
      dispose: () => {
        for (const op of this.ops) tf.dispose(Object.values(op.weights) as tf.Tensor[]);
        tf.dispose([...this.constants.values()]);
      },
    };
    // Shapes from the reference pass; layers: rank-2/4 outputs of ops that compute.
    const outs = tf.tidy(() => referenceForward(net, tf.zeros([1, ...this.inputShape])).map((t) => t.shape.slice(1)));
    net.ops.forEach((op, i) => (op.shape = outs[i]));
    net.layers = net.ops
      .map((op, i) => ({ op, i }))
      .filter(({ op }) => (op.shape.length === 1 || op.shape.length === 3) && !['flatten', 'reshape', 'transpose', 'identity'].includes(op.kind))
      .map(({ op, i }) => ({ op: i, name: op.name, kind: 'other' as never, shape: op.shape, nodes: op.shape[op.shape.length - 1] }));
    return net;
  }
}

export function applyActivation(x: tf.Tensor, a: Activation | undefined): tf.Tensor {
  if (!a) return x;
  switch (a.fn) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'hardSwish':
      return tf.div(tf.mul(x, tf.clipByValue(tf.add(x, 3), 0, 6)), 6);
    case 'softplus':
      return tf.softplus(x);
    case 'softsign':
      return tf.div(x, tf.add(tf.abs(x), 1));
    case 'elu':
      return tf.elu(x);
    case 'selu':
      return tf.selu(x);
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
    case 'exp':
      return tf.exp(x);
    case 'clip':
      return tf.clipByValue(x, a.min, a.max);
    case 'leakyRelu':
      return tf.leakyRelu(x, a.alpha);
    case 'hardSigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, a.alpha), a.beta), 0, 1);
    case 'softmax':
    case 'logSoftmax': {
      const shifted = tf.sub(x, tf.max(x, a.axis, true));
      const lse = tf.log(tf.sum(tf.exp(shifted), a.axis, true));
      return a.fn === 'softmax' ? tf.exp(tf.sub(shifted, lse)) : tf.sub(shifted, lse);
    }
  }
}

const spatialPad = (p: Pads): [number, number][] => [
  [0, 0],
  [p[0], p[1]],
  [p[2], p[3]],
  [0, 0],
];

/** Edge padding: each axis extended by repeating its first and last slices. */
function edgePad(x: tf.Tensor, pads: [number, number][]): tf.Tensor {
  let y = x;
  pads.forEach(([before, after], axis) => {
    const n = y.shape[axis];
    const idx = [...Array(before).fill(0), ...Array.from({ length: n }, (_, i) => i), ...Array(after).fill(n - 1)];
    if (before || after) y = tf.gather(y, idx, axis);
  });
  return y;
}

/** The reference forward pass: every op's output, by op index (call inside tf.tidy). */
export function referenceForward(net: Network, x: tf.Tensor): tf.Tensor[] {
  const vals = new Map<string, tf.Tensor>([[net.input.name, x]]);
  const get = (n: string) => vals.get(n) ?? net.constants.get(n)!;
  const out: tf.Tensor[] = [];
  for (const op of net.ops) {
    const a = get(op.inputs[0]);
    let y: tf.Tensor;
    switch (op.kind) {
      case 'conv2d': {
        const xp = tf.pad(a, spatialPad(op.pads)) as tf.Tensor4D;
        const k = op.weights.kernel;
        const g = op.groups;
        const xs = g === 1 ? [xp] : tf.split(xp, g, 3);
        const ks = g === 1 ? [k] : tf.split(k, g, 3);
        const ys = xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, ks[i] as tf.Tensor4D, op.strides, 'valid', 'NHWC', op.dilations));
        y = ys.length === 1 ? ys[0] : tf.concat(ys, 3);
        if (op.weights.bias) y = tf.add(y, op.weights.bias);
        y = applyActivation(y, op.activation);
        break;
      }
      case 'depthwiseConv2d':
        y = tf.depthwiseConv2d(tf.pad(a, spatialPad(op.pads)) as tf.Tensor4D, op.weights.kernel, op.strides, 'valid', 'NHWC', op.dilations);
        if (op.weights.bias) y = tf.add(y, op.weights.bias);
        y = applyActivation(y, op.activation);
        break;
      case 'convTranspose2d': {
        // Full transposed conv, then output padding at the end, then the pads cropped.
        const [b, h, w] = a.shape;
        const [kh, kw, cout] = op.weights.kernel.shape;
        const [sh, sw] = op.strides;
        const full = tf.conv2dTranspose(a as tf.Tensor4D, op.weights.kernel, [b, sh * (h - 1) + kh, sw * (w - 1) + kw, cout], op.strides, 'valid');
        const [t, bo, l, r] = op.pads;
        const padded = tf.pad(full, [
          [0, 0],
          [0, op.outputPadding[0]],
          [0, op.outputPadding[1]],
          [0, 0],
        ]);
        y = tf.slice(padded, [0, t, l, 0], [b, padded.shape[1]! - t - bo, padded.shape[2]! - l - r, cout]);
        if (op.weights.bias) y = tf.add(y, op.weights.bias);
        y = applyActivation(y, op.activation);
        break;
      }
      case 'dense': {
        const kin = op.weights.kernel.shape[0];
        const flat = tf.reshape(a, [-1, kin]);
        y = tf.reshape(tf.matMul(flat, op.weights.kernel), [...a.shape.slice(0, -1), op.weights.kernel.shape[1]]);
        if (op.weights.bias) y = tf.add(y, op.weights.bias);
        y = applyActivation(y, op.activation);
        break;
      }
      case 'matMul':
        y = tf.matMul(a, get(op.inputs[1]));
        break;
      case 'activation':
        y = applyActivation(a, op.activation);
        break;
      case 'prelu':
        y = tf.prelu(a, op.weights.alpha);
        break;
      case 'maxPool':
        y = tf.maxPool(tf.pad(a, spatialPad(op.pads), -1e30) as tf.Tensor4D, op.size, op.strides, 'valid');
        break;
      case 'avgPool': {
        const pool = (t: tf.Tensor) => tf.avgPool(tf.pad(t, spatialPad(op.pads)) as tf.Tensor4D, op.size, op.strides, 'valid');
        y = op.countIncludePad ? pool(a) : tf.div(pool(a), pool(tf.onesLike(a)));
        break;
      }
      case 'globalAvgPool':
        y = tf.mean(a, [1, 2], op.keepDims);
        break;
      case 'globalMaxPool':
        y = tf.max(a, [1, 2], op.keepDims);
        break;
      case 'batchNorm':
        y = tf.batchNorm(a, op.weights.mean, op.weights.variance, op.weights.beta, op.weights.gamma, op.epsilon);
        break;
      case 'pad':
        y = op.mode === 'constant' ? tf.pad(a, op.pads, op.value) : op.mode === 'reflect' ? tf.mirrorPad(a, op.pads, 'reflect') : edgePad(a, op.pads);
        break;
      case 'add':
      case 'sub':
      case 'mul':
      case 'div':
      case 'max':
      case 'min': {
        const f = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, max: tf.maximum, min: tf.minimum }[op.kind];
        y = op.inputs.slice(1).reduce((acc, n) => f(acc, get(n)), a);
        y = applyActivation(y, op.activation);
        break;
      }
      case 'concat':
        y = tf.concat(
          op.inputs.map((n) => get(n)),
          op.axis,
        );
        break;
      case 'reduceMean':
        y = tf.mean(a, op.axes, op.keepDims);
        break;
      case 'reduceMax':
        y = tf.max(a, op.axes, op.keepDims);
        break;
      case 'reduceSum':
        y = tf.sum(a, op.axes, op.keepDims);
        break;
      case 'flatten':
        y = tf.reshape(op.order === 'nchw' && a.rank === 4 ? tf.transpose(a, [0, 3, 1, 2]) : a, [a.shape[0], -1]);
        break;
      case 'reshape':
        y = tf.reshape(a, [a.shape[0], ...op.shape]);
        break;
      case 'transpose':
        y = tf.transpose(a, op.perm.length === a.rank ? op.perm : [0, ...op.perm.map((p) => p + 1)]);
        break;
      case 'identity':
        y = a;
        break;
      case 'resize':
        y =
          op.method === 'bilinear'
            ? tf.image.resizeBilinear(a as tf.Tensor4D, op.size, op.alignCorners, !op.alignCorners)
            : tf.image.resizeNearestNeighbor(a as tf.Tensor4D, op.size, op.alignCorners, false);
        break;
    }
    vals.set(op.name, y);
    out.push(y);
  }
  return out;
}

/** The tfjs forward pass signature the seam takes (models/forward.ts's). */
export const testForward = (net: Network, x: tf.Tensor, opts?: { until?: number }) => {
  const all = referenceForward(net, x);
  return opts?.until !== undefined ? all.slice(0, opts.until + 1) : all;
};

const none = {} as Record<string, never>;

/** Convolutions, pools, batch norm, pads, resizes: the NCHW-side ops of a CNN. */
export function convNet(): Network {
  const b = new NetBuilder('convs', [11, 10, 3]);
  let v = b.add('conv1', ['x'], {
    kind: 'conv2d',
    strides: [1, 1],
    dilations: [1, 1],
    pads: [1, 1, 1, 1],
    groups: 1,
    activation: { fn: 'relu' },
    weights: { kernel: b.rand([3, 3, 3, 4]) as tf.Tensor4D, bias: b.rand([4]) as tf.Tensor1D },
  });
  v = b.add('bn1', [v], {
    kind: 'batchNorm',
    epsilon: 1e-3,
    weights: {
      mean: b.rand([4]) as tf.Tensor1D,
      variance: tf.add(b.rand([4]), 1.2) as tf.Tensor1D,
      gamma: b.rand([4]) as tf.Tensor1D,
      beta: b.rand([4]) as tf.Tensor1D,
    },
  });
  v = b.add('dw', [v], {
    kind: 'depthwiseConv2d',
    strides: [2, 2],
    dilations: [1, 1],
    pads: [0, 1, 1, 0],
    activation: { fn: 'clip', min: 0, max: 0.6 },
    weights: { kernel: b.rand([3, 3, 4, 2]) as tf.Tensor4D, bias: b.rand([8]) as tf.Tensor1D },
  });
  v = b.add('dwDilated', [v], {
    kind: 'depthwiseConv2d',
    strides: [1, 1],
    dilations: [2, 2],
    pads: [2, 2, 2, 2],
    weights: { kernel: b.rand([3, 3, 8, 1]) as tf.Tensor4D },
  });
  v = b.add('grouped', [v], {
    kind: 'conv2d',
    strides: [1, 2],
    dilations: [1, 1],
    pads: [0, 0, 1, 1],
    groups: 2,
    activation: { fn: 'leakyRelu', alpha: 0.1 },
    weights: { kernel: b.rand([3, 3, 4, 6]) as tf.Tensor4D, bias: b.rand([6]) as tf.Tensor1D },
  });
  v = b.add('bnPlain', [v], {
    kind: 'batchNorm',
    epsilon: 1e-5,
    weights: { mean: b.rand([6]) as tf.Tensor1D, variance: tf.add(b.rand([6]), 1.1) as tf.Tensor1D },
  });
  v = b.add('prelu', [v], { kind: 'prelu', weights: { alpha: b.rand([6]) } });
  v = b.add('dilated', [v], {
    kind: 'conv2d',
    strides: [1, 1],
    dilations: [2, 1],
    pads: [2, 2, 1, 1],
    groups: 1,
    activation: { fn: 'hardSwish' },
    weights: { kernel: b.rand([3, 3, 6, 5]) as tf.Tensor4D },
  });
  const skip = v;
  v = b.add('maxPool', [v], { kind: 'maxPool', size: [2, 2], strides: [1, 1], pads: [0, 1, 0, 1], countIncludePad: false, weights: none });
  v = b.add('avgExcl', [v], { kind: 'avgPool', size: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], countIncludePad: false, weights: none });
  v = b.add('avgIncl', [v], { kind: 'avgPool', size: [3, 2], strides: [1, 1], pads: [1, 1, 0, 1], countIncludePad: true, weights: none });
  v = b.add('residual', [v, skip], { kind: 'add', activation: { fn: 'relu' }, weights: none });
  v = b.add('up', [v], {
    kind: 'convTranspose2d',
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    outputPadding: [1, 1],
    activation: { fn: 'tanh' },
    weights: { kernel: b.rand([3, 3, 4, 5]) as tf.Tensor4D, bias: b.rand([4]) as tf.Tensor1D },
  });
  v = b.add('bilinear', [v], { kind: 'resize', size: [7, 9], method: 'bilinear', alignCorners: false, weights: none });
  v = b.add('bilinearAC', [v], { kind: 'resize', size: [9, 8], method: 'bilinear', alignCorners: true, weights: none });
  v = b.add('nearest', [v], { kind: 'resize', size: [12, 10], method: 'nearest', alignCorners: false, weights: none });
  v = b.add('padReflect', [v], {
    kind: 'pad',
    pads: [
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 0],
    ],
    mode: 'reflect',
    value: 0,
    weights: none,
  });
  v = b.add('padEdge', [v], {
    kind: 'pad',
    pads: [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ],
    mode: 'edge',
    value: 0,
    weights: none,
  });
  v = b.add('padConst', [v], {
    kind: 'pad',
    pads: [
      [0, 0],
      [1, 1],
      [1, 1],
      [1, 0],
    ],
    mode: 'constant',
    value: 0.25,
    weights: none,
  });
  const g1 = b.add('gap', [v], { kind: 'globalAvgPool', keepDims: true, weights: none });
  b.add('gmp', [v], { kind: 'globalMaxPool', keepDims: false, weights: none });
  b.add('gapFlat', [g1], { kind: 'flatten', order: 'nchw', weights: none });
  b.add('gap2', [v], { kind: 'globalAvgPool', keepDims: false, weights: none });
  return b.build();
}

/** Elementwise ops with constants, concat, every activation, reductions, flatten, reshape, transpose, dense, matMul. */
export function graphNet(): Network {
  const b = new NetBuilder('graph', [6, 5, 4]);
  const c = b.add('conv', ['x'], {
    kind: 'conv2d',
    strides: [1, 1],
    dilations: [1, 1],
    pads: [0, 0, 0, 0],
    groups: 1,
    weights: { kernel: b.rand([1, 1, 4, 4]) as tf.Tensor4D },
  });
  const perChannel = b.constant('perChannel', b.rand([4]));
  const full = b.constant('full', b.rand([6, 5, 4]));
  const scalar = b.constant('scalar', tf.scalar(1.5));
  const column = b.constant('column', tf.add(b.rand([6, 1, 1]), 2));
  let v = b.add('addC', [c, perChannel], { kind: 'add', weights: none });
  v = b.add('mulFull', [v, full], { kind: 'mul', weights: none });
  v = b.add('subS', [scalar, v], { kind: 'sub', weights: none });
  v = b.add('divCol', [v, column], { kind: 'div', weights: none });
  const m1 = b.add('maxS', [v, c], { kind: 'max', weights: none });
  const m2 = b.add('minC', [v, perChannel], { kind: 'min', weights: none });
  v = b.add('cat', [m1, m2], { kind: 'concat', axis: 3, weights: none });
  v = b.add('catH', [v, v], { kind: 'concat', axis: 1, weights: none });
  const acts: Activation[] = [
    { fn: 'sigmoid' },
    { fn: 'softplus' },
    { fn: 'softsign' },
    { fn: 'elu' },
    { fn: 'selu' },
    { fn: 'swish' },
    { fn: 'gelu' },
    { fn: 'exp' },
    { fn: 'hardSigmoid', alpha: 0.2, beta: 0.5 },
    { fn: 'linear' },
    { fn: 'softmax', axis: 2 },
    { fn: 'logSoftmax', axis: -1 },
  ];
  let w = v;
  // Each on the same input (a chain would flatten the range after the softmax).
  acts.forEach((a, i) => (w = b.add(`act${i}_${a.fn}`, [v], { kind: 'activation', activation: a, weights: none })));
  b.add('meanHW', [w], { kind: 'reduceMean', axes: [1, 2], keepDims: false, weights: none });
  b.add('maxC', [w], { kind: 'reduceMax', axes: [3], keepDims: true, weights: none });
  b.add('sumW', [w], { kind: 'reduceSum', axes: [2], keepDims: false, weights: none });
  const denseLast = b.add('denseLast', [w], {
    kind: 'dense',
    activation: { fn: 'relu' },
    weights: { kernel: b.rand([8, 3]) as tf.Tensor2D, bias: b.rand([3]) as tf.Tensor1D },
  });
  const t = b.add('transposed', [denseLast], { kind: 'transpose', perm: [0, 2, 1, 3], weights: none });
  const r = b.add('reshaped', [t], { kind: 'reshape', shape: [5, 36], weights: none });
  b.add('reshaped4', [r], { kind: 'reshape', shape: [5, 6, 6], weights: none });
  const id = b.add('same', [w], { kind: 'identity', weights: none });
  const fc = b.add('flatC', [id], { kind: 'flatten', order: 'nchw', weights: none });
  const fh = b.add('flatH', [id], { kind: 'flatten', order: 'nhwc', weights: none });
  const d1 = b.add('fc1', [fc], {
    kind: 'dense',
    activation: { fn: 'tanh' },
    weights: { kernel: b.rand([480, 7], 0.1) as tf.Tensor2D, bias: b.rand([7]) as tf.Tensor1D },
  });
  const d2 = b.add('fc2', [fh], { kind: 'dense', weights: { kernel: b.rand([480, 7], 0.1) as tf.Tensor2D } });
  const bn = b.add('bnDense', [d2], {
    kind: 'batchNorm',
    epsilon: 1e-3,
    weights: { mean: b.rand([7]) as tf.Tensor1D, variance: tf.add(b.rand([7]), 1.5) as tf.Tensor1D, gamma: b.rand([7]) as tf.Tensor1D },
  });
  const sum = b.add('sumFc', [d1, bn], { kind: 'add', activation: { fn: 'softmax', axis: -1 }, weights: none });
  const outer = b.add('outerIn', [sum], { kind: 'reshape', shape: [7, 1], weights: none });
  const row = b.add('rowIn', [sum], { kind: 'reshape', shape: [1, 7], weights: none });
  b.add('outer', [outer, row], { kind: 'matMul', weights: none });
  b.add('logits', [sum], {
    kind: 'dense',
    activation: { fn: 'softmax', axis: 1 },
    weights: { kernel: b.rand([7, 3]) as tf.Tensor2D, bias: b.rand([3]) as tf.Tensor1D },
  });
  return b.build();
}
