/**
 * The ONNX export rules: one per op kind of the network representation, each adding the op's nodes to the
 * graph through the export context (exportOnnxGraph.ts) and returning the op's value in the layout it is
 * computed in (see exportOnnx.ts for the layout scheme). An attribute a rule cannot express throws
 * `NativeExportError`.
 */
import type { Activation, Op, OpKind, OpSpec } from '../models/network';
import { type ExportContext, type Layout, NativeExportError, TO_NCHW, type Value, float, int, ints, onnxPads, str, values } from './exportOnnxGraph';

/** The op of kind `K` (also for specs that share a member, as maxPool/avgPool). */
type SpecOf<S, K> = S extends { kind: infer L } ? (K extends L ? Omit<S, 'kind'> & { kind: K } : never) : never;
type OpOf<K extends OpKind> = SpecOf<OpSpec, K> & Op;
export type ExportRule<K extends OpKind> = (c: ExportContext, op: OpOf<K>) => Value;
type Rules = { [K in OpKind]: ExportRule<K> };

/** The op's value: `name` in `layout`, of the op's rank (batch included). */
const result = (op: Op, name: string, layout: Layout): Value => ({ name, rank: op.shape.length + 1, layout });
const rankOf = (op: Op) => op.shape.length + 1;

/** Applies a fused activation to `x` (a rank-`rank` value held in `layout`). */
export function activation(c: ExportContext, x: string, act: Activation | undefined, rank: number, layout: Layout, op: Op): string {
  if (!act) return x;
  const g = c.g;
  switch (act.fn) {
    case 'linear':
      return x;
    case 'relu':
      return g.node('Relu', [x]);
    case 'sigmoid':
      return g.node('Sigmoid', [x]);
    case 'tanh':
      return g.node('Tanh', [x]);
    case 'hardSwish':
      return g.node('HardSwish', [x]);
    case 'softplus':
      return g.node('Softplus', [x]);
    case 'softsign':
      return g.node('Softsign', [x]);
    case 'elu':
      return g.node('Elu', [x], [float('alpha', 1)]);
    case 'selu':
      return g.node('Selu', [x]);
    case 'exp':
      return g.node('Exp', [x]);
    case 'swish':
      return g.node('Mul', [x, g.node('Sigmoid', [x])]);
    case 'gelu': {
      // x · Φ(x) = x · (1 + erf(x / √2)) / 2: the exact GELU (Keras' default, PyTorch's).
      const erf = g.node('Erf', [g.node('Div', [x, g.floats([Math.SQRT2], [])])]);
      return g.node('Mul', [g.node('Mul', [x, g.node('Add', [erf, g.floats([1], [])])]), g.floats([0.5], [])]);
    }
    case 'clip':
      return g.node('Clip', [x, g.floats([act.min], []), g.floats([act.max], [])]);
    case 'leakyRelu':
      return g.node('LeakyRelu', [x], [float('alpha', act.alpha)]);
    case 'hardSigmoid':
      return g.node('HardSigmoid', [x], [float('alpha', act.alpha), float('beta', act.beta)]);
    case 'softmax':
    case 'logSoftmax':
      return g.node(act.fn === 'softmax' ? 'Softmax' : 'LogSoftmax', [x], [int('axis', c.axisIn(act.axis, rank, layout))]);
    default:
      throw new NativeExportError(`op "${op.name}": activation ${(act as { fn: string }).fn} has no ONNX rule`);
  }
}

const conv: ExportRule<'conv2d' | 'depthwiseConv2d'> = (c, op) => {
  const g = c.g;
  const k = op.weights.kernel;
  const [kh, kw, kin, kout] = k.shape;
  const w =
    op.kind === 'conv2d'
      ? g.floats(values(k, [3, 2, 0, 1]), [kout, kin, kh, kw], `${op.name}.weight`)
      : // Depthwise: a grouped conv with one group per input channel; output channel c·m + j is the tf one.
        g.floats(values(k, [3, 2, 0, 1], [kh, kw, 1, kin * kout]), [kin * kout, 1, kh, kw], `${op.name}.weight`);
  const inputs = [c.get(op.inputs[0], 'nchw'), w];
  if (op.weights.bias) inputs.push(g.floats(values(op.weights.bias), op.weights.bias.shape, `${op.name}.bias`));
  const group = op.kind === 'conv2d' ? (op as OpOf<'conv2d'>).groups : kin;
  const y = g.node(
    'Conv',
    inputs,
    [ints('kernel_shape', [kh, kw]), ints('strides', op.strides), ints('dilations', op.dilations), ints('pads', onnxPads(op.pads)), int('group', group)],
    op.name,
  );
  return result(op, activation(c, y, op.activation, 4, 'nchw', op), 'nchw');
};

const convTranspose2d: ExportRule<'convTranspose2d'> = (c, op) => {
  const g = c.g;
  const k = op.weights.kernel;
  const [kh, kw, cout, cin] = k.shape;
  const inputs = [c.get(op.inputs[0], 'nchw'), g.floats(values(k, [3, 2, 0, 1]), [cin, cout, kh, kw], `${op.name}.weight`)];
  if (op.weights.bias) inputs.push(g.floats(values(op.weights.bias), op.weights.bias.shape, `${op.name}.bias`));
  const y = g.node(
    'ConvTranspose',
    inputs,
    [ints('kernel_shape', [kh, kw]), ints('strides', op.strides), ints('pads', onnxPads(op.pads)), ints('output_padding', op.outputPadding)],
    op.name,
  );
  return result(op, activation(c, y, op.activation, 4, 'nchw', op), 'nchw');
};

const dense: ExportRule<'dense'> = (c, op) => {
  const g = c.g;
  const x0 = op.inputs[0];
  const xr = c.rankOf(x0);
  const w = g.floats(values(op.weights.kernel), op.weights.kernel.shape, `${op.name}.weight`);
  const b = op.weights.bias ? g.floats(values(op.weights.bias), op.weights.bias.shape, `${op.name}.bias`) : undefined;
  let y: string;
  if (xr === 2) y = g.node('Gemm', b ? [c.get(x0, 'nhwc'), w, b] : [c.get(x0, 'nhwc'), w], [], op.name);
  else {
    // Over the last axis of an NHWC value (a Keras Dense on a feature map).
    y = g.node('MatMul', [c.get(x0, 'nhwc'), w], [], op.name);
    if (b) y = g.node('Add', [y, b]);
  }
  return result(op, activation(c, y, op.activation, rankOf(op), 'nhwc', op), 'nhwc');
};

const pool: ExportRule<'maxPool' | 'avgPool'> = (c, op) => {
  const g = c.g;
  let x = c.get(op.inputs[0], 'nchw');
  let pads = op.pads;
  // onnxruntime refuses pads as large as the window: pad first (max: the lowest float; avg counting pads: 0).
  const [t, b, l, r] = op.pads;
  if (Math.max(t, b) >= op.size[0] || Math.max(l, r) >= op.size[1]) {
    if (op.kind === 'avgPool' && !op.countIncludePad)
      throw new NativeExportError(`op "${op.name}": average pool with pads as large as its window, not counting pads`);
    x = g.node('Pad', [x, g.int64s([0, 0, t, l, 0, 0, b, r]), g.floats([op.kind === 'maxPool' ? -3.4028234663852886e38 : 0], [])], [str('mode', 'constant')]);
    pads = [0, 0, 0, 0];
  }
  const attrs = [ints('kernel_shape', op.size), ints('strides', op.strides), ints('pads', onnxPads(pads))];
  if (op.kind === 'avgPool') attrs.push(int('count_include_pad', op.countIncludePad ? 1 : 0));
  return result(op, g.node(op.kind === 'maxPool' ? 'MaxPool' : 'AveragePool', [x], attrs, op.name), 'nchw');
};

const globalPool: ExportRule<'globalAvgPool' | 'globalMaxPool'> = (c, op) => {
  const y = c.g.node(op.kind === 'globalAvgPool' ? 'GlobalAveragePool' : 'GlobalMaxPool', [c.get(op.inputs[0], 'nchw')], [], op.name);
  if (op.keepDims) return result(op, y, 'nchw');
  return result(op, c.g.node('Flatten', [y], [int('axis', 1)]), 'nhwc');
};

const batchNorm: ExportRule<'batchNorm'> = (c, op) => {
  const g = c.g;
  const x0 = op.inputs[0];
  const rank = rankOf(op);
  const { mean, variance, gamma, beta } = op.weights;
  const ch = mean.shape[0];
  if (rank === 4 || rank === 2) {
    const scale = gamma ? values(gamma) : new Float32Array(ch).fill(1);
    const shift = beta ? values(beta) : new Float32Array(ch);
    const layout: Layout = rank === 4 ? 'nchw' : 'nhwc';
    const ins = [c.get(x0, layout), g.floats(scale, [ch]), g.floats(shift, [ch]), g.floats(values(mean), [ch]), g.floats(values(variance), [ch])];
    return result(op, g.node('BatchNormalization', ins, [float('epsilon', op.epsilon)], op.name), layout);
  }
  // Channels last of another rank: y = a·x + b.
  const { a, b } = batchNormAffine(op);
  return result(op, g.node('Add', [g.node('Mul', [c.get(x0, 'nhwc'), g.floats(a, [ch])]), g.floats(b, [ch])], [], op.name), 'nhwc');
};

/** A batch norm as y = a·x + b per channel: a = γ / √(σ² + ε), b = β − μ·a. */
export function batchNormAffine(op: OpOf<'batchNorm'>): { a: Float32Array; b: Float32Array } {
  const { mean, variance, gamma, beta } = op.weights;
  const m = values(mean);
  const v = values(variance);
  const gm = gamma ? values(gamma) : undefined;
  const bt = beta ? values(beta) : undefined;
  const a = new Float32Array(m.length);
  const b = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) {
    a[i] = (gm ? gm[i] : 1) / Math.sqrt(v[i] + op.epsilon);
    b[i] = (bt ? bt[i] : 0) - m[i] * a[i];
  }
  return { a, b };
}

const pad: ExportRule<'pad'> = (c, op) => {
  const rank = rankOf(op);
  const layout: Layout = rank === 4 ? 'nchw' : 'nhwc';
  const p = layout === 'nchw' ? TO_NCHW.map((a) => op.pads[a]) : op.pads;
  if (p.length !== rank) throw new NativeExportError(`op "${op.name}": ${p.length} pad pairs for a rank-${rank} value`);
  const pads = c.g.int64s([...p.map((q) => q[0]), ...p.map((q) => q[1])], `${op.name}.pads`);
  const ins = [c.get(op.inputs[0], layout), pads];
  if (op.mode === 'constant') ins.push(c.g.floats([op.value], []));
  return result(op, c.g.node('Pad', ins, [str('mode', op.mode)], op.name), layout);
};

const ELEMENTWISE = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', max: 'Max', min: 'Min' } as const;
const elementwise: ExportRule<keyof typeof ELEMENTWISE> = (c, op) => {
  const rank = rankOf(op);
  // NCHW only when every computed operand is a rank-4 NCHW value and so is the result.
  const layout = rank === 4 ? c.preferred(op.inputs) : 'nhwc';
  const y = c.g.node(
    ELEMENTWISE[op.kind],
    op.inputs.map((n) => c.operand(n, rank, layout)),
    [],
    op.name,
  );
  return result(op, activation(c, y, op.activation, rank, layout, op), layout);
};

const reduce: ExportRule<'reduceMean' | 'reduceMax' | 'reduceSum'> = (c, op) => {
  const x0 = op.inputs[0];
  const xr = c.rankOf(x0);
  const axes = op.axes.map((a) => (a < 0 ? a + xr : a));
  const x = c.get(x0, 'nhwc');
  const keep = int('keepdims', op.keepDims ? 1 : 0);
  const y =
    op.kind === 'reduceSum'
      ? c.g.node('ReduceSum', [x, c.g.int64s(axes)], [keep], op.name)
      : c.g.node(op.kind === 'reduceMean' ? 'ReduceMean' : 'ReduceMax', [x], [ints('axes', axes), keep], op.name);
  return result(op, y, 'nhwc');
};

const resize: ExportRule<'resize'> = (c, op) => {
  const g = c.g;
  const x = c.get(op.inputs[0], 'nchw');
  // Sizes [batch, channels, h, w]: the batch is dynamic, so the first two come from the input's shape.
  const nc = g.node('Slice', [g.node('Shape', [x]), g.int64s([0]), g.int64s([2])]);
  const sizes = g.node('Concat', [nc, g.int64s(op.size)], [int('axis', 0)]);
  // As forward.ts: bilinear with half-pixel centres unless alignCorners (PyTorch's and ONNX's default);
  // nearest without (asymmetric, floor); with alignCorners corners map to corners and nearest rounds.
  const mode = op.alignCorners ? 'align_corners' : op.method === 'bilinear' && op.halfPixel !== false ? 'half_pixel' : 'asymmetric';
  const attrs = [str('mode', op.method === 'nearest' ? 'nearest' : 'linear'), str('coordinate_transformation_mode', mode)];
  if (op.method === 'nearest') attrs.push(str('nearest_mode', op.alignCorners ? 'round_prefer_ceil' : 'floor'));
  return result(op, g.node('Resize', [x, '', '', sizes], attrs, op.name), 'nchw');
};

/** One export rule per op kind of the network representation. */
export const EXPORT_RULES: Rules = {
  conv2d: conv,
  depthwiseConv2d: conv,
  convTranspose2d,
  dense,
  matMul: (c, op) => {
    const rank = rankOf(op);
    return result(op, c.g.node('MatMul', [c.operand(op.inputs[0], rank, 'nhwc'), c.operand(op.inputs[1], rank, 'nhwc')], [], op.name), 'nhwc');
  },
  activation: (c, op) => {
    const layout = c.preferred([op.inputs[0]]);
    return result(op, activation(c, c.get(op.inputs[0], layout), op.activation, rankOf(op), layout, op), layout);
  },
  identity: (c, op) => {
    const v = c.vals.get(op.inputs[0]);
    if (!v) throw new NativeExportError(`op "${op.name}" reads "${op.inputs[0]}", which is not computed before it`);
    return v;
  },
  prelu: (c, op) => {
    const layout = c.preferred([op.inputs[0]]);
    return result(op, c.g.node('PRelu', [c.get(op.inputs[0], layout), c.constant(op.weights.alpha, rankOf(op), layout)], [], op.name), layout);
  },
  maxPool: pool,
  avgPool: pool,
  globalAvgPool: globalPool,
  globalMaxPool: globalPool,
  batchNorm,
  pad,
  add: elementwise,
  sub: elementwise,
  mul: elementwise,
  div: elementwise,
  max: elementwise,
  min: elementwise,
  concat: (c, op) => {
    const rank = rankOf(op);
    const layout = rank === 4 ? c.preferred(op.inputs) : 'nhwc';
    return result(
      op,
      c.g.node(
        'Concat',
        op.inputs.map((n) => c.operand(n, rank, layout)),
        [int('axis', c.axisIn(op.axis, rank, layout))],
        op.name,
      ),
      layout,
    );
  },
  reduceMean: reduce,
  reduceMax: reduce,
  reduceSum: reduce,
  flatten: (c, op) => {
    const xr = c.rankOf(op.inputs[0]);
    // NCHW order: flattening the NCHW value is exactly the channels-first order.
    const x = c.get(op.inputs[0], op.order === 'nchw' && xr === 4 ? 'nchw' : 'nhwc');
    if (op.order === 'nchw' && xr !== 4 && xr > 2) throw new NativeExportError(`op "${op.name}": channels-first flatten of a rank-${xr} value`);
    return result(op, c.g.node('Flatten', [x], [int('axis', 1)], op.name), 'nhwc');
  },
  reshape: (c, op) => result(op, c.g.node('Reshape', [c.get(op.inputs[0], 'nhwc'), c.g.int64s([0, ...op.shape])], [], op.name), 'nhwc'),
  transpose: (c, op) => {
    const xr = c.rankOf(op.inputs[0]);
    const perm = op.perm.length === xr ? op.perm : op.perm.length === xr - 1 ? [0, ...op.perm.map((p) => p + 1)] : null;
    if (!perm) throw new NativeExportError(`op "${op.name}": a permutation of ${op.perm.length} axes for a rank-${xr} value`);
    return result(op, c.g.node('Transpose', [c.get(op.inputs[0], 'nhwc')], [ints('perm', perm)], op.name), 'nhwc');
  },
  resize,
};
