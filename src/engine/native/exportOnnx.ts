/**
 * The network representation (models/network.ts) as an ONNX model for a native runtime (onnxruntime-node):
 * one export rule per op kind, and graph outputs that are the requested values (every inspectable layer's
 * output by default), so one native run yields everything the scan or a page needs.
 *
 * Layout: the Network is NHWC; ONNX's convolutions and pools are NCHW. Each value of rank 4 lives in the
 * graph in the layout its producer computes it in (`nchw` for convs, pools, batch norm, ...; `nhwc` for ops
 * defined on the NHWC value, e.g. reshape or a dense layer over the last axis), and a Transpose is inserted
 * only where a consumer needs the other one (once per value). So the input is transposed once at the start,
 * and each requested output once at the end: to NHWC (`layout: 'nhwc'`, what feature maps show) or to NCHW
 * (`layout: 'nchw'`, where each node's map is contiguous: what the scan's score loop reads).
 *
 * An op kind or attribute without a rule throws `NativeExportError`: the caller then runs that network on
 * the tfjs path.
 *
 * Long on purpose (for now): the export rules share the layout bookkeeping of every value (which layout it
 * lives in, its transposes) inside `exportOnnx` (over the house limit of ~80 lines); an op table of rules over a
 * context, as models/onnx/ops.ts does for import, is the way to split it.
 */
import { onnx } from 'onnx-proto';
import type { Activation, Network, Op } from '../models/network';
import * as tf from '../tf';

/** The network cannot be expressed in ONNX by these rules (the message names the op). */
export class NativeExportError extends Error {
  override name = 'NativeExportError';
}

export interface ExportOptions {
  /** Values to output, by name (op names); default: every inspectable layer's op, in `net.layers` order. */
  outputs?: string[];
  /** Layout of rank-4 outputs: NHWC (default, the Network's) or NCHW (one node's map contiguous). */
  layout?: 'nhwc' | 'nchw';
  /**
   * Output the scan's node scores instead of the values: per requested value one `[batch, 4, nodes]` output
   * holding each node's Frobenius norm, maximum, mean and the position of its (first) maximum (row-major over
   * the node's map, as a float). The values stay inside the graph, so the runtime still fuses them and no
   * layer's map is copied out.
   */
  scores?: boolean;
}

/** The exported model: its bytes and the graph's input and output names (outputs in the order asked). */
export interface ExportedModel {
  bytes: Uint8Array;
  input: string;
  outputs: string[];
}

const OPSET = 17;
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
/** NHWC axis → NCHW axis. */
const AXIS_NCHW = [0, 2, 3, 1];

type Layout = 'nchw' | 'nhwc';
/** A value as it exists in the graph: its ONNX name, its rank (batch included), its layout (rank 4 only). */
interface Value {
  name: string;
  rank: number;
  layout: Layout;
  /** The same value in the other layout, once a consumer asked for it. */
  other?: string;
}

const A = onnx.AttributeProto.AttributeType;
type Attr = onnx.IAttributeProto;
const int = (name: string, i: number): Attr => ({ name, type: A.INT, i });
const ints = (name: string, v: number[]): Attr => ({ name, type: A.INTS, ints: v });
const float = (name: string, f: number): Attr => ({ name, type: A.FLOAT, f });
const str = (name: string, s: string): Attr => ({ name, type: A.STRING, s: new TextEncoder().encode(s) });

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private count = 0;

  fresh(hint: string): string {
    return `${hint}__${this.count++}`;
  }

  node(opType: string, inputs: string[], attrs: Attr[] = [], hint = opType): string {
    const out = this.fresh(hint);
    this.nodes.push({ opType, input: inputs, output: [out], attribute: attrs, name: out });
    return out;
  }

  floats(data: Float32Array | number[], dims: number[], hint = 'const'): string {
    const name = this.fresh(hint);
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)) });
    return name;
  }

  int64s(values: number[], hint = 'shape'): string {
    const name = this.fresh(hint);
    const b = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(b.buffer) });
    return name;
  }
}

/** A tensor's float32 values, optionally reshaped to `shape` and then transposed by `perm` first. */
function values(t: tf.Tensor, perm?: number[], shape?: number[]): Float32Array {
  // Not computed inside `tf.tidy`'s return value: tidy walks what its function returns, element by element
  // for a typed array (seconds for a ResNet's weights).
  const x = t.dtype === 'float32' && !perm && !shape ? t : tf.tidy(() => {
    let y = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
    if (shape) y = tf.reshape(y, shape);
    return perm ? tf.transpose(y, perm) : y;
  });
  try {
    return Float32Array.from(x.dataSync() as Float32Array);
  } finally {
    if (x !== t) x.dispose();
  }
}

/** `[t, b, l, r]` → ONNX's `[t, l, b, r]`. */
const onnxPads = (p: [number, number, number, number]) => [p[0], p[2], p[1], p[3]];

/**
 * Exports `net` (see the file comment). Throws `NativeExportError` naming the first op without a rule.
 */
export function exportOnnx(net: Network, opts: ExportOptions = {}): ExportedModel {
  const g = new GraphBuilder();
  const vals = new Map<string, Value>();
  const inputRank = net.input.shape.length + 1;
  const inputName = 'input';
  vals.set(net.input.name, { name: inputName, rank: inputRank, layout: 'nhwc' });

  /** Value `name` in layout `want` (rank-4 values only; others are returned as they are). */
  const get = (name: string, want: Layout): string => {
    const v = vals.get(name);
    if (!v) throw new NativeExportError(`value "${name}" is not computed before it is read`);
    if (v.rank !== 4 || v.layout === want) return v.name;
    v.other ??= g.node('Transpose', [v.name], [ints('perm', want === 'nchw' ? TO_NCHW : TO_NHWC)], `${v.name}_${want}`);
    return v.other;
  };
  /** A constant operand, broadcast against a value of rank `rank` held in layout `layout`. */
  const constant = (t: tf.Tensor, rank: number, layout: Layout): string => {
    if (layout === 'nhwc' || rank !== 4) return g.floats(values(t), t.shape);
    if (t.rank > 4) throw new NativeExportError(`a constant of rank ${t.rank} against a rank-4 value`);
    const shape4 = [...Array(4 - t.rank).fill(1), ...t.shape];
    const data = values(t, TO_NCHW, shape4);
    return g.floats(data, TO_NCHW.map((a) => shape4[a]));
  };
  const isConst = (name: string) => !vals.has(name) && net.constants.has(name);
  const rankOf = (name: string) => vals.get(name)?.rank ?? net.constants.get(name)!.rank;
  /** An operand (value or constant) in the layout `layout` of a rank-`rank` result. */
  const operand = (name: string, rank: number, layout: Layout): string => {
    if (isConst(name)) return constant(net.constants.get(name)!, rank, layout);
    return get(name, layout);
  };
  /** The layout an op that works in either layout should use: NCHW when every computed rank-4 input already is. */
  const preferred = (inputs: string[]): Layout => {
    const computed = inputs.filter((n) => vals.has(n)).map((n) => vals.get(n)!);
    return computed.length > 0 && computed.every((v) => v.rank === 4 && v.layout === 'nchw') ? 'nchw' : 'nhwc';
  };
  /** Maps an NHWC axis of a rank-`rank` value to its position in `layout`. */
  const axisIn = (axis: number, rank: number, layout: Layout) => {
    const a = axis < 0 ? axis + rank : axis;
    return layout === 'nchw' && rank === 4 ? AXIS_NCHW[a] : a;
  };

  const activation = (x: string, act: Activation | undefined, rank: number, layout: Layout, op: Op): string => {
    if (!act) return x;
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
        return g.node(act.fn === 'softmax' ? 'Softmax' : 'LogSoftmax', [x], [int('axis', axisIn(act.axis, rank, layout))]);
      default:
        throw new NativeExportError(`op "${op.name}": activation ${(act as { fn: string }).fn} has no ONNX rule`);
    }
  };

  for (const op of net.ops) {
    const rank = op.shape.length + 1;
    const set = (name: string, layout: Layout) => vals.set(op.name, { name, rank, layout });
    const x0 = op.inputs[0];
    switch (op.kind) {
      case 'conv2d':
      case 'depthwiseConv2d': {
        const k = op.weights.kernel;
        const [kh, kw, kin, kout] = k.shape;
        const w =
          op.kind === 'conv2d'
            ? g.floats(values(k, [3, 2, 0, 1]), [kout, kin, kh, kw], `${op.name}.weight`)
            : // Depthwise: a grouped conv with one group per input channel; output channel c·m + j is the tf one.
              g.floats(values(k, [3, 2, 0, 1], [kh, kw, 1, kin * kout]), [kin * kout, 1, kh, kw], `${op.name}.weight`);
        const inputs = [get(x0, 'nchw'), w];
        if (op.weights.bias) inputs.push(g.floats(values(op.weights.bias), op.weights.bias.shape, `${op.name}.bias`));
        const y = g.node('Conv', inputs, [ints('kernel_shape', [kh, kw]), ints('strides', op.strides), ints('dilations', op.dilations), ints('pads', onnxPads(op.pads)), int('group', op.kind === 'conv2d' ? op.groups : kin)], op.name);
        set(activation(y, op.activation, 4, 'nchw', op), 'nchw');
        break;
      }
      case 'convTranspose2d': {
        const k = op.weights.kernel;
        const [kh, kw, cout, cin] = k.shape;
        const inputs = [get(x0, 'nchw'), g.floats(values(k, [3, 2, 0, 1]), [cin, cout, kh, kw], `${op.name}.weight`)];
        if (op.weights.bias) inputs.push(g.floats(values(op.weights.bias), op.weights.bias.shape, `${op.name}.bias`));
        const y = g.node('ConvTranspose', inputs, [ints('kernel_shape', [kh, kw]), ints('strides', op.strides), ints('pads', onnxPads(op.pads)), ints('output_padding', op.outputPadding)], op.name);
        set(activation(y, op.activation, 4, 'nchw', op), 'nchw');
        break;
      }
      case 'dense': {
        const xr = rankOf(x0);
        const w = g.floats(values(op.weights.kernel), op.weights.kernel.shape, `${op.name}.weight`);
        const b = op.weights.bias ? g.floats(values(op.weights.bias), op.weights.bias.shape, `${op.name}.bias`) : undefined;
        let y: string;
        if (xr === 2) y = g.node('Gemm', b ? [get(x0, 'nhwc'), w, b] : [get(x0, 'nhwc'), w], [], op.name);
        else {
          // Over the last axis of an NHWC value (a Keras Dense on a feature map).
          y = g.node('MatMul', [get(x0, 'nhwc'), w], [], op.name);
          if (b) y = g.node('Add', [y, b]);
        }
        set(activation(y, op.activation, rank, 'nhwc', op), 'nhwc');
        break;
      }
      case 'matMul':
        set(g.node('MatMul', [operand(op.inputs[0], rank, 'nhwc'), operand(op.inputs[1], rank, 'nhwc')], [], op.name), 'nhwc');
        break;
      case 'activation': {
        const layout = preferred([x0]);
        set(activation(get(x0, layout), op.activation, rank, layout, op), layout);
        break;
      }
      case 'identity': {
        const v = vals.get(x0);
        if (!v) throw new NativeExportError(`op "${op.name}" reads "${x0}", which is not computed before it`);
        vals.set(op.name, v);
        break;
      }
      case 'prelu': {
        const layout = preferred([x0]);
        set(g.node('PRelu', [get(x0, layout), constant(op.weights.alpha, rank, layout)], [], op.name), layout);
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        let x = get(x0, 'nchw');
        let pads = op.pads;
        // onnxruntime refuses pads as large as the window: pad first (max: the lowest float; avg counting pads: 0).
        const [t, b, l, r] = op.pads;
        if (Math.max(t, b) >= op.size[0] || Math.max(l, r) >= op.size[1]) {
          if (op.kind === 'avgPool' && !op.countIncludePad) throw new NativeExportError(`op "${op.name}": average pool with pads as large as its window, not counting pads`);
          x = g.node('Pad', [x, g.int64s([0, 0, t, l, 0, 0, b, r]), g.floats([op.kind === 'maxPool' ? -3.4028234663852886e38 : 0], [])], [str('mode', 'constant')]);
          pads = [0, 0, 0, 0];
        }
        const attrs = [ints('kernel_shape', op.size), ints('strides', op.strides), ints('pads', onnxPads(pads))];
        if (op.kind === 'avgPool') attrs.push(int('count_include_pad', op.countIncludePad ? 1 : 0));
        set(g.node(op.kind === 'maxPool' ? 'MaxPool' : 'AveragePool', [x], attrs, op.name), 'nchw');
        break;
      }
      case 'globalAvgPool':
      case 'globalMaxPool': {
        const y = g.node(op.kind === 'globalAvgPool' ? 'GlobalAveragePool' : 'GlobalMaxPool', [get(x0, 'nchw')], [], op.name);
        if (op.keepDims) set(y, 'nchw');
        else set(g.node('Flatten', [y], [int('axis', 1)]), 'nhwc');
        break;
      }
      case 'batchNorm': {
        const { mean, variance, gamma, beta } = op.weights;
        const c = mean.shape[0];
        if (rank === 4 || rank === 2) {
          const scale = gamma ? values(gamma) : new Float32Array(c).fill(1);
          const shift = beta ? values(beta) : new Float32Array(c);
          const layout: Layout = rank === 4 ? 'nchw' : 'nhwc';
          const ins = [get(x0, layout), g.floats(scale, [c]), g.floats(shift, [c]), g.floats(values(mean), [c]), g.floats(values(variance), [c])];
          set(g.node('BatchNormalization', ins, [float('epsilon', op.epsilon)], op.name), layout);
        } else {
          // Channels last of another rank: y = x · s + (β − μ · s), s = γ / √(σ² + ε).
          const m = values(mean);
          const v = values(variance);
          const gm = gamma ? values(gamma) : undefined;
          const bt = beta ? values(beta) : undefined;
          const s = new Float32Array(c);
          const t = new Float32Array(c);
          for (let i = 0; i < c; i++) {
            s[i] = (gm ? gm[i] : 1) / Math.sqrt(v[i] + op.epsilon);
            t[i] = (bt ? bt[i] : 0) - m[i] * s[i];
          }
          set(g.node('Add', [g.node('Mul', [get(x0, 'nhwc'), g.floats(s, [c])]), g.floats(t, [c])], [], op.name), 'nhwc');
        }
        break;
      }
      case 'pad': {
        const layout: Layout = rank === 4 ? 'nchw' : 'nhwc';
        const p = layout === 'nchw' ? TO_NCHW.map((a) => op.pads[a]) : op.pads;
        if (p.length !== rank) throw new NativeExportError(`op "${op.name}": ${p.length} pad pairs for a rank-${rank} value`);
        const pads = g.int64s([...p.map((q) => q[0]), ...p.map((q) => q[1])], `${op.name}.pads`);
        const ins = [get(x0, layout), pads];
        if (op.mode === 'constant') ins.push(g.floats([op.value], []));
        set(g.node('Pad', ins, [str('mode', op.mode)], op.name), layout);
        break;
      }
      case 'add':
      case 'sub':
      case 'mul':
      case 'div':
      case 'max':
      case 'min': {
        const onnxOp = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', max: 'Max', min: 'Min' }[op.kind];
        // NCHW only when every computed operand is a rank-4 NCHW value and so is the result.
        const layout = rank === 4 ? preferred(op.inputs) : 'nhwc';
        const y = g.node(onnxOp, op.inputs.map((n) => operand(n, rank, layout)), [], op.name);
        set(activation(y, op.activation, rank, layout, op), layout);
        break;
      }
      case 'concat': {
        const layout = rank === 4 ? preferred(op.inputs) : 'nhwc';
        set(g.node('Concat', op.inputs.map((n) => operand(n, rank, layout)), [int('axis', axisIn(op.axis, rank, layout))], op.name), layout);
        break;
      }
      case 'reduceMean':
      case 'reduceMax':
      case 'reduceSum': {
        const xr = rankOf(x0);
        const axes = op.axes.map((a) => (a < 0 ? a + xr : a));
        const x = get(x0, 'nhwc');
        const keep = int('keepdims', op.keepDims ? 1 : 0);
        const y =
          op.kind === 'reduceSum'
            ? g.node('ReduceSum', [x, g.int64s(axes)], [keep], op.name)
            : g.node(op.kind === 'reduceMean' ? 'ReduceMean' : 'ReduceMax', [x], [ints('axes', axes), keep], op.name);
        set(y, 'nhwc');
        break;
      }
      case 'flatten': {
        const xr = rankOf(x0);
        // NCHW order: flattening the NCHW value is exactly the channels-first order.
        const x = get(x0, op.order === 'nchw' && xr === 4 ? 'nchw' : 'nhwc');
        if (op.order === 'nchw' && xr !== 4 && xr > 2) throw new NativeExportError(`op "${op.name}": channels-first flatten of a rank-${xr} value`);
        set(g.node('Flatten', [x], [int('axis', 1)], op.name), 'nhwc');
        break;
      }
      case 'reshape':
        set(g.node('Reshape', [get(x0, 'nhwc'), g.int64s([0, ...op.shape])], [], op.name), 'nhwc');
        break;
      case 'transpose': {
        const xr = rankOf(x0);
        const perm = op.perm.length === xr ? op.perm : op.perm.length === xr - 1 ? [0, ...op.perm.map((p) => p + 1)] : null;
        if (!perm) throw new NativeExportError(`op "${op.name}": a permutation of ${op.perm.length} axes for a rank-${xr} value`);
        set(g.node('Transpose', [get(x0, 'nhwc')], [ints('perm', perm)], op.name), 'nhwc');
        break;
      }
      case 'resize': {
        const x = get(x0, 'nchw');
        // Sizes [batch, channels, h, w]: the batch is dynamic, so the first two come from the input's shape.
        const nc = g.node('Slice', [g.node('Shape', [x]), g.int64s([0]), g.int64s([2])]);
        const sizes = g.node('Concat', [nc, g.int64s(op.size)], [int('axis', 0)]);
        // As forward.ts: bilinear with half-pixel centres unless alignCorners (PyTorch's and ONNX's default);
        // nearest without (asymmetric, floor); with alignCorners corners map to corners and nearest rounds.
        const mode = op.alignCorners ? 'align_corners' : op.method === 'bilinear' && op.halfPixel !== false ? 'half_pixel' : 'asymmetric';
        const attrs = [str('mode', op.method === 'nearest' ? 'nearest' : 'linear'), str('coordinate_transformation_mode', mode)];
        if (op.method === 'nearest') attrs.push(str('nearest_mode', op.alignCorners ? 'round_prefer_ceil' : 'floor'));
        set(g.node('Resize', [x, '', '', sizes], attrs, op.name), 'nchw');
        break;
      }
      default:
        throw new NativeExportError(`op "${(op as Op).name}" (${(op as Op).kind}) has no ONNX export rule`);
    }
  }

  const layout: Layout = opts.layout ?? 'nhwc';
  const wanted = opts.outputs ?? net.layers.map((l) => net.ops[l.op].name);
  const outputs: onnx.IValueInfoProto[] = [];
  const outNames: string[] = [];
  const shapes = new Map(net.ops.map((op) => [op.name, op.shape]));
  const used = new Set<string>();
  wanted.forEach((name, i) => {
    const v = vals.get(name);
    if (!v) throw new NativeExportError(`no value named "${name}" to output`);
    const shape = shapes.get(name) ?? net.input.shape;
    if (opts.scores) {
      const nodes = shape[shape.length - 1];
      const scored = scoreNodes(g, v.rank === 4 ? get(name, 'nchw') : v.name, v.rank, nodes, `scores_${i}`);
      outputs.push(valueInfo(scored, [4, nodes]));
      outNames.push(scored);
      return;
    }
    // The value itself is the graph output (an Identity would copy every layer's output once more); only a
    // value asked for twice (an identity op's alias) gets a copy under a second name.
    let out = get(name, layout);
    if (used.has(out) || out === inputName) {
      const copy = `output_${i}`;
      g.nodes.push({ opType: 'Identity', input: [out], output: [copy], name: copy });
      out = copy;
    }
    used.add(out);
    const dims = v.rank === 4 && layout === 'nchw' ? [shape[2], shape[0], shape[1]] : shape;
    outputs.push(valueInfo(out, dims));
    outNames.push(out);
  });

  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'feature-lens',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: { name: net.name || 'network', node: g.nodes, initializer: g.initializers, input: [valueInfo(inputName, net.input.shape)], output: outputs },
  };
  return { bytes: onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish(), input: inputName, outputs: outNames };
}

/**
 * `[batch, 4, nodes]`: each node's Frobenius norm, maximum, mean and first-maximum position over its map.
 * `x` is the value with its nodes on axis 1 (rank 4, NCHW) or last (rank 2 or 3, as the Network holds it).
 */
function scoreNodes(g: GraphBuilder, x: string, rank: number, nodes: number, out: string): string {
  // `[batch, nodes, positions]`: one node's map contiguous on the last axis.
  let maps: string;
  if (rank === 2) maps = g.node('Unsqueeze', [x, g.int64s([2])]);
  else if (rank === 3) maps = g.node('Transpose', [x], [ints('perm', [0, 2, 1])]);
  else if (rank === 4) maps = g.node('Reshape', [x, g.int64s([0, nodes, -1])]);
  else throw new NativeExportError(`cannot score a value of rank ${rank}`);
  const over = [ints('axes', [2]), int('keepdims', 1)];
  const l2 = g.node('ReduceL2', [maps], over);
  const max = g.node('ReduceMax', [maps], over);
  const mean = g.node('ReduceMean', [maps], over);
  const where = g.node('Cast', [g.node('ArgMax', [maps], [int('axis', 2), int('keepdims', 1)])], [int('to', onnx.TensorProto.DataType.FLOAT)]);
  // `[batch, nodes, 4]` → `[batch, 4, nodes]`: each score's row of nodes contiguous.
  const all = g.node('Concat', [l2, max, mean, where], [int('axis', 2)]);
  g.nodes.push({ opType: 'Transpose', input: [all], output: [out], attribute: [ints('perm', [0, 2, 1])], name: out });
  return out;
}

/** A float tensor `[batch, ...dims]` with a symbolic batch. */
function valueInfo(name: string, dims: number[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...dims.map((d) => ({ dimValue: d }))] } } },
  };
}
