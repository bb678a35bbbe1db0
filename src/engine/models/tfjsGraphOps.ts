/* eslint-disable max-lines -- Over 300 lines because it is one table of rules, one per TensorFlow op type, that splitting would only scatter. */
/**
 * The TF.js graph-model op table: one rule per TensorFlow op type, turning a node into network ops through the
 * import context (tfjsGraphContext.ts). An op on constants only is folded to a constant at import; an op type
 * missing here is refused with one line naming the op, the node and the file.
 */
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import type { Activation } from './network';
import {
  ACTIVATIONS,
  type Attrs,
  b64,
  ELEMENTWISE,
  flag,
  type GraphImport,
  type GraphNode,
  IDENTITY_OPS,
  inlineTensor,
  ints,
  outSize,
  samePads,
  str,
  type Value,
} from './tfjsGraphContext';

type Rule = (c: GraphImport, node: GraphNode, a: Attrs) => Value;
/** A value computed by an op or the input (not a constant). */
type Computed = Exclude<Value, { kind: 'const' }>;
type Pads = [number, number, number, number];

/** A rule for an op on a computed first input (on a constant one, the op is folded). */
const computed =
  (rule: (c: GraphImport, node: GraphNode, a: Attrs, x: Computed, ins: Value[]) => Value): Rule =>
  (c, node, a) => {
    const ins = c.inputs(node);
    const x = ins[0];
    if (x.kind === 'const') return c.fold(node, ins);
    return rule(c, node, a, x, ins);
  };

const placeholder: Rule = (c, node, a) => {
  if (c.input) throw new UserError('unsupported', `has a second input "${node.name}"; models with one input are supported.`, c.file);
  const dims = (a.shape?.shape?.dim ?? []).map((d) => Number(d.size));
  const shape = dims.slice(1);
  if (dims.length < 2 || shape.some((d) => !(d > 0))) {
    throw new UserError(
      'unsupported',
      `has the input "${node.name}" of shape [${dims.join(', ')}]: the network representation needs a fixed input size.`,
      c.file,
    );
  }
  c.input = { name: node.name, shape };
  return { kind: 'input', name: node.name, shape };
};

const constant: Rule = (c, node) => {
  const t = c.weights[node.name] ?? inlineTensor(node);
  if (!t) throw new UserError('badInput', `has the constant "${node.name}" with no value in its weights.`, c.file);
  return { kind: 'const', name: node.name, tensor: t };
};

/** `[top, bottom, left, right]` of a conv by its `padding` attribute. */
function convPads(c: GraphImport, node: GraphNode, a: Attrs, hw: [number, number], k: [number, number], s: [number, number], d: [number, number]): Pads {
  const padding = str(a.padding);
  if (padding === 'SAME') return samePads(hw[0], hw[1], k, s, d);
  if (padding === 'VALID') return [0, 0, 0, 0];
  if (padding === 'EXPLICIT') {
    const e = ints(a.explicit_paddings);
    return [e[2], e[3], e[4], e[5]];
  }
  return c.fail(node, `with padding ${padding}`);
}

const conv = computed((c, node, a, x, ins) => {
  const depthwise = node.op.includes('Depthwise');
  const kernel = c.constOf(ins[1], node, 'filter') as tf.Tensor4D;
  const fused = (a.fused_ops?.list?.s ?? []).map(b64);
  if (fused.some((f) => f.startsWith('FusedBatchNorm'))) c.fail(node, 'with a fused batch norm');
  const strides = ints(a.strides);
  const dil = a.dilations ? ints(a.dilations) : [1, 1, 1, 1];
  const s: [number, number] = [strides[1] ?? 1, strides[2] ?? 1];
  const d: [number, number] = [dil[1] ?? 1, dil[2] ?? 1];
  const [kh, kw] = kernel.shape;
  const [H, W, C] = x.shape;
  const pads = convPads(c, node, a, [H, W], [kh, kw], s, d);
  const oh = outSize(H, kh, s[0], d[0], pads[0], pads[1]);
  const ow = outSize(W, kw, s[1], d[1], pads[2], pads[3]);
  const bias = fused.includes('BiasAdd') ? (c.weight(c.keep(tf.reshape(c.constOf(ins[2], node, 'bias'), [-1]))) as tf.Tensor1D) : undefined;
  const tail = c.fusedTail(node, fused, ins.slice(2));
  const name = tail.prelu ? `${node.name}/conv` : node.name;
  const w = { kernel: c.weight<tf.Tensor4D>(kernel), ...(bias ? { bias } : {}) };
  const act = tail.activation ? { activation: tail.activation } : {};
  const out = depthwise
    ? c.push(node, name, [x.name], [oh, ow, C * kernel.shape[3]], { kind: 'depthwiseConv2d', strides: s, dilations: d, pads, ...act, weights: w })
    : c.push(node, name, [x.name], [oh, ow, kernel.shape[3]], {
        kind: 'conv2d',
        strides: s,
        dilations: d,
        pads,
        groups: C / kernel.shape[2],
        ...act,
        weights: w,
      });
  if (!depthwise && !Number.isInteger(C / kernel.shape[2])) c.fail(node, `with a filter of ${kernel.shape[2]} input channels for ${C}`);
  return c.withTail(node, out, tail);
});

const matMul = computed((c, node, a, x, ins) => {
  const y = ins[1];
  if (flag(a.transpose_a)) c.fail(node, 'with transpose_a');
  if (y.kind !== 'const') {
    if (node.op !== 'MatMul' || flag(a.transpose_b)) c.fail(node, 'of two computed values with transposes or fused ops');
    const ys = c.shapeOf(y);
    return c.push(node, node.name, [x.name, y.name], [...x.shape.slice(0, -1), ys[ys.length - 1]], { kind: 'matMul', weights: {} });
  }
  let k = y.tensor as tf.Tensor2D;
  if (flag(a.transpose_b)) k = c.keep(tf.transpose(k)) as tf.Tensor2D;
  const fused = (a.fused_ops?.list?.s ?? []).map(b64);
  const bias = fused.includes('BiasAdd') ? (c.weight(c.keep(tf.reshape(c.constOf(ins[2], node, 'bias'), [-1]))) as tf.Tensor1D) : undefined;
  const tail = c.fusedTail(node, fused, ins.slice(2));
  const out = c.push(node, tail.prelu ? `${node.name}/matmul` : node.name, [x.name], [...x.shape.slice(0, -1), k.shape[1]], {
    kind: 'dense',
    ...(tail.activation ? { activation: tail.activation } : {}),
    weights: { kernel: c.weight<tf.Tensor2D>(k), ...(bias ? { bias } : {}) },
  });
  return c.withTail(node, out, tail);
});

const batchNorm = computed((c, node, a, x, ins) => {
  if (flag(a.is_training)) c.fail(node, 'in training mode');
  const [gamma, beta, mean, variance] = ins.slice(1).map((v, i) => c.weight<tf.Tensor1D>(c.constOf(v, node, ['scale', 'offset', 'mean', 'variance'][i])));
  return c.push(node, node.name, [x.name], x.shape, { kind: 'batchNorm', epsilon: a.epsilon?.f ?? 1e-3, weights: { mean, variance, gamma, beta } });
});

const prelu = computed((c, node, _a, x, ins) =>
  c.push(node, node.name, [x.name], c.shapeOf(x), { kind: 'prelu', weights: { alpha: c.weight(c.constOf(ins[1], node, 'alpha')) } }),
);

const activation = computed((c, node, a, x) => {
  const act: Activation =
    node.op === 'LeakyRelu'
      ? { fn: 'leakyRelu', alpha: a.alpha?.f ?? 0.2 }
      : node.op === 'Softmax' || node.op === 'LogSoftmax'
        ? { fn: node.op === 'Softmax' ? 'softmax' : 'logSoftmax', axis: x.shape.length }
        : ACTIVATIONS[node.op];
  return c.push(node, node.name, [x.name], x.shape, { kind: 'activation', activation: act, weights: {} });
});

const elementwise: Rule = (c, node) => {
  const ins = c.inputs(node);
  if (ins.every((v) => v.kind === 'const')) return c.fold(node, ins);
  return c.push(
    node,
    node.name,
    ins.map((v) => c.operand(v)),
    c.broadcastShape(node, ins[0], ins[1]),
    { kind: ELEMENTWISE[node.op], weights: {} },
  );
};

const addN: Rule = (c, node) => {
  const ins = c.inputs(node);
  if (ins.every((v) => v.kind === 'const')) return c.fold(node, ins);
  let acc = ins[0];
  for (let i = 1; i < ins.length; i++) {
    acc = c.push(node, i === ins.length - 1 ? node.name : `${node.name}/${i}`, [c.operand(acc), c.operand(ins[i])], c.broadcastShape(node, acc, ins[i]), {
      kind: 'add',
      weights: {},
    });
  }
  return acc;
};

const pool = computed((c, node, a, x) => {
  const k = ints(a.ksize);
  const st = ints(a.strides);
  const size: [number, number] = [k[1], k[2]];
  const s: [number, number] = [st[1], st[2]];
  const [H, W, C] = x.shape;
  const padding = str(a.padding);
  const pads = padding === 'SAME' ? samePads(H, W, size, s, [1, 1]) : ([0, 0, 0, 0] as Pads);
  if (padding !== 'SAME' && padding !== 'VALID') c.fail(node, `with padding ${padding}`);
  return c.push(node, node.name, [x.name], [outSize(H, size[0], s[0], 1, pads[0], pads[1]), outSize(W, size[1], s[1], 1, pads[2], pads[3]), C], {
    kind: node.op === 'MaxPool' ? 'maxPool' : 'avgPool',
    size,
    strides: s,
    pads,
    countIncludePad: false,
    weights: {},
  });
});

const reduce = computed((c, node, a, x, ins) => {
  const rank = x.shape.length + 1;
  const axes = [...new Set(c.constInts(ins[1], node, 'axis').map((ax) => (ax < 0 ? ax + rank : ax)))].sort();
  if (axes.includes(0)) c.fail(node, 'over the batch axis');
  const keepDims = flag(a.keep_dims);
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i + 1) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i + 1));
  if (rank === 4 && axes.join() === '1,2' && node.op !== 'Sum') {
    return c.push(node, node.name, [x.name], shape, { kind: node.op === 'Mean' ? 'globalAvgPool' : 'globalMaxPool', keepDims, weights: {} });
  }
  return c.push(node, node.name, [x.name], shape, {
    kind: node.op === 'Mean' ? 'reduceMean' : node.op === 'Max' ? 'reduceMax' : 'reduceSum',
    axes,
    keepDims,
    weights: {},
  });
});

const pad = computed((c, node, a, x, ins) => {
  const p = c.constInts(ins[1], node, 'padding');
  const pairs: [number, number][] = [];
  for (let i = 0; i < p.length; i += 2) pairs.push([p[i], p[i + 1]]);
  if (pairs[0][0] || pairs[0][1]) c.fail(node, 'padding the batch axis');
  let mode: 'constant' | 'reflect' | 'edge' = 'constant';
  if (node.op === 'MirrorPad') {
    const m = str(a.mode);
    if (m !== 'REFLECT') c.fail(node, `in ${m} mode`);
    mode = 'reflect';
  }
  const padValue = node.op === 'PadV2' ? c.constInts(ins[2], node, 'pad value')[0] : 0;
  return c.push(
    node,
    node.name,
    [x.name],
    x.shape.map((d, i) => d + pairs[i + 1][0] + pairs[i + 1][1]),
    { kind: 'pad', pads: pairs, mode, value: padValue, weights: {} },
  );
});

/** The target shape (without batch) of a Reshape, Squeeze or ExpandDims of `x` (of `size` elements). */
function reshapeTarget(c: GraphImport, node: GraphNode, a: Attrs, x: Computed, ins: Value[], size: number): number[] {
  if (node.op === 'Reshape') {
    const t = c.constInts(ins[1], node, 'shape');
    // The first entry is the batch (-1, or the placeholder's fixed 1).
    const target = t.slice(1);
    const known = target.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
    return target.map((d) => (d === -1 ? size / known : d));
  }
  if (node.op === 'Squeeze') {
    const dims = ints(a.squeeze_dims).map((ax) => (ax < 0 ? ax + x.shape.length + 1 : ax));
    return x.shape.filter((d, i) => !(dims.length ? dims.includes(i + 1) : d === 1));
  }
  let ax = c.constInts(ins[1], node, 'axis')[0];
  if (ax < 0) ax += x.shape.length + 2;
  return [...x.shape.slice(0, ax - 1), 1, ...x.shape.slice(ax - 1)];
}

const reshape = computed((c, node, a, x, ins) => {
  const size = x.shape.reduce((p, q) => p * q, 1);
  const target = reshapeTarget(c, node, a, x, ins, size);
  if (target.reduce((p, q) => p * q, 1) !== size || target.some((d) => !Number.isInteger(d) || d < 1))
    c.fail(node, `to the shape [${target.join(', ')}] of another size than its input [${x.shape.join(', ')}]`);
  if (target.length === 1 && x.shape.length === 3) return c.push(node, node.name, [x.name], target, { kind: 'flatten', order: 'nhwc', weights: {} });
  return c.push(node, node.name, [x.name], target, { kind: 'reshape', shape: target, weights: {} });
});

const transpose = computed((c, node, _a, x, ins) => {
  const perm = c.constInts(ins[1], node, 'permutation');
  if (perm[0] !== 0) c.fail(node, 'moving the batch axis');
  return c.push(
    node,
    node.name,
    [x.name],
    perm.slice(1).map((p) => x.shape[p - 1]),
    { kind: 'transpose', perm, weights: {} },
  );
});

const concat: Rule = (c, node) => {
  const all = c.inputs(node);
  const axisV = node.op === 'ConcatV2' ? all[all.length - 1] : all[0];
  const ins = node.op === 'ConcatV2' ? all.slice(0, -1) : all.slice(1);
  if (ins.every((v) => v.kind === 'const')) return c.fold(node, all);
  if (ins.some((v) => v.kind === 'const')) c.fail(node, 'joining a constant to a computed value');
  const rank = c.rankOf(ins[0]);
  let axis = c.constInts(axisV, node, 'axis')[0];
  if (axis < 0) axis += rank;
  if (axis === 0) c.fail(node, 'along the batch axis');
  const shape = c.shapeOf(ins[0]).slice();
  shape[axis - 1] = ins.reduce((s, v) => s + c.shapeOf(v)[axis - 1], 0);
  return c.push(
    node,
    node.name,
    ins.map((v) => v.name),
    shape,
    { kind: 'concat', axis, weights: {} },
  );
};

const resize = computed((c, node, a, x, ins) => {
  const [h, w] = c.constInts(ins[1], node, 'size');
  const bilinear = node.op === 'ResizeBilinear';
  if (!bilinear && flag(a.half_pixel_centers)) c.fail(node, 'with half_pixel_centers');
  // TensorFlow's coordinates as the node says: half-pixel centres, aligned corners, or the legacy asymmetric ones.
  return c.push(node, node.name, [x.name], [h, w, x.shape[2]], {
    kind: 'resize',
    size: [h, w],
    method: bilinear ? 'bilinear' : 'nearest',
    alignCorners: flag(a.align_corners),
    ...(bilinear ? { halfPixel: flag(a.half_pixel_centers) } : {}),
    weights: {},
  });
});

/** An op without a rule of its own: an alias (Identity, a float Cast), a fold on constants, a static Shape. */
const other: Rule = (c, node, a) => {
  if (IDENTITY_OPS.has(node.op)) {
    const ins = c.inputs(node);
    if (!ins.length) return c.fail(node);
    if (node.op === 'Cast' && ins[0].kind === 'const') return c.fold(node, ins);
    if (node.op === 'Cast' && a.DstT?.type && a.DstT.type !== 'DT_FLOAT') c.fail(node, `to ${a.DstT.type}`);
    return ins[0]; // an alias of its input: no op
  }
  const ins = c.inputs(node);
  if (ins.length && ins.every((v) => v.kind === 'const')) return c.fold(node, ins);
  if (node.op === 'Shape' && ins[0].kind !== 'const') {
    // A static shape (the batch taken as 1): only shape arithmetic that drops the batch entry uses it.
    return { kind: 'const', name: node.name, tensor: c.keep(tf.tensor1d([1, ...c.shapeOf(ins[0])], 'int32')) };
  }
  return c.fail(node);
};

/** One rule per TensorFlow op type (several types share one). */
const RULES: Record<string, Rule> = {
  Placeholder: placeholder,
  Const: constant,
  ...Object.fromEntries(['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative'].map((op) => [op, conv])),
  MatMul: matMul,
  _FusedMatMul: matMul,
  ...Object.fromEntries(['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3'].map((op) => [op, batchNorm])),
  Prelu: prelu,
  ...Object.fromEntries(
    ['LeakyRelu', 'Softmax', 'LogSoftmax', 'Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Elu', 'Selu', 'Softplus', 'Softsign', 'Exp'].map((op) => [op, activation]),
  ),
  ...Object.fromEntries(Object.keys(ELEMENTWISE).map((op) => [op, elementwise])),
  AddN: addN,
  MaxPool: pool,
  AvgPool: pool,
  Mean: reduce,
  Max: reduce,
  Sum: reduce,
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  Reshape: reshape,
  Squeeze: reshape,
  ExpandDims: reshape,
  Transpose: transpose,
  ConcatV2: concat,
  Concat: concat,
  ResizeBilinear: resize,
  ResizeNearestNeighbor: resize,
};

/** Converts one node (its inputs first, through `c.value`) into the network's ops; returns its value. */
export function convertNode(c: GraphImport, node: GraphNode): Value {
  const a = node.attr ?? {};
  const dataFormat = str(a.data_format);
  if (dataFormat && dataFormat !== 'NHWC') c.fail(node, `with data_format ${dataFormat}`);
  return (Object.hasOwn(RULES, node.op) ? RULES[node.op] : other)(c, node, a);
}
