/* eslint-disable max-lines -- Over 300 lines because it is a table: one short handler per ONNX op type (OPS), each read on its own. */
/**
 * The ONNX op table: one entry per ONNX op type, turning a node into network ops (NHWC, see context.ts);
 * data-movement ops are in layout.ts, the shape arithmetic folded to constants at import in fold.ts. An op
 * type missing here is refused by the importer with one line.
 */
import type * as tf from '../../runtime/tf';
import type { Activation, OpSpec } from '../network';
import { type Dyn, type Handler, type NodeView, type Val, constVal, ints, storedAxis } from './context';
import { FOLD_OPS } from './fold';
import { concat, flatten, pad, reshape, squeeze, transpose, unsqueeze } from './layout';
import { BATCH, binary, size } from './tensors';

const NONE: Record<string, never> = {};

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
  const spec: OpSpec = {
    kind: 'convTranspose2d',
    strides: [s[0], s[1]],
    pads,
    outputPadding: [outPad[0], outPad[1]],
    weights: { kernel, ...(bias ? { bias } : {}) },
  };
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
    if (n.ctx.opset < 13 && size(x.dims.slice(axis + 1)) !== 1)
      throw n.refuse(`softmax over the flattened axes ${axis}.. of a ${rank}-D value is not supported`);
    if (axis === 0) throw n.refuse('a softmax over the batch axis is not supported');
    const stored = storedAxis(axis, rank);
    n.out(n.emit({ kind: 'activation', activation: { fn, axis: stored === rank - 1 ? -1 : stored }, weights: NONE }, [x.ref], x.dims));
  };
}

const batchNorm: Handler = (n) => {
  const x = n.dyn(0);
  if (x.dims.length !== 4 && x.dims.length !== 2)
    throw n.refuse(`batch normalization of a ${x.dims.length}-D value is not supported (4-D images and 2-D features are)`);
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
      for (const [x, s] of [
        [a, b],
        [b, a],
      ] as const) {
        const sig = producedBy(n, s, 'sigmoid');
        if (x.kind === 'dyn' && sig && sig.inputs[0] === x.ref) {
          n.out(n.emit({ kind: 'activation', activation: { fn: 'swish' }, weights: NONE }, [x.ref], x.dims));
          return;
        }
        const hs = producedBy(n, s, 'hardSigmoid');
        if (
          x.kind === 'dyn' &&
          hs &&
          hs.inputs[0] === x.ref &&
          hs.activation.fn === 'hardSigmoid' &&
          Math.abs(hs.activation.alpha - 1 / 6) < 1e-6 &&
          hs.activation.beta === 0.5
        ) {
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
        if (v.t.dims.length === rank && v.t.dims[0] !== 1)
          throw n.refuse(`its constant operand of shape [${v.t.dims.join(', ')}] does not broadcast over the batch`);
        // A bias after a MatMul (PyTorch's Linear on a 3-D value, or an unfused Gemm): folded into the dense op.
        const dense = n.ctx.ops[n.ctx.producer.get(dyn.ref) ?? -1];
        if (
          kind === 'add' &&
          dense?.kind === 'dense' &&
          !dense.weights.bias &&
          !dense.activation &&
          size(v.t.dims) === dyn.dims[rank - 1] &&
          n.ctx.uses.get(n.node.input?.[v === a ? 1 : 0] ?? '') === 1
        ) {
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
    if (coords !== 'asymmetric' || rounding !== 'floor')
      throw n.refuse(`nearest resizing with ${coords} coordinates rounded ${rounding} is not supported (PyTorch's asymmetric, floor is)`);
    method = 'nearest';
  } else if (mode === 'linear') {
    if ((coords === 'align_corners' || coords === 'pytorch_half_pixel') && (out[2] === 1 || out[3] === 1))
      throw n.refuse(`${coords} resizing to a size of 1 is not supported`);
    if (coords === 'align_corners') alignCorners = true;
    else if (coords !== 'half_pixel' && coords !== 'pytorch_half_pixel')
      throw n.refuse(`linear resizing with ${coords} coordinates is not supported (half_pixel and align_corners are; export with opset 11 or later)`);
    method = 'bilinear';
  } else throw n.refuse(`mode "${mode}" is not supported`);
  n.out(n.emit({ kind: 'resize', size: [out[2], out[3]], method, alignCorners, weights: NONE }, [x.ref], [-1, x.dims[1], out[2], out[3]]));
};

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
  // Folded at import (shape arithmetic): onnx/fold.ts
  ...FOLD_OPS,
};
