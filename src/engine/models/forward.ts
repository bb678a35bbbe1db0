/* eslint-disable max-lines -- Over 300 lines because it is a table: one short forward rule per op kind (RULES), each read on its own. */
/**
 * The forward pass of a `Network` (network.ts): one rule per op kind, plain tf ops, NHWC float32.
 *
 * Unfused by default, so an input gradient never asks for a filter gradient (the wasm backend lacks some) and
 * ReLUs can be replaced (guided backpropagation). `fused: true` is for forward-only work (the scan, feature
 * maps): convolutions and dense ops then run as tf.fused kernels with bias and activation in one pass.
 * Call inside the caller's `tf.tidy` (every op's output is returned, nothing is disposed here).
 */
import * as tf from '../runtime/tf';
import type { Activation, Network, Op, OpKind, OpSpec } from './network';

export interface ForwardOptions {
  /** Last op index to run (default: all). */
  until?: number;
  /**
   * Replaces every ReLU: fused `relu` activations, `activation` ops with `relu`, and the rectifying half of a
   * `clip` from 0 (ReLU6: `min(relu(x), max)`). Guided backpropagation passes its own.
   */
  relu?: (x: tf.Tensor) => tf.Tensor;
  /** Use `value` as op `op`'s output instead of computing it (Grad-CAM differentiates there). */
  substitute?: { op: number; value: tf.Tensor };
  /** Forward-only: fused conv/dense + bias + activation kernels where the activation allows. */
  fused?: boolean;
}

type Ctx = { relu: (x: tf.Tensor) => tf.Tensor; fused: boolean };
/** The spec of kind `K` (also for specs that share a member, as maxPool/avgPool). */
type SpecOf<S, K> = S extends { kind: infer L } ? (K extends L ? Omit<S, 'kind'> & { kind: K } : never) : never;
type Rule<K extends OpKind> = (op: SpecOf<OpSpec, K> & Op, inputs: tf.Tensor[], ctx: Ctx) => tf.Tensor;
type Rules = { [K in OpKind]: Rule<K> };

/**
 * Runs `net` on `x` (`[batch, ...net.input.shape]`) and returns the output of every op run, by op index
 * (ops after `until` are absent). The caller owns the tensors (run inside `tf.tidy`).
 */
export function forward(net: Network, x: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor[] {
  const until = opts.until ?? net.ops.length - 1;
  const ctx: Ctx = { relu: opts.relu ?? tf.relu, fused: !!opts.fused && !opts.relu };
  const values = new Map<string, tf.Tensor>();
  values.set(net.input.name, x);
  const outputs: tf.Tensor[] = [];
  for (let i = 0; i <= until; i++) {
    const op = net.ops[i];
    let y: tf.Tensor;
    if (opts.substitute && opts.substitute.op === i) y = opts.substitute.value;
    else {
      const inputs = op.inputs.map((name) => {
        const v = values.get(name) ?? net.constants.get(name);
        if (!v) throw new Error(`internal: op ${op.name} reads ${name}, which is neither the input, a constant nor an earlier op`);
        return v;
      });
      for (const w of Object.values(op.weights as Record<string, tf.Tensor | undefined>)) {
        if (w?.isDisposed) throw new Error(`The weights of ${op.name} in model ${net.name} were freed (the model was unloaded); load it again.`);
      }
      y = (RULES[op.kind] as Rule<OpKind>)(op as never, inputs, ctx);
    }
    outputs[i] = y;
    values.set(op.name, y);
  }
  return outputs;
}

/** The network's output for `x` (`[batch, ...]`), in a tidy of its own. */
export function predict(net: Network, x: tf.Tensor, fused = true): tf.Tensor {
  const at = net.ops.findIndex((o) => o.name === net.output);
  return tf.tidy(() => {
    const out = forward(net, x, { until: at, fused });
    return out[at];
  });
}

/** tf's explicit padding for `[top, bottom, left, right]` (or 'valid' when all zero). */
export function explicitPads(p: [number, number, number, number]): 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (p.every((v) => v === 0)) return 'valid';
  return [
    [0, 0],
    [p[0], p[1]],
    [p[2], p[3]],
    [0, 0],
  ];
}

/** Applies a pointwise nonlinearity (with `relu` standing in for every ReLU). */
export function activate(a: Activation | undefined, y: tf.Tensor, relu: (x: tf.Tensor) => tf.Tensor = tf.relu): tf.Tensor {
  if (!a) return y;
  switch (a.fn) {
    case 'linear':
      return y;
    case 'relu':
      return relu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'tanh':
      return tf.tanh(y);
    case 'hardSwish':
      return tf.mul(y, tf.div(tf.clipByValue(tf.add(y, 3), 0, 6), 6));
    case 'softplus':
      return tf.softplus(y);
    case 'softsign':
      return tf.div(y, tf.add(tf.abs(y), 1));
    case 'elu':
      return tf.elu(y);
    case 'selu':
      return tf.selu(y);
    case 'swish':
      return tf.mul(y, tf.sigmoid(y));
    case 'gelu':
      return tf.mul(tf.mul(y, 0.5), tf.add(tf.erf(tf.mul(y, Math.SQRT1_2)), 1));
    case 'exp':
      return tf.exp(y);
    case 'clip':
      if (a.min === 0 && relu !== tf.relu) return Number.isFinite(a.max) ? tf.minimum(relu(y), a.max) : relu(y);
      return tf.clipByValue(y, a.min, a.max);
    case 'leakyRelu':
      return tf.leakyRelu(y, a.alpha);
    case 'hardSigmoid':
      return tf.clipByValue(tf.add(tf.mul(y, a.alpha), a.beta), 0, 1);
    case 'softmax':
    case 'logSoftmax': {
      const f = a.fn === 'softmax' ? tf.softmax : tf.logSoftmax;
      const axis = a.axis < 0 ? y.rank + a.axis : a.axis;
      if (axis === y.rank - 1) return f(y);
      const perm = [...Array(y.rank).keys()];
      perm[axis] = y.rank - 1;
      perm[y.rank - 1] = axis;
      return tf.transpose(f(tf.transpose(y, perm)), perm);
    }
  }
}

/** The fused kernel activation equal to `a`, if there is one (else the activation runs separately). */
function fusable(a: Activation | undefined): 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'elu' | undefined {
  if (!a || a.fn === 'linear') return 'linear';
  if (a.fn === 'relu' || a.fn === 'sigmoid' || a.fn === 'elu') return a.fn;
  if (a.fn === 'clip' && a.min === 0 && a.max === 6) return 'relu6';
  return undefined;
}

function addBias(y: tf.Tensor, bias: tf.Tensor | undefined): tf.Tensor {
  return bias ? tf.add(y, bias) : y;
}

type ConvOp = SpecOf<OpSpec, 'conv2d'> & Op;

function conv(op: ConvOp, x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D | undefined, ctx: Ctx): tf.Tensor {
  const pad = explicitPads(op.pads);
  const f = ctx.fused ? fusable(op.activation) : undefined;
  if (f) return tf.fused.conv2d({ x, filter: kernel, strides: op.strides, pad, dilations: op.dilations, bias, activation: f });
  return addBias(tf.conv2d(x, kernel, op.strides, pad, 'NHWC', op.dilations), bias);
}

/** Multiplies `x` `[..., in]` by `kernel` `[in, out]` (flattening leading axes for a matMul). */
function dense(x: tf.Tensor, kernel: tf.Tensor2D, bias: tf.Tensor1D | undefined, act: Activation | undefined, ctx: Ctx): tf.Tensor {
  const flat = (x.rank === 2 ? x : tf.reshape(x, [-1, x.shape[x.rank - 1]])) as tf.Tensor2D;
  const f = ctx.fused ? fusable(act) : undefined;
  let y: tf.Tensor = f ? tf.fused.matMul({ a: flat, b: kernel, bias, activation: f }) : addBias(tf.matMul(flat, kernel), bias);
  if (x.rank !== 2) y = tf.reshape(y, [...x.shape.slice(0, -1), kernel.shape[1]]);
  return f ? y : activate(act, y, ctx.relu);
}

/** Replicates the border values (`edge` padding) along `axis`. */
function edgePad(x: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  if (!before && !after) return x;
  const n = x.shape[axis];
  const parts: tf.Tensor[] = [];
  const reps = (k: number) => x.shape.map((_, i) => (i === axis ? k : 1));
  if (before)
    parts.push(
      tf.tile(
        tf.slice(
          x,
          x.shape.map(() => 0),
          x.shape.map((d, i) => (i === axis ? 1 : d)),
        ),
        reps(before),
      ),
    );
  parts.push(x);
  if (after)
    parts.push(
      tf.tile(
        tf.slice(
          x,
          x.shape.map((_, i) => (i === axis ? n - 1 : 0)),
          x.shape.map((d, i) => (i === axis ? 1 : d)),
        ),
        reps(after),
      ),
    );
  return tf.concat(parts, axis);
}

const binary =
  (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
  (op: { activation?: Activation }, xs: tf.Tensor[], ctx: Ctx): tf.Tensor => {
    let y = xs[0];
    for (let i = 1; i < xs.length; i++) y = f(y, xs[i]);
    return activate(op.activation, y, ctx.relu);
  };

const norm = (axis: number, rank: number) => (axis < 0 ? rank + axis : axis);

/** One forward rule per op kind. */
const RULES: Rules = {
  conv2d: (op, [x], ctx) => {
    const { kernel, bias } = op.weights;
    let y: tf.Tensor;
    if (op.groups === 1) y = conv(op, x as tf.Tensor4D, kernel, bias, ctx);
    else if (kernel.shape[2] === 1 && op.groups === x.shape[3]) {
      // one input channel per group: a depthwise conv (output channel g·m + j is channel g's j-th filter)
      const [kh, kw, , cout] = kernel.shape;
      const dw = tf.reshape(kernel, [kh, kw, op.groups, cout / op.groups]) as tf.Tensor4D;
      return RULES.depthwiseConv2d({ ...op, kind: 'depthwiseConv2d', weights: { kernel: dw, bias } }, [x], ctx);
    } else {
      // grouped: one conv per group on its slice of the channels, outputs concatenated
      const cin = kernel.shape[2];
      const cout = kernel.shape[3] / op.groups;
      const parts: tf.Tensor[] = [];
      for (let g = 0; g < op.groups; g++) {
        const xs = tf.slice(x, [0, 0, 0, g * cin], [-1, -1, -1, cin]) as tf.Tensor4D;
        const k = tf.slice(kernel, [0, 0, 0, g * cout], [-1, -1, -1, cout]) as tf.Tensor4D;
        parts.push(conv({ ...op, groups: 1, activation: undefined }, xs, k, undefined, { ...ctx, fused: false }));
      }
      y = addBias(tf.concat(parts, 3), bias);
      return activate(op.activation, y, ctx.relu);
    }
    return ctx.fused && fusable(op.activation) ? y : activate(op.activation, y, ctx.relu);
  },
  depthwiseConv2d: (op, [x], ctx) => {
    const { kernel, bias } = op.weights;
    const pad = explicitPads(op.pads);
    const f = ctx.fused ? fusable(op.activation) : undefined;
    // tf's fused depthwise conv takes no explicit padding: pad first
    if (f && pad !== 'valid') {
      const xp = tf.pad(x, pad) as tf.Tensor4D;
      return tf.fused.depthwiseConv2d({ x: xp, filter: kernel, strides: op.strides, pad: 'valid', dilations: op.dilations, bias, activation: f });
    }
    if (f)
      return tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: kernel, strides: op.strides, pad: 'valid', dilations: op.dilations, bias, activation: f });
    return activate(op.activation, addBias(tf.depthwiseConv2d(x as tf.Tensor4D, kernel, op.strides, pad, 'NHWC', op.dilations), bias), ctx.relu);
  },
  convTranspose2d: (op, [x], ctx) => {
    // The full ('valid') transposed conv, zero-extended by outputPadding at the end, then cropped by the pads.
    const { kernel, bias } = op.weights;
    const [b, h, w] = x.shape;
    const [kh, kw, cout] = kernel.shape;
    const full = [b, (h - 1) * op.strides[0] + kh, (w - 1) * op.strides[1] + kw, cout] as [number, number, number, number];
    let y: tf.Tensor = tf.conv2dTranspose(x as tf.Tensor4D, kernel, full, op.strides, 'valid');
    const [op0, op1] = op.outputPadding;
    if (op0 || op1)
      y = tf.pad(y, [
        [0, 0],
        [0, op0],
        [0, op1],
        [0, 0],
      ]);
    y = tf.slice(y, [0, op.pads[0], op.pads[2], 0], [b, op.shape[0], op.shape[1], cout]);
    return activate(op.activation, addBias(y, bias), ctx.relu);
  },
  dense: (op, [x], ctx) => dense(x, op.weights.kernel, op.weights.bias, op.activation, ctx),
  matMul: (_op, [a, b]) => tf.matMul(a, b),
  activation: (op, [x], ctx) => activate(op.activation, x, ctx.relu),
  prelu: (op, [x]) => tf.prelu(x, op.weights.alpha),
  maxPool: (op, [x]) => {
    // tf's max pool leaves padding out of the maximum, as ONNX and Keras do
    return tf.maxPool(x as tf.Tensor4D, op.size, op.strides, explicitPads(op.pads));
  },
  avgPool: (op, [x]) => {
    const p = explicitPads(op.pads);
    if (p === 'valid') return tf.avgPool(x as tf.Tensor4D, op.size, op.strides, 'valid');
    // sum over the window (zeros in the padding) divided by the count of the window's positions
    const padded = tf.pad(x, p);
    const sum = tf.avgPool(padded as tf.Tensor4D, op.size, op.strides, 'valid');
    if (op.countIncludePad) return sum;
    const ones = tf.pad(tf.ones([1, x.shape[1]!, x.shape[2]!, 1]), p);
    return tf.div(sum, tf.avgPool(ones as tf.Tensor4D, op.size, op.strides, 'valid'));
  },
  globalAvgPool: (op, [x]) => tf.mean(x, [1, 2], op.keepDims),
  globalMaxPool: (op, [x]) => tf.max(x, [1, 2], op.keepDims),
  batchNorm: (op, [x]) => {
    // y = x·scale + shift with scale = gamma / sqrt(var + eps): plain ops, so a gradient exists without gamma
    const { mean, variance, gamma, beta } = op.weights;
    let scale: tf.Tensor = tf.rsqrt(tf.add(variance, op.epsilon));
    if (gamma) scale = tf.mul(scale, gamma);
    let shift: tf.Tensor = tf.neg(tf.mul(mean, scale));
    if (beta) shift = tf.add(shift, beta);
    return tf.add(tf.mul(x, scale), shift);
  },
  pad: (op, [x]) => {
    if (op.mode === 'constant') return tf.pad(x, op.pads, op.value);
    if (op.mode === 'reflect') return tf.mirrorPad(x, op.pads, 'reflect');
    let y = x;
    op.pads.forEach(([a, b], axis) => (y = edgePad(y, axis, a, b)));
    return y;
  },
  add: binary(tf.add),
  sub: binary(tf.sub),
  mul: binary(tf.mul),
  div: binary(tf.div),
  max: binary(tf.maximum),
  min: binary(tf.minimum),
  concat: (op, xs) => tf.concat(xs, norm(op.axis, xs[0].rank)),
  reduceMean: (op, [x]) =>
    tf.mean(
      x,
      op.axes.map((a) => norm(a, x.rank)),
      op.keepDims,
    ),
  reduceMax: (op, [x]) =>
    tf.max(
      x,
      op.axes.map((a) => norm(a, x.rank)),
      op.keepDims,
    ),
  reduceSum: (op, [x]) =>
    tf.sum(
      x,
      op.axes.map((a) => norm(a, x.rank)),
      op.keepDims,
    ),
  flatten: (op, [x]) => {
    if (op.order === 'nchw' && x.rank > 2) {
      // channels first: move the last axis to position 1 before flattening
      const perm = [0, x.rank - 1, ...[...Array(x.rank - 2).keys()].map((i) => i + 1)];
      return tf.reshape(tf.transpose(x, perm), [x.shape[0], -1]);
    }
    return tf.reshape(x, [x.shape[0], -1]);
  },
  reshape: (op, [x]) => tf.reshape(x, [x.shape[0], ...op.shape]),
  transpose: (op, [x]) => tf.transpose(x, op.perm),
  identity: (_op, [x]) => x,
  resize: (op, [x]) => {
    // tfjs's resize gradients ignore half-pixel centres: the gradient is the adjoint below
    const shape = x.shape;
    const f = tf.customGrad(((v: tf.Tensor) => ({ value: resize(op, v), gradFunc: (dy: tf.Tensor) => resizeAdjoint(op, dy, shape) })) as unknown as Parameters<
      typeof tf.customGrad
    >[0]);
    return (f as (v: tf.Tensor) => tf.Tensor)(x);
  },
};

type ResizeOp = SpecOf<OpSpec, 'resize'>;

function resize(op: ResizeOp, x: tf.Tensor): tf.Tensor {
  const f = op.method === 'nearest' ? tf.image.resizeNearestNeighbor : tf.image.resizeBilinear;
  return f(x as tf.Tensor4D, op.size, op.alignCorners, op.method === 'bilinear' && !op.alignCorners && op.halfPixel !== false);
}

/**
 * The adjoint (transpose) of a resize, for a signal `s` `[b, oh, ow, c]` back to `inShape` `[b, ih, iw, c]`.
 * A resize is separable, y = A_h · x · A_wᵀ per channel; the interpolation matrices are measured by resizing
 * one-hot rows and columns, and the signal goes back as A_hᵀ · s · A_w.
 */
export function resizeAdjoint(op: ResizeOp, s: tf.Tensor, inShape: number[]): tf.Tensor {
  const [b, ih, iw, c] = inShape;
  const [oh, ow] = op.size;
  return tf.tidy(() => {
    const mh = tf.reshape(resize({ ...op, size: [oh, 1] }, tf.reshape(tf.eye(ih), [ih, ih, 1, 1])), [ih, oh]); // A_hᵀ
    const mw = tf.reshape(resize({ ...op, size: [1, ow] }, tf.reshape(tf.eye(iw), [iw, 1, iw, 1])), [iw, ow]); // A_wᵀ
    // for each (image, channel, output column): output rows → input rows; then columns likewise
    let t = tf.reshape(tf.transpose(s, [0, 3, 2, 1]), [b * c * ow, oh]);
    t = tf.matMul(t as tf.Tensor2D, mh as tf.Tensor2D, false, true);
    t = tf.reshape(tf.transpose(tf.reshape(t, [b, c, ow, ih]), [0, 1, 3, 2]), [b * c * ih, ow]);
    t = tf.matMul(t as tf.Tensor2D, mw as tf.Tensor2D, false, true);
    return tf.transpose(tf.reshape(t, [b, c, ih, iw]), [0, 2, 3, 1]);
  });
}
