/**
 * The ONNX op table: one entry per ONNX op type, turning a node into network ops (NHWC, see context.ts) or,
 * for the shape arithmetic exported graphs contain (Shape, Gather, Concat of shapes, Cast...), into a
 * constant folded at import. An op type missing here is refused by the importer with one line.
 */
import type * as tf from '../../tf';
import type { Activation, OpSpec } from '../network';
import { type Const, type Dyn, FROM_ONNX, type NodeView, STORED, type Val, storedAxis, storedDims } from './context';
import { BATCH, type HostTensor, binary, concatHost, decodeTensor, gatherHost, num, size, sliceHost, transposeHost } from './tensors';

type Handler = (n: NodeView) => void;
const NONE: Record<string, never> = {};

const constVal = (t: HostTensor): Const => ({ kind: 'const', t });
const ints = (t: HostTensor): number[] => Array.from(t.data, (v) => Math.trunc(v));
const intTensor = (data: number[], dims = [data.length]): HostTensor => ({ dims, data, type: 'int' });

/** `[top, bottom, left, right]` of a 2-D conv or pool, resolving `auto_pad`. */
function pads2d(n: NodeView, inHW: number[], kernel: number[], strides: number[], dilations: number[]): [number, number, number, number] {
  const auto = n.str('auto_pad', 'NOTSET');
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const pp = [0, 1].map((i) => {
      const out = Math.ceil(inHW[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inHW[i]);
      const small = Math.floor(total / 2);
      return auto === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    });
    return [pp[0][0], pp[0][1], pp[1][0], pp[1][1]];
  }
  const p = n.ints('pads', [0, 0, 0, 0]);
  if (p.length !== 4) throw n.refuse(`pads [${p.join(', ')}] are not those of a 2-D op`);
  return [p[0], p[2], p[1], p[3]];
}

function image(n: NodeView, i = 0): Dyn {
  const x = n.dyn(i);
  if (x.dims.length !== 4) throw n.refuse(`only 2-D images (4-D NCHW values) are supported, this input has shape [${x.dims.join(', ')}]`);
  return x;
}

/** Conv: groups 1 → conv2d; groups == channels with one input channel per group → depthwise; else grouped. */
const conv: Handler = (n) => {
  const x = image(n);
  const w = n.constant(1);
  const b = n.constant(2, true);
  if (w.dims.length !== 4) throw n.refuse(`its weight has shape [${w.dims.join(', ')}]; only 2-D convolutions are supported`);
  const [cout, cinG, kh, kw] = w.dims;
  const cin = x.dims[1];
  const group = n.int('group', 1);
  const strides = n.ints('strides', [1, 1]);
  const dilations = n.ints('dilations', [1, 1]);
  if (cinG * group !== cin) throw n.refuse(`its weight expects ${cinG * group} input channels, the input has ${cin}`);
  const pads = pads2d(n, [x.dims[2], x.dims[3]], [kh, kw], strides, dilations);
  const oh = Math.floor((x.dims[2] + pads[0] + pads[1] - dilations[0] * (kh - 1) - 1) / strides[0]) + 1;
  const ow = Math.floor((x.dims[3] + pads[2] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1]) + 1;
  const bias = b ? (n.ctx.weight(b) as tf.Tensor1D) : undefined;
  const common = { strides: [strides[0], strides[1]] as [number, number], dilations: [dilations[0], dilations[1]] as [number, number], pads };
  let spec: OpSpec;
  if (group > 1 && group === cin && cinG === 1) {
    const kernel = n.ctx.weight({ ...w, dims: [cin, cout / cin, kh, kw] }, [2, 3, 0, 1]) as tf.Tensor4D;
    spec = { kind: 'depthwiseConv2d', ...common, weights: { kernel, ...(bias ? { bias } : {}) } };
  } else {
    const kernel = n.ctx.weight(w, [2, 3, 1, 0]) as tf.Tensor4D;
    spec = { kind: 'conv2d', ...common, groups: group, weights: { kernel, ...(bias ? { bias } : {}) } };
  }
  n.out(n.emit(spec, [x.ref], [-1, cout, oh, ow]));
};

const convTranspose: Handler = (n) => {
  const x = image(n);
  const w = n.constant(1);
  const b = n.constant(2, true);
  if (n.int('group', 1) !== 1) throw n.refuse('grouped transposed convolutions are not supported');
  if (n.ints('dilations', [1, 1]).some((d) => d !== 1)) throw n.refuse('dilated transposed convolutions are not supported');
  const [cin, cout, kh, kw] = w.dims;
  if (cin !== x.dims[1]) throw n.refuse(`its weight expects ${cin} input channels, the input has ${x.dims[1]}`);
  const s = n.ints('strides', [1, 1]);
  const outPad = n.ints('output_padding', [0, 0]);
  const inHW = [x.dims[2], x.dims[3]];
  const k = [kh, kw];
  let pads: [number, number, number, number];
  const outputShape = n.ints('output_shape', []);
  const auto = n.str('auto_pad', 'NOTSET');
  if (outputShape.length || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const target = outputShape.length ? outputShape.slice(-2) : inHW.map((v, i) => v * s[i]);
    const pp = [0, 1].map((i) => {
      const total = s[i] * (inHW[i] - 1) + outPad[i] + k[i] - target[i];
      // An output larger than the full transposed conv: zeros at the end (as output padding).
      if (total < 0) {
        outPad[i] -= total;
        return [0, 0];
      }
      const small = Math.floor(total / 2);
      return auto === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    });
    pads = [pp[0][0], pp[0][1], pp[1][0], pp[1][1]];
  } else if (auto === 'VALID') pads = [0, 0, 0, 0];
  else {
    const p = n.ints('pads', [0, 0, 0, 0]);
    pads = [p[0], p[2], p[1], p[3]];
  }
  const oh = s[0] * (inHW[0] - 1) + outPad[0] + kh - pads[0] - pads[1];
  const ow = s[1] * (inHW[1] - 1) + outPad[1] + kw - pads[2] - pads[3];
  const kernel = n.ctx.weight(w, [2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, cout, cin]
  const bias = b ? (n.ctx.weight(b) as tf.Tensor1D) : undefined;
  const spec: OpSpec = { kind: 'convTranspose2d', strides: [s[0], s[1]], pads, outputPadding: [outPad[0], outPad[1]], weights: { kernel, ...(bias ? { bias } : {}) } };
  n.out(n.emit(spec, [x.ref], [-1, cout, oh, ow]));
};

function pool(kind: 'maxPool' | 'avgPool'): Handler {
  return (n) => {
    const x = image(n);
    const k = n.ints('kernel_shape', []);
    if (k.length !== 2) throw n.refuse('only 2-D pooling is supported');
    const s = n.ints('strides', [1, 1]);
    if (n.ints('dilations', [1, 1]).some((d) => d !== 1)) throw n.refuse('dilated pooling is not supported');
    const pads = pads2d(n, [x.dims[2], x.dims[3]], k, s, [1, 1]);
    const ceil = n.int('ceil_mode', 0) === 1;
    const countIncludePad = kind === 'avgPool' && n.int('count_include_pad', 0) === 1;
    const out = [0, 1].map((i) => {
      const inp = x.dims[2 + i];
      const span = inp + pads[2 * i] + pads[2 * i + 1] - k[i];
      let o = (ceil ? Math.ceil(span / s[i]) : Math.floor(span / s[i])) + 1;
      // A last window starting in the end padding is dropped (PyTorch's and ONNX's rule).
      if (ceil && (o - 1) * s[i] >= inp + pads[2 * i]) o--;
      const extra = Math.max(0, (o - 1) * s[i] + k[i] - (inp + pads[2 * i] + pads[2 * i + 1]));
      if (extra && countIncludePad) throw n.refuse('ceil_mode with count_include_pad would count the ceil padding, which this pool op cannot express');
      pads[2 * i + 1] += extra;
      return o;
    });
    n.out(n.emit({ kind, size: [k[0], k[1]], strides: [s[0], s[1]], pads, countIncludePad, weights: NONE }, [x.ref], [-1, x.dims[1], out[0], out[1]]));
  };
}

function globalPool(kind: 'globalAvgPool' | 'globalMaxPool'): Handler {
  return (n) => {
    const x = image(n);
    n.out(n.emit({ kind, keepDims: true, weights: NONE }, [x.ref], [-1, x.dims[1], 1, 1]));
  };
}

/** An activation op, or for a constant input nothing (refused: activations are not shape arithmetic). */
function act(make: (n: NodeView) => Activation): Handler {
  return (n) => {
    const x = n.dyn(0);
    n.out(n.emit({ kind: 'activation', activation: make(n), weights: NONE }, [x.ref], x.dims));
  };
}

const clip: Handler = (n) => {
  const lo = n.ctx.opset < 11 ? n.float('min', -Infinity) : (n.constant(1, true)?.data[0] ?? -Infinity);
  const hi = n.ctx.opset < 11 ? n.float('max', Infinity) : (n.constant(2, true)?.data[0] ?? Infinity);
  const x = n.dyn(0);
  const activation: Activation = lo === 0 && hi === Infinity ? { fn: 'relu' } : { fn: 'clip', min: lo, max: hi };
  n.out(n.emit({ kind: 'activation', activation, weights: NONE }, [x.ref], x.dims));
};

function softmax(fn: 'softmax' | 'logSoftmax'): Handler {
  return (n) => {
    const x = n.dyn(0);
    const rank = x.dims.length;
    let axis = n.int('axis', n.ctx.opset < 13 ? 1 : -1);
    if (axis < 0) axis += rank;
    // Before opset 13 the input is flattened to 2-D at `axis`: the same as one axis when the rest are 1.
    if (n.ctx.opset < 13 && size(x.dims.slice(axis + 1)) !== 1) throw n.refuse(`softmax over the flattened axes ${axis}.. of a ${rank}-D value is not supported`);
    if (axis === 0) throw n.refuse('a softmax over the batch axis is not supported');
    const stored = storedAxis(axis, rank);
    n.out(n.emit({ kind: 'activation', activation: { fn, axis: stored === rank - 1 ? -1 : stored }, weights: NONE }, [x.ref], x.dims));
  };
}

const batchNorm: Handler = (n) => {
  const x = n.dyn(0);
  if (x.dims.length !== 4 && x.dims.length !== 2) throw n.refuse(`batch normalization of a ${x.dims.length}-D value is not supported (4-D images and 2-D features are)`);
  if (n.int('training_mode', 0) === 1) throw n.refuse('training mode (normalizing by the batch statistics) is not supported; export the model in eval mode');
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => n.ctx.weight(n.constant(i)) as tf.Tensor1D);
  n.out(n.emit({ kind: 'batchNorm', epsilon: n.float('epsilon', 1e-5), weights: { mean, variance, gamma, beta } }, [x.ref], x.dims));
};

const gemm: Handler = (n) => {
  const a = n.dyn(0);
  if (a.dims.length !== 2) throw n.refuse(`its input has shape [${a.dims.join(', ')}]; Gemm reads a 2-D value`);
  if (n.int('transA', 0)) throw n.refuse('transA of the computed input is not supported');
  const b = n.constant(1);
  const alpha = n.float('alpha', 1);
  const beta = n.float('beta', 1);
  const transB = n.int('transB', 0) === 1;
  const units = transB ? b.dims[0] : b.dims[1];
  const k = transB ? b.dims[1] : b.dims[0];
  if (k !== a.dims[1]) throw n.refuse(`its weight expects ${k} inputs, the input has ${a.dims[1]}`);
  const scaled = alpha === 1 ? b : { ...b, data: Float32Array.from(b.data, (v) => v * alpha) };
  const kernel = n.ctx.weight(scaled, transB ? [1, 0] : undefined) as tf.Tensor2D;
  const c = n.constant(2, true);
  let bias: tf.Tensor1D | undefined;
  if (c && beta !== 0) {
    if (size(c.dims) !== units && size(c.dims) !== 1) throw n.refuse(`its bias C has shape [${c.dims.join(', ')}], not one value per unit`);
    const data = Float32Array.from({ length: units }, (_, i) => beta * c.data[size(c.dims) === 1 ? 0 : i]);
    bias = n.ctx.weight({ dims: [units], data, type: 'float' }) as tf.Tensor1D;
  }
  n.out(n.emit({ kind: 'dense', weights: { kernel, ...(bias ? { bias } : {}) } }, [a.ref], [-1, units]));
};

const matMul: Handler = (n) => {
  const a = n.dyn(0);
  const bv = n.inputs[1];
  if (a.dims.length === 4) throw n.refuse('MatMul of a 4-D (NCHW) value is not supported');
  if (bv?.kind === 'const') {
    if (bv.t.dims.length !== 2) throw n.refuse(`its constant operand has shape [${bv.t.dims.join(', ')}]; only a 2-D weight matrix is supported`);
    if (bv.t.dims[0] !== a.dims[a.dims.length - 1]) throw n.refuse(`its weight expects ${bv.t.dims[0]} inputs, the input has ${a.dims[a.dims.length - 1]}`);
    const kernel = n.ctx.weight(bv.t) as tf.Tensor2D;
    n.out(n.emit({ kind: 'dense', weights: { kernel } }, [a.ref], [...a.dims.slice(0, -1), bv.t.dims[1]]));
    return;
  }
  const b = n.dyn(1);
  if (b.dims.length !== a.dims.length) throw n.refuse('MatMul of two computed values of different ranks is not supported');
  n.out(n.emit({ kind: 'matMul', weights: NONE }, [a.ref, b.ref], [...a.dims.slice(0, -1), b.dims[b.dims.length - 1]]));
};

const FOLD: Record<string, (x: number, y: number, int: boolean) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y, int) => (int ? Math.trunc(x / y) : x / y),
  max: (x, y) => Math.max(x, y),
  min: (x, y) => Math.min(x, y),
};

/** The op producing `v`, when `v` is computed by an `activation` op of function `fn` read once. */
function producedBy(n: NodeView, v: Val | undefined, fn: string) {
  if (v?.kind !== 'dyn') return undefined;
  const op = n.ctx.ops[n.ctx.producer.get(v.ref) ?? -1];
  return op?.kind === 'activation' && op.activation.fn === fn ? op : undefined;
}

function elementwise(kind: 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min'): Handler {
  return (n) => {
    if (n.inputs.length !== 2) throw n.refuse(`${n.inputs.length} operands are not supported (two are)`);
    const [a, b] = n.inputs;
    if (!a || !b) throw n.refuse('an operand is missing');
    if (a.kind === 'const' && b.kind === 'const') {
      if ([a, b].some((v) => v.t.data.includes(BATCH))) throw n.refuse('arithmetic on the dynamic batch size is not supported');
      const int = a.t.type === 'int' && b.t.type === 'int';
      const t = binary(a.t, b.t, (x, y) => FOLD[kind](x, y, int), int ? 'int' : 'float');
      if (!t) throw n.refuse(`its constant operands [${a.t.dims.join(', ')}] and [${b.t.dims.join(', ')}] do not broadcast`);
      n.out(constVal(t));
      return;
    }
    // SiLU / swish, as PyTorch exports it: Mul(x, Sigmoid(x)).
    if (kind === 'mul') {
      for (const [x, s] of [[a, b], [b, a]] as const) {
        const sig = producedBy(n, s, 'sigmoid');
        if (x.kind === 'dyn' && sig && sig.inputs[0] === x.ref) {
          n.out(n.emit({ kind: 'activation', activation: { fn: 'swish' }, weights: NONE }, [x.ref], x.dims));
          return;
        }
        const hs = producedBy(n, s, 'hardSigmoid');
        if (x.kind === 'dyn' && hs && hs.inputs[0] === x.ref && hs.activation.fn === 'hardSigmoid' && Math.abs(hs.activation.alpha - 1 / 6) < 1e-6 && hs.activation.beta === 0.5) {
          n.out(n.emit({ kind: 'activation', activation: { fn: 'hardSwish' }, weights: NONE }, [x.ref], x.dims));
          return;
        }
      }
    }
    const dyn = (a.kind === 'dyn' ? a : b) as Dyn;
    const rank = Math.max(...[a, b].map((v) => (v.kind === 'dyn' ? v.dims.length : v.t.dims.length)));
    const refs: string[] = [];
    const dims: number[][] = [];
    for (const v of [a, b]) {
      if (v.kind === 'dyn') {
        if (v.dims.length !== rank) throw n.refuse(`broadcasting a computed ${v.dims.length}-D value against a ${rank}-D one is not supported`);
        refs.push(v.ref);
        dims.push(v.dims);
      } else {
        if (v.t.data.includes(BATCH)) throw n.refuse('arithmetic on the dynamic batch size is not supported');
        if (v.t.dims.length === rank && v.t.dims[0] !== 1) throw n.refuse(`its constant operand of shape [${v.t.dims.join(', ')}] does not broadcast over the batch`);
        // A bias after a MatMul (PyTorch's Linear on a 3-D value, or an unfused Gemm): folded into the dense op.
        const dense = n.ctx.ops[n.ctx.producer.get(dyn.ref) ?? -1];
        if (kind === 'add' && dense?.kind === 'dense' && !dense.weights.bias && !dense.activation && size(v.t.dims) === dyn.dims[rank - 1] && n.ctx.uses.get(n.node.input?.[v === a ? 1 : 0] ?? '') === 1) {
          dense.weights.bias = n.ctx.weight({ ...v.t, dims: [size(v.t.dims)] }) as tf.Tensor1D;
          n.out(dyn);
          return;
        }
        refs.push(n.ctx.constant(n.node.input?.[v === a ? 0 : 1] ?? 'const', n.ctx.broadcastConstant(v.t, rank)));
        dims.push([...new Array<number>(rank - v.t.dims.length).fill(1), ...v.t.dims]);
      }
    }
    const outDims = dims[0].map((d, i) => (i === 0 ? -1 : Math.max(d, dims[1][i])));
    n.out(n.emit({ kind, weights: NONE }, refs, outDims));
  };
}

/**
 * Reshapes a computed value to ONNX dims `out` (batch first, -1), keeping the layout rule: a 4-D value goes
 * to channels-first order before the reshape, and a 4-D result back to channels-last after it (both skipped
 * where the order of the data does not change, e.g. `[N, C, 1, 1]`).
 */
export function reshapeTo(n: NodeView, x: Dyn, out: number[]): Dyn {
  if (out.length === x.dims.length && out.every((d, i) => d === x.dims[i])) return { ...x, dims: out };
  // The NCHW ↔ NHWC transpose moves data unless at most one of C and H·W is above 1.
  const moves = (d: number[]) => d.length === 4 && d[1] > 1 && d[2] * d[3] > 1;
  if (x.dims.length === 4 && out.length === 2) return n.emit({ kind: 'flatten', order: moves(x.dims) ? 'nchw' : 'nhwc', weights: NONE }, [x.ref], out);
  let ref = x.ref;
  if (moves(x.dims)) ref = n.emit({ kind: 'transpose', perm: [0, 3, 1, 2], weights: NONE }, [ref], x.dims, 'nchw', x.dims.slice(1)).ref;
  if (moves(out)) {
    const r = n.emit({ kind: 'reshape', shape: out.slice(1), weights: NONE }, [ref], out, 'reshape', out.slice(1)).ref;
    return n.emit({ kind: 'transpose', perm: [0, 2, 3, 1], weights: NONE }, [r], out);
  }
  return n.emit({ kind: 'reshape', shape: storedDims(out).slice(1), weights: NONE }, [ref], out);
}

/** A constant with new dims (same data). */
function reshapeConst(n: NodeView, t: HostTensor, dims: number[]): Const {
  if (size(dims) !== size(t.dims)) throw n.refuse(`cannot reshape a constant of shape [${t.dims.join(', ')}] to [${dims.join(', ')}]`);
  return constVal({ ...t, dims });
}

const reshape: Handler = (n) => {
  const target = ints(n.constant(1));
  const v = n.inputs[0];
  if (!v) throw n.refuse('input 1 is missing');
  const inDims = v.kind === 'dyn' ? v.dims : v.t.dims;
  const allowZero = n.int('allowzero', 0) === 1;
  const dims = target.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  if (v.kind === 'const') {
    const known = size(dims.filter((d) => d !== -1));
    n.out(reshapeConst(n, v.t, dims.map((d) => (d === -1 ? size(v.t.dims) / known : d))));
    return;
  }
  // The first axis is the batch: PyTorch writes it as x.size(0) (folded to BATCH), 0, -1 or the traced size.
  const rest = dims.slice(1).map((d) => (d === BATCH ? NaN : d));
  const total = size(inDims.slice(1));
  const inferred = rest.indexOf(-1);
  if (inferred >= 0) rest[inferred] = total / size(rest.filter((d) => d !== -1));
  if (rest.some((d) => !Number.isInteger(d) || d <= 0) || size(rest) !== total) {
    throw n.refuse(`reshaping [${inDims.slice(1).join(', ')}] (after the batch) to [${target.slice(1).map((d) => (d === BATCH ? 'batch' : d)).join(', ')}] would mix the batch with other axes`);
  }
  n.out(reshapeTo(n, v, [-1, ...rest]));
};

const flatten: Handler = (n) => {
  const v = n.inputs[0];
  const axisRaw = n.int('axis', 1);
  if (v?.kind === 'const') {
    const a = axisRaw < 0 ? axisRaw + v.t.dims.length : axisRaw;
    n.out(reshapeConst(n, v.t, [size(v.t.dims.slice(0, a)), size(v.t.dims.slice(a))]));
    return;
  }
  const x = n.dyn(0);
  const axis = axisRaw < 0 ? axisRaw + x.dims.length : axisRaw;
  if (axis !== 1) throw n.refuse(`flattening from axis ${axis} would mix the batch with other axes (axis 1 is supported)`);
  n.out(reshapeTo(n, x, [-1, size(x.dims.slice(1))]));
};

function squeezeAxes(n: NodeView, rank: number): number[] | undefined {
  const axes = n.ctx.opset < 13 ? (n.has('axes') ? n.ints('axes', []) : undefined) : n.inputs[1] ? ints(n.constant(1)) : undefined;
  return axes?.map((a) => (a < 0 ? a + rank : a));
}

const squeeze: Handler = (n) => {
  const v = n.inputs[0];
  const dims = v?.kind === 'dyn' ? v.dims : (v?.t.dims ?? []);
  const axes = squeezeAxes(n, dims.length) ?? dims.map((d, i) => (d === 1 && i > 0 ? i : -1)).filter((i) => i >= 0);
  if (v?.kind === 'dyn' && axes.includes(0)) throw n.refuse('squeezing the batch axis is not supported');
  const out = dims.filter((_, i) => !axes.includes(i));
  n.out(v?.kind === 'const' ? reshapeConst(n, v.t, out) : reshapeTo(n, n.dyn(0), out));
};

const unsqueeze: Handler = (n) => {
  const v = n.inputs[0];
  const dims = v?.kind === 'dyn' ? v.dims : (v?.t.dims ?? []);
  const rank = dims.length + (squeezeAxes(n, 0)?.length ?? 0);
  const axes = (squeezeAxes(n, rank) ?? []).sort((x, y) => x - y);
  if (!axes.length) throw n.refuse('it names no axes');
  const out = [...dims];
  for (const a of axes) out.splice(a, 0, 1);
  if (v?.kind === 'dyn' && axes.includes(0)) throw n.refuse('a new axis before the batch is not supported');
  n.out(v?.kind === 'const' ? reshapeConst(n, v.t, out) : reshapeTo(n, n.dyn(0), out));
};

const transpose: Handler = (n) => {
  const v = n.inputs[0];
  const dims = v?.kind === 'dyn' ? v.dims : (v?.t.dims ?? []);
  const perm = n.ints('perm', dims.map((_, i) => dims.length - 1 - i));
  if (v?.kind === 'const') return n.out(constVal(transposeHost(v.t, perm)));
  const x = n.dyn(0);
  if (perm[0] !== 0) throw n.refuse(`perm [${perm.join(', ')}] moves the batch axis`);
  const out = perm.map((p) => dims[p]);
  // In stored axes: stored output axis i holds ONNX output axis lo[i] = ONNX input axis perm[lo[i]].
  const rank = dims.length;
  const lo = rank === 4 ? STORED : out.map((_, i) => i);
  const q = lo.map((o) => storedAxis(perm[o], rank));
  if (q.every((p, i) => p === i)) {
    n.out({ ...x, dims: out });
    return;
  }
  const stored = storedDims(out).slice(1);
  // Moving only axes of size 1 is a reshape.
  const big = (order: number[], d: number[]) => order.filter((a) => d[a] !== 1);
  const inStored = storedDims(dims);
  const same = big(q, inStored).join() === big(inStored.map((_, i) => i), inStored).join();
  n.out(same ? n.emit({ kind: 'reshape', shape: stored, weights: NONE }, [x.ref], out) : n.emit({ kind: 'transpose', perm: q, weights: NONE }, [x.ref], out));
};

const concat: Handler = (n) => {
  const vals = n.inputs.filter((v): v is Val => !!v);
  const rank = vals[0].kind === 'dyn' ? vals[0].dims.length : vals[0].t.dims.length;
  let axis = n.int('axis', 0);
  if (axis < 0) axis += rank;
  if (vals.every((v) => v.kind === 'const')) {
    n.out(constVal(concatHost(vals.map((v) => (v as Const).t), axis)));
    return;
  }
  const dyns = vals.map((_, i) => n.dyn(i));
  if (axis === 0) throw n.refuse('concatenating along the batch axis is not supported');
  const out = [...dyns[0].dims];
  out[axis] = dyns.reduce((s, d) => s + d.dims[axis], 0);
  n.out(n.emit({ kind: 'concat', axis: storedAxis(axis, rank), weights: NONE }, dyns.map((d) => d.ref), out));
};

const pad: Handler = (n) => {
  const x = n.dyn(0);
  const rank = x.dims.length;
  const old = n.ctx.opset < 11;
  const p = old ? n.ints('pads', []) : ints(n.constant(1));
  const value = old ? n.float('value', 0) : (n.constant(2, true)?.data[0] ?? 0);
  const axes = !old && n.inputs[3] ? ints(n.constant(3)).map((a) => (a < 0 ? a + rank : a)) : x.dims.map((_, i) => i);
  const per: [number, number][] = x.dims.map(() => [0, 0]);
  axes.forEach((a, i) => (per[a] = [p[i], p[i + axes.length]]));
  if (per[0][0] || per[0][1]) throw n.refuse('padding the batch axis is not supported');
  if (per.some(([b, e]) => b < 0 || e < 0)) throw n.refuse('negative pads (cropping) are not supported');
  const mode = n.str('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw n.refuse(`mode "${mode}" is not supported`);
  const out = x.dims.map((d, i) => (i === 0 ? -1 : d + per[i][0] + per[i][1]));
  const stored = rank === 4 ? STORED.map((a) => per[a]) : per;
  n.out(n.emit({ kind: 'pad', pads: stored, mode, value, weights: NONE }, [x.ref], out));
};

function reduce(kind: 'reduceMean' | 'reduceMax' | 'reduceSum', axesInputFrom: number): Handler {
  return (n) => {
    const x = n.dyn(0);
    const rank = x.dims.length;
    const fromInput = n.ctx.opset >= axesInputFrom;
    const given = fromInput ? (n.inputs[1] ? ints(n.constant(1)) : undefined) : n.has('axes') ? n.ints('axes', []) : undefined;
    const axes = (given?.length ? given : x.dims.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
    if (axes.includes(0)) throw n.refuse('reducing over the batch axis is not supported');
    const keepDims = n.int('keepdims', 1) === 1;
    const out = keepDims ? x.dims.map((d, i) => (axes.includes(i) ? 1 : d)) : x.dims.filter((_, i) => !axes.includes(i));
    if (!keepDims && rank === 4 && out.length === 4) throw n.refuse('this reduction is not supported');
    const stored = axes.map((a) => storedAxis(a, rank)).sort((a, b) => a - b);
    n.out(n.emit({ kind, axes: stored, keepDims, weights: NONE }, [x.ref], out));
  };
}

const prelu: Handler = (n) => {
  const x = n.dyn(0);
  const slope = n.constant(1);
  const b = n.ctx.broadcastConstant(slope, x.dims.length);
  if (b.dims.length !== x.dims.length || b.dims[0] !== 1) throw n.refuse(`its slope of shape [${slope.dims.join(', ')}] does not broadcast over the batch`);
  const alpha = n.ctx.weight(b, undefined, b.dims.length > 1 ? b.dims.slice(1) : b.dims);
  n.out(n.emit({ kind: 'prelu', weights: { alpha } }, [x.ref], x.dims));
};

/**
 * Resize (opset 10+) and Upsample (opset 9) of a 4-D value over H and W, in the two forms PyTorch exports:
 * nearest with asymmetric coordinates rounded down (nn.Upsample(mode='nearest')), and bilinear with half-pixel
 * centres or aligned corners (align_corners False / True). Other coordinate modes are refused.
 */
const resize: Handler = (n) => {
  const x = image(n);
  const opset = n.ctx.opset;
  const mode = n.str('mode', 'nearest');
  const scalesInput = n.opType === 'Upsample' || opset < 11 ? 1 : 2;
  const sizes = n.opType === 'Resize' && opset >= 11 && n.inputs[3] ? ints(n.constant(3)) : undefined;
  const scales = sizes ? undefined : n.opType === 'Upsample' && opset < 9 ? n.floats('scales') : Array.from(n.constant(scalesInput).data);
  const out = sizes ?? x.dims.map((d, i) => (i === 0 ? -1 : Math.floor(d * (scales?.[i] ?? 1))));
  if (out[1] !== x.dims[1] || (scales && scales[0] !== 1)) throw n.refuse('resizing the batch or channel axes is not supported');
  const coords = opset >= 11 ? n.str('coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  // ONNX maps coordinates by the given scale, tf by the ratio of the sizes: the same for whole sizes (aligned
  // corners map by the sizes in both).
  if (scales && coords !== 'align_corners' && [2, 3].some((i) => Math.abs(x.dims[i] * scales[i] - out[i]) > 1e-6)) {
    throw n.refuse(`scales [${scales.join(', ')}] do not give whole sizes from [${x.dims.slice(2).join(', ')}]`);
  }
  let method: 'nearest' | 'bilinear';
  let alignCorners = false;
  if (mode === 'nearest') {
    const rounding = opset >= 11 ? n.str('nearest_mode', 'round_prefer_floor') : 'floor';
    if (coords !== 'asymmetric' || rounding !== 'floor') throw n.refuse(`nearest resizing with ${coords} coordinates rounded ${rounding} is not supported (PyTorch's asymmetric, floor is)`);
    method = 'nearest';
  } else if (mode === 'linear') {
    if ((coords === 'align_corners' || coords === 'pytorch_half_pixel') && (out[2] === 1 || out[3] === 1)) throw n.refuse(`${coords} resizing to a size of 1 is not supported`);
    if (coords === 'align_corners') alignCorners = true;
    else if (coords !== 'half_pixel' && coords !== 'pytorch_half_pixel') throw n.refuse(`linear resizing with ${coords} coordinates is not supported (half_pixel and align_corners are; export with opset 11 or later)`);
    method = 'bilinear';
  } else throw n.refuse(`mode "${mode}" is not supported`);
  n.out(n.emit({ kind: 'resize', size: [out[2], out[3]], method, alignCorners, weights: NONE }, [x.ref], [-1, x.dims[1], out[2], out[3]]));
};

// ---- Constant folding of the shape arithmetic exported graphs contain ----

const constant: Handler = (n) => {
  const t = n.tensor('value');
  if (t) return n.out(constVal(decodeTensor(t, n.ctx.dir, n.ctx.file)));
  const f = n.floats('value_floats');
  if (f) return n.out(constVal({ dims: [f.length], data: Float32Array.from(f), type: 'float' }));
  if (n.has('value_float')) return n.out(constVal({ dims: [], data: Float32Array.of(n.float('value_float', 0)), type: 'float' }));
  if (n.has('value_ints')) {
    const v = n.ints('value_ints', []);
    return n.out(constVal(intTensor(v)));
  }
  if (n.has('value_int')) return n.out(constVal(intTensor([n.int('value_int', 0)], [])));
  throw n.refuse('it holds no value of a supported kind');
};

const shape: Handler = (n) => {
  const v = n.inputs[0];
  if (!v) throw n.refuse('input 1 is missing');
  const dims = v.kind === 'dyn' ? v.dims.map((d, i) => (i === 0 ? BATCH : d)) : v.t.dims;
  const rank = dims.length;
  const norm = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
  const start = norm(n.int('start', 0));
  const end = norm(n.int('end', rank));
  n.out(constVal(intTensor(dims.slice(start, end))));
};

const gather: Handler = (n) => {
  const data = n.constant(0);
  const idx = n.constant(1);
  let axis = n.int('axis', 0);
  if (axis < 0) axis += data.dims.length;
  n.out(constVal(gatherHost(data, idx, axis)));
};

const cast: Handler = (n) => {
  const v = n.inputs[0];
  if (!v) throw n.refuse('input 1 is missing');
  const to = n.int('to', 1);
  const float = to === 1 || to === 10 || to === 11;
  if (v.kind === 'dyn') {
    if (!float) throw n.refuse('casting a computed value to an integer type is not supported');
    return n.out(v);
  }
  n.out(constVal(float ? { ...v.t, data: Float32Array.from(v.t.data), type: 'float' } : { ...v.t, data: Array.from(v.t.data, (x) => (x === BATCH ? x : Math.trunc(x))), type: 'int' }));
};

const constantOfShape: Handler = (n) => {
  const dims = ints(n.constant(0));
  if (dims.includes(BATCH)) throw n.refuse('a constant shaped by the dynamic batch size is not supported');
  const t = n.tensor('value');
  const v = t ? decodeTensor(t, n.ctx.dir, n.ctx.file) : { dims: [1], data: Float32Array.of(0), type: 'float' as const };
  const count = size(dims);
  n.out(constVal(v.type === 'float' ? { dims, data: new Float32Array(count).fill(v.data[0]), type: 'float' } : intTensor(new Array<number>(count).fill(v.data[0]), dims)));
};

const slice: Handler = (n) => {
  let t = n.constant(0);
  const old = n.ctx.opset < 10;
  const starts = old ? n.ints('starts', []) : ints(n.constant(1));
  const ends = old ? n.ints('ends', []) : ints(n.constant(2));
  const axes = old ? n.ints('axes', starts.map((_, i) => i)) : n.inputs[3] ? ints(n.constant(3)) : starts.map((_, i) => i);
  const steps = !old && n.inputs[4] ? ints(n.constant(4)) : starts.map(() => 1);
  axes.forEach((a, i) => (t = sliceHost(t, a < 0 ? a + t.dims.length : a, starts[i], ends[i], steps[i])));
  n.out(constVal(t));
};

function unaryConst(f: (x: number) => number): Handler {
  return (n) => {
    const t = n.constant(0);
    if (t.data.includes(BATCH)) throw n.refuse('arithmetic on the dynamic batch size is not supported');
    n.out(constVal({ ...t, data: t.type === 'float' ? Float32Array.from(t.data, f) : Array.from(t.data, f) }));
  };
}

const passThrough: Handler = (n) => {
  const v = n.inputs[0];
  if (!v) throw n.refuse('input 1 is missing');
  n.out(v);
};

export const OPS: Record<string, Handler> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matMul,
  Relu: act(() => ({ fn: 'relu' })),
  LeakyRelu: act((n) => ({ fn: 'leakyRelu', alpha: n.float('alpha', 0.01) })),
  PRelu: prelu,
  Sigmoid: act(() => ({ fn: 'sigmoid' })),
  Tanh: act(() => ({ fn: 'tanh' })),
  Clip: clip,
  HardSigmoid: act((n) => ({ fn: 'hardSigmoid', alpha: n.float('alpha', 0.2), beta: n.float('beta', 0.5) })),
  HardSwish: act(() => ({ fn: 'hardSwish' })),
  Softplus: act(() => ({ fn: 'softplus' })),
  Softsign: act(() => ({ fn: 'softsign' })),
  Exp: act(() => ({ fn: 'exp' })),
  Elu: act((n) => {
    if (n.float('alpha', 1) !== 1) throw n.refuse('alpha other than 1 is not supported');
    return { fn: 'elu' };
  }),
  Selu: act((n) => {
    if (n.has('alpha') || n.has('gamma')) throw n.refuse('alpha and gamma other than the defaults are not supported');
    return { fn: 'selu' };
  }),
  MaxPool: pool('maxPool'),
  AveragePool: pool('avgPool'),
  GlobalAveragePool: globalPool('globalAvgPool'),
  GlobalMaxPool: globalPool('globalMaxPool'),
  BatchNormalization: batchNorm,
  Add: elementwise('add'),
  Sub: elementwise('sub'),
  Mul: elementwise('mul'),
  Div: elementwise('div'),
  Sum: elementwise('add'),
  Max: elementwise('max'),
  Min: elementwise('min'),
  Concat: concat,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Pad: pad,
  Softmax: softmax('softmax'),
  LogSoftmax: softmax('logSoftmax'),
  Dropout: passThrough,
  Identity: passThrough,
  Resize: resize,
  Upsample: resize,
  ReduceMean: reduce('reduceMean', 18),
  ReduceMax: reduce('reduceMax', 18),
  ReduceSum: reduce('reduceSum', 13),
  // Folded at import (shape arithmetic):
  Constant: constant,
  Shape: shape,
  Gather: gather,
  Cast: cast,
  ConstantOfShape: constantOfShape,
  Slice: slice,
  Neg: unaryConst((x) => -x),
  Floor: unaryConst(Math.floor),
  Ceil: unaryConst(Math.ceil),
  Sqrt: unaryConst(Math.sqrt),
};

export { FROM_ONNX, num };
