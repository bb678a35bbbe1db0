/**
 * TF.js graph models (`model.json` with `"format": "graph-model"`, what `tensorflowjs_converter` makes from a
 * SavedModel or a frozen graph): the TensorFlow nodes become the network representation's ops.
 *
 * The weights are decoded by tfjs's own reader (`tf.io.decodeWeights`: quantized and float16 weights included);
 * `Const` nodes become constants, folded into the op that uses them as weights (a conv's filter, a dense
 * kernel, a batch norm's statistics) or kept as constant operands (`Mul` by a constant). Shape arithmetic on
 * constants (`Shape` → `StridedSlice` → `Mul` feeding a resize) is evaluated at import. The graph is NHWC
 * already; shapes are inferred from the placeholder's fixed size. An op without a rule here is one line naming
 * the op, the node and the file.
 *
 * Long on purpose (for now): one converter closure per graph, its rules sharing the node lookup, the constant
 * folding and the ownership of decoded tensors; `convert` and `convertNode` exceed the house limit of ~80 lines.
 * The ONNX importer's shape (models/onnx/: an op table of handlers over a context) is where this should go.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import * as tf from '../tf';
import { broadcastShapes } from './broadcast';
import { cutBeforePostprocessing } from './graphPostprocessing';
import { type Activation, inspectableLayers, type Network, type Op, type OpSpec } from './network';

const MAX_JSON_BYTES = 64 * 2 ** 20;
const MAX_WEIGHTS_BYTES = 2 * 2 ** 30;

interface AttrValue {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { i?: (string | number)[]; f?: number[]; s?: string[]; b?: boolean[] };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string | number }[] }; intVal?: number[]; floatVal?: number[]; int64Val?: string[] };
}
interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}
interface GraphModelJson {
  format?: string;
  modelTopology?: { node?: GraphNode[]; library?: { function?: unknown[] }; versions?: unknown };
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  signature?: { inputs?: Record<string, { name?: string }>; outputs?: Record<string, { name?: string }> };
}

const b64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
const ints = (a: AttrValue | undefined): number[] => (a?.list?.i ?? []).map(Number);
const str = (a: AttrValue | undefined): string => b64(a?.s);
const flag = (a: AttrValue | undefined): boolean => !!a?.b;

/** True for a parsed `model.json` that is a TF.js graph model (older converters wrote no `format`: nodes tell). */
export function isGraphModelJson(json: unknown): boolean {
  const j = json as GraphModelJson | null;
  return !!j && typeof j === 'object' && (j.format === 'graph-model' || (j.format === undefined && Array.isArray(j.modelTopology?.node)));
}

/** A value during import: an op output (shape without batch) or a constant known now. */
type Value = { kind: 'op'; name: string; shape: number[] } | { kind: 'input'; name: string; shape: number[] } | { kind: 'const'; name: string; tensor: tf.Tensor };

/** Reads the weight shards of a manifest, checking each file and the total size against the manifest. */
async function readWeights(json: GraphModelJson, file: string): Promise<tf.NamedTensorMap> {
  const dir = path.dirname(file);
  const out: tf.NamedTensorMap = {};
  for (const group of json.weightsManifest ?? []) {
    const parts: Uint8Array[] = [];
    for (const p of group.paths) {
      const shard = path.resolve(dir, p);
      if (path.relative(dir, shard).startsWith('..')) throw new UserError('badInput', `names a weights file outside its folder (${p}).`, file);
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(shard);
      } catch {
        throw new UserError('notFound', `names the weights file ${p}, which does not exist.`, file);
      }
      if (!st.isFile()) throw new UserError('badInput', `names the weights file ${p}, which is not a regular file.`, file);
      if (st.size > MAX_WEIGHTS_BYTES) throw new UserError('badInput', `names the weights file ${p} of ${(st.size / 2 ** 20).toFixed(0)} MB, more than accepted.`, file);
      parts.push(new Uint8Array(await fs.promises.readFile(shard)));
    }
    const total = parts.reduce((a, p) => a + p.length, 0);
    const want = group.weights.reduce((a, w) => a + byteSize(w), 0);
    if (Number.isFinite(want) && total < want) throw new UserError('badInput', `has weight files of ${total} bytes; its manifest needs ${want}.`, file);
    const data = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    try {
      Object.assign(out, tf.io.decodeWeights(data.buffer, group.weights));
    } catch (e) {
      throw new UserError('badInput', `has weights tfjs cannot decode (${e instanceof Error ? e.message : String(e)}).`, file);
    }
  }
  return out;
}

function byteSize(w: tf.io.WeightsManifestEntry): number {
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (w.quantization) return n * (w.quantization.dtype === 'uint8' ? 1 : 2);
  if (w.dtype === 'string') return NaN;
  return n * (w.dtype === 'bool' ? 1 : 4);
}

/** A Const node's inline `value` (small graphs keep scalars there instead of in the weights). */
function inlineTensor(node: GraphNode): tf.Tensor | undefined {
  const t = node.attr?.value?.tensor;
  if (!t) return undefined;
  const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size));
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = t.dtype === 'DT_FLOAT' ? 'float32' : 'int32';
  const vals = (t.floatVal ?? t.intVal ?? t.int64Val ?? []).map(Number);
  return tf.tensor(vals.length === 1 && n > 1 ? new Array(n).fill(vals[0]) : vals, shape, dtype);
}

/** `[top, bottom, left, right]` for TensorFlow's SAME padding (the extra pixel at the bottom/right). */
function samePads(inH: number, inW: number, k: [number, number], s: [number, number], d: [number, number]): [number, number, number, number] {
  const one = (size: number, kk: number, ss: number, dd: number): [number, number] => {
    const eff = (kk - 1) * dd + 1;
    const out = Math.ceil(size / ss);
    const total = Math.max((out - 1) * ss + eff - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [t, b] = one(inH, k[0], s[0], d[0]);
  const [l, r] = one(inW, k[1], s[1], d[1]);
  return [t, b, l, r];
}

function outSize(size: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((size + p0 + p1 - (d * (k - 1) + 1)) / s) + 1;
}


const ACTIVATIONS: Record<string, Activation> = {
  Relu: { fn: 'relu' },
  Relu6: { fn: 'clip', min: 0, max: 6 },
  Sigmoid: { fn: 'sigmoid' },
  Tanh: { fn: 'tanh' },
  Elu: { fn: 'elu' },
  Selu: { fn: 'selu' },
  Softplus: { fn: 'softplus' },
  Softsign: { fn: 'softsign' },
  Exp: { fn: 'exp' },
};

const IDENTITY_OPS = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient', 'NoOp', 'IdentityN', 'Cast', 'EnsureShape', 'CheckNumerics']);
const ELEMENTWISE: Record<string, 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min'> = { Add: 'add', AddV2: 'add', BiasAdd: 'add', Sub: 'sub', Mul: 'mul', RealDiv: 'div', Div: 'div', Maximum: 'max', Minimum: 'min' };

/** Loads a TF.js graph model into the network representation. */
export async function loadTfjsGraph(file: string): Promise<Network> {
  file = path.resolve(file);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch {
    throw new UserError('notFound', 'file not found.', file);
  }
  if (!st.isFile()) throw new UserError('badInput', 'is not a regular file.', file);
  if (st.size > MAX_JSON_BYTES) throw new UserError('badInput', `is ${(st.size / 2 ** 20).toFixed(0)} MB; a model.json is a small JSON file (the weights live in .bin shards).`, file);
  let json: GraphModelJson;
  try {
    json = JSON.parse(await fs.promises.readFile(file, 'utf8')) as GraphModelJson;
  } catch (e) {
    throw new UserError('badInput', `is not valid JSON (${e instanceof Error ? e.message : String(e)}).`, file);
  }
  if (!isGraphModelJson(json)) throw new UserError('badInput', 'is not a TF.js graph model ("format" is not "graph-model").', file);
  const nodes = json.modelTopology?.node;
  if (!Array.isArray(nodes) || !nodes.length) throw new UserError('badInput', 'is a graph model without nodes (modelTopology.node).', file);
  if (json.modelTopology?.library?.function?.length) {
    throw new UserError('unsupported', 'holds control-flow functions (modelTopology.library: loops or conditionals), which the network representation cannot hold.', file);
  }
  const weights = await readWeights(json, file);
  try {
    return convert(json, nodes, weights, file);
  } finally {
    tf.dispose(Object.values(weights));
  }
}

function convert(json: GraphModelJson, nodes: GraphNode[], weights: tf.NamedTensorMap, file: string): Network {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const values = new Map<string, Value>();
  const ops: Op[] = [];
  const constants = new Map<string, tf.Tensor>();
  const owned: tf.Tensor[] = [];
  let input: { name: string; shape: number[] } | undefined;

  const keep = (t: tf.Tensor): tf.Tensor => {
    owned.push(t);
    return t;
  };
  const fail = (node: GraphNode, why?: string): never => {
    throw new UserError('unsupported', `node "${node.name}" uses the TensorFlow op ${node.op}${why ? ` ${why}` : ''}, which Feature Lens cannot run yet.`, file);
  };

  const visiting = new Set<string>();
  const value = (ref: string): Value => {
    const [name, index] = ref.replace(/^\^/, '').split(':');
    if (index && index !== '0') {
      const n = byName.get(name);
      throw new UserError('unsupported', `node "${n?.name ?? name}" uses the TensorFlow op ${n?.op ?? '?'} with several outputs (its output ${index} is read), which Feature Lens cannot run yet.`, file);
    }
    const got = values.get(name);
    if (got) return got;
    const node = byName.get(name);
    if (!node) throw new UserError('badInput', `refers to the node "${name}", which the graph does not have.`, file);
    if (visiting.has(name)) throw new UserError('unsupported', `has a cycle through node "${name}" (a loop), which the network representation cannot hold.`, file);
    visiting.add(name);
    const v = convertNode(node);
    visiting.delete(name);
    values.set(name, v);
    return v;
  };
  const inputs = (node: GraphNode): Value[] => (node.input ?? []).filter((r) => !r.startsWith('^')).map(value);
  const constOf = (v: Value, node: GraphNode, what: string): tf.Tensor => {
    if (v.kind !== 'const') fail(node, `with a computed ${what} (only a constant ${what} is supported)`);
    return (v as { tensor: tf.Tensor }).tensor;
  };
  const constInts = (v: Value, node: GraphNode, what: string): number[] => Array.from(constOf(v, node, what).dataSync(), Number);
  const shapeOf = (v: Value): number[] => (v.kind === 'const' ? v.tensor.shape.slice(1) : v.shape);
  const rankOf = (v: Value): number => (v.kind === 'const' ? v.tensor.rank : v.shape.length + 1);

  const push = (node: GraphNode, name: string, ins: string[], shape: number[], spec: OpSpec): Value => {
    ops.push({ ...spec, name, inputs: ins, shape, source: node.op } as Op);
    return { kind: 'op', name, shape };
  };
  /** A weight tensor owned by the network (copied: the decoded map is freed after import). */
  const weight = <T extends tf.Tensor>(t: tf.Tensor): T => keep(tf.clone(t)) as T;
  const operand = (v: Value): string => {
    if (v.kind === 'const' && !constants.has(v.name)) constants.set(v.name, weight(v.tensor));
    return v.name;
  };

  /** Appends a fused activation / PReLU after a conv or matmul (`_Fused*` ops' `fused_ops` after BiasAdd). */
  const fusedTail = (node: GraphNode, fused: string[], extra: Value[]): { activation?: Activation; prelu?: tf.Tensor } => {
    const rest = fused.filter((f) => f !== 'BiasAdd');
    if (rest.length > 1) fail(node, `with the fused ops ${fused.join('+')}`);
    const f = rest[0];
    if (!f) return {};
    if (ACTIVATIONS[f]) return { activation: ACTIVATIONS[f] };
    if (f === 'LeakyRelu') return { activation: { fn: 'leakyRelu', alpha: node.attr?.leakyrelu_alpha?.f ?? 0.2 } };
    if (f === 'Prelu') return { prelu: constOf(extra[1], node, 'PReLU alpha') };
    return fail(node, `with the fused op ${f}`);
  };
  const withTail = (node: GraphNode, v: Value, tail: { prelu?: tf.Tensor }): Value => {
    if (!tail.prelu) return v;
    return push(node, node.name, [v.name], (v as { shape: number[] }).shape, { kind: 'prelu', weights: { alpha: weight(tail.prelu) } });
  };

  const convertNode = (node: GraphNode): Value => {
    const a = node.attr ?? {};
    const dataFormat = str(a.data_format);
    if (dataFormat && dataFormat !== 'NHWC') fail(node, `with data_format ${dataFormat}`);
    switch (node.op) {
      case 'Placeholder': {
        if (input) throw new UserError('unsupported', `has a second input "${node.name}"; models with one input are supported.`, file);
        const dims = (a.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        const shape = dims.slice(1);
        if (dims.length < 2 || shape.some((d) => !(d > 0))) {
          throw new UserError('unsupported', `has the input "${node.name}" of shape [${dims.join(', ')}]: the network representation needs a fixed input size.`, file);
        }
        input = { name: node.name, shape };
        return { kind: 'input', name: node.name, shape };
      }
      case 'Const': {
        const t = weights[node.name] ?? inlineTensor(node);
        if (!t) throw new UserError('badInput', `has the constant "${node.name}" with no value in its weights.`, file);
        return { kind: 'const', name: node.name, tensor: t };
      }
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const depthwise = node.op.includes('Depthwise');
        const kernel = constOf(ins[1], node, 'filter') as tf.Tensor4D;
        const fused = (a.fused_ops?.list?.s ?? []).map(b64);
        if (fused.some((f) => f.startsWith('FusedBatchNorm'))) fail(node, 'with a fused batch norm');
        const strides = ints(a.strides);
        const dil = a.dilations ? ints(a.dilations) : [1, 1, 1, 1];
        const s: [number, number] = [strides[1] ?? 1, strides[2] ?? 1];
        const d: [number, number] = [dil[1] ?? 1, dil[2] ?? 1];
        const [kh, kw] = kernel.shape;
        const [H, W, C] = x.shape;
        const padding = str(a.padding);
        let pads: [number, number, number, number];
        if (padding === 'SAME') pads = samePads(H, W, [kh, kw], s, d);
        else if (padding === 'VALID') pads = [0, 0, 0, 0];
        else if (padding === 'EXPLICIT') {
          const e = ints(a.explicit_paddings);
          pads = [e[2], e[3], e[4], e[5]];
        } else return fail(node, `with padding ${padding}`);
        const oh = outSize(H, kh, s[0], d[0], pads[0], pads[1]);
        const ow = outSize(W, kw, s[1], d[1], pads[2], pads[3]);
        const bias = fused.includes('BiasAdd') ? (weight(keep(tf.reshape(constOf(ins[2], node, 'bias'), [-1]))) as tf.Tensor1D) : undefined;
        const tail = fusedTail(node, fused, ins.slice(2));
        const name = tail.prelu ? `${node.name}/conv` : node.name;
        const w = { kernel: weight<tf.Tensor4D>(kernel), ...(bias ? { bias } : {}) };
        const act = tail.activation ? { activation: tail.activation } : {};
        const out = depthwise
          ? push(node, name, [x.name], [oh, ow, C * kernel.shape[3]], { kind: 'depthwiseConv2d', strides: s, dilations: d, pads, ...act, weights: w })
          : push(node, name, [x.name], [oh, ow, kernel.shape[3]], { kind: 'conv2d', strides: s, dilations: d, pads, groups: C / kernel.shape[2], ...act, weights: w });
        if (!depthwise && !Number.isInteger(C / kernel.shape[2])) fail(node, `with a filter of ${kernel.shape[2]} input channels for ${C}`);
        return withTail(node, out, tail);
      }
      case 'MatMul':
      case '_FusedMatMul': {
        const ins = inputs(node);
        const [x, y] = ins;
        if (x.kind === 'const') return fold(node, ins);
        if (flag(a.transpose_a)) fail(node, 'with transpose_a');
        if (y.kind !== 'const') {
          if (node.op !== 'MatMul' || flag(a.transpose_b)) fail(node, 'of two computed values with transposes or fused ops');
          const ys = shapeOf(y);
          return push(node, node.name, [x.name, y.name], [...x.shape.slice(0, -1), ys[ys.length - 1]], { kind: 'matMul', weights: {} });
        }
        let k = y.tensor as tf.Tensor2D;
        if (flag(a.transpose_b)) k = keep(tf.transpose(k)) as tf.Tensor2D;
        const fused = (a.fused_ops?.list?.s ?? []).map(b64);
        const bias = fused.includes('BiasAdd') ? (weight(keep(tf.reshape(constOf(ins[2], node, 'bias'), [-1]))) as tf.Tensor1D) : undefined;
        const tail = fusedTail(node, fused, ins.slice(2));
        const out = push(node, tail.prelu ? `${node.name}/matmul` : node.name, [x.name], [...x.shape.slice(0, -1), k.shape[1]], {
          kind: 'dense',
          ...(tail.activation ? { activation: tail.activation } : {}),
          weights: { kernel: weight<tf.Tensor2D>(k), ...(bias ? { bias } : {}) },
        });
        return withTail(node, out, tail);
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV2':
      case 'FusedBatchNormV3': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        if (flag(a.is_training)) fail(node, 'in training mode');
        const [gamma, beta, mean, variance] = ins.slice(1).map((v, i) => weight<tf.Tensor1D>(constOf(v, node, ['scale', 'offset', 'mean', 'variance'][i])));
        return push(node, node.name, [x.name], x.shape, { kind: 'batchNorm', epsilon: a.epsilon?.f ?? 1e-3, weights: { mean, variance, gamma, beta } });
      }
      case 'Prelu': {
        const ins = inputs(node);
        if (ins[0].kind === 'const') return fold(node, ins);
        return push(node, node.name, [ins[0].name], shapeOf(ins[0]), { kind: 'prelu', weights: { alpha: weight(constOf(ins[1], node, 'alpha')) } });
      }
      case 'LeakyRelu':
      case 'Softmax':
      case 'LogSoftmax':
      case 'Relu':
      case 'Relu6':
      case 'Sigmoid':
      case 'Tanh':
      case 'Elu':
      case 'Selu':
      case 'Softplus':
      case 'Softsign':
      case 'Exp': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const act: Activation =
          node.op === 'LeakyRelu' ? { fn: 'leakyRelu', alpha: a.alpha?.f ?? 0.2 } : node.op === 'Softmax' || node.op === 'LogSoftmax' ? { fn: node.op === 'Softmax' ? 'softmax' : 'logSoftmax', axis: x.shape.length } : ACTIVATIONS[node.op];
        return push(node, node.name, [x.name], x.shape, { kind: 'activation', activation: act, weights: {} });
      }
      case 'Add':
      case 'AddV2':
      case 'BiasAdd':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Div':
      case 'Maximum':
      case 'Minimum': {
        const ins = inputs(node);
        if (ins.every((v) => v.kind === 'const')) return fold(node, ins);
        return push(node, node.name, ins.map(operand), broadcastShape(node, ins[0], ins[1]), { kind: ELEMENTWISE[node.op], weights: {} });
      }
      case 'AddN': {
        const ins = inputs(node);
        if (ins.every((v) => v.kind === 'const')) return fold(node, ins);
        let acc = ins[0];
        for (let i = 1; i < ins.length; i++) {
          acc = push(node, i === ins.length - 1 ? node.name : `${node.name}/${i}`, [operand(acc), operand(ins[i])], broadcastShape(node, acc, ins[i]), { kind: 'add', weights: {} });
        }
        return acc;
      }
      case 'MaxPool':
      case 'AvgPool': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const k = ints(a.ksize);
        const st = ints(a.strides);
        const size: [number, number] = [k[1], k[2]];
        const s: [number, number] = [st[1], st[2]];
        const [H, W, C] = x.shape;
        const padding = str(a.padding);
        const pads = padding === 'SAME' ? samePads(H, W, size, s, [1, 1]) : ([0, 0, 0, 0] as [number, number, number, number]);
        if (padding !== 'SAME' && padding !== 'VALID') fail(node, `with padding ${padding}`);
        return push(node, node.name, [x.name], [outSize(H, size[0], s[0], 1, pads[0], pads[1]), outSize(W, size[1], s[1], 1, pads[2], pads[3]), C], {
          kind: node.op === 'MaxPool' ? 'maxPool' : 'avgPool',
          size,
          strides: s,
          pads,
          countIncludePad: false,
          weights: {},
        });
      }
      case 'Mean':
      case 'Max':
      case 'Sum': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const rank = x.shape.length + 1;
        const axes = [...new Set(constInts(ins[1], node, 'axis').map((ax) => (ax < 0 ? ax + rank : ax)))].sort();
        if (axes.includes(0)) fail(node, 'over the batch axis');
        const keepDims = flag(a.keep_dims);
        const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i + 1) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i + 1));
        if (rank === 4 && axes.join() === '1,2' && node.op !== 'Sum') {
          return push(node, node.name, [x.name], shape, { kind: node.op === 'Mean' ? 'globalAvgPool' : 'globalMaxPool', keepDims, weights: {} });
        }
        return push(node, node.name, [x.name], shape, { kind: node.op === 'Mean' ? 'reduceMean' : node.op === 'Max' ? 'reduceMax' : 'reduceSum', axes, keepDims, weights: {} });
      }
      case 'Pad':
      case 'PadV2':
      case 'MirrorPad': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const p = constInts(ins[1], node, 'padding');
        const pairs: [number, number][] = [];
        for (let i = 0; i < p.length; i += 2) pairs.push([p[i], p[i + 1]]);
        if (pairs[0][0] || pairs[0][1]) fail(node, 'padding the batch axis');
        let mode: 'constant' | 'reflect' | 'edge' = 'constant';
        if (node.op === 'MirrorPad') {
          const m = str(a.mode);
          if (m !== 'REFLECT') fail(node, `in ${m} mode`);
          mode = 'reflect';
        }
        const padValue = node.op === 'PadV2' ? constInts(ins[2], node, 'pad value')[0] : 0;
        return push(node, node.name, [x.name], x.shape.map((d, i) => d + pairs[i + 1][0] + pairs[i + 1][1]), { kind: 'pad', pads: pairs, mode, value: padValue, weights: {} });
      }
      case 'Reshape':
      case 'Squeeze':
      case 'ExpandDims': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const size = x.shape.reduce((p, q) => p * q, 1);
        let target: number[];
        if (node.op === 'Reshape') {
          const t = constInts(ins[1], node, 'shape');
          // The first entry is the batch (-1, or the placeholder's fixed 1).
          target = t.slice(1);
          const known = target.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
          target = target.map((d) => (d === -1 ? size / known : d));
        } else if (node.op === 'Squeeze') {
          const dims = ints(a.squeeze_dims).map((ax) => (ax < 0 ? ax + x.shape.length + 1 : ax));
          target = x.shape.filter((d, i) => !(dims.length ? dims.includes(i + 1) : d === 1));
        } else {
          let ax = constInts(ins[1], node, 'axis')[0];
          if (ax < 0) ax += x.shape.length + 2;
          target = [...x.shape.slice(0, ax - 1), 1, ...x.shape.slice(ax - 1)];
        }
        if (target.reduce((p, q) => p * q, 1) !== size || target.some((d) => !Number.isInteger(d) || d < 1)) fail(node, `to the shape [${target.join(', ')}] of another size than its input [${x.shape.join(', ')}]`);
        if (target.length === 1 && x.shape.length === 3) return push(node, node.name, [x.name], target, { kind: 'flatten', order: 'nhwc', weights: {} });
        return push(node, node.name, [x.name], target, { kind: 'reshape', shape: target, weights: {} });
      }
      case 'Transpose': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const perm = constInts(ins[1], node, 'permutation');
        if (perm[0] !== 0) fail(node, 'moving the batch axis');
        return push(node, node.name, [x.name], perm.slice(1).map((p) => x.shape[p - 1]), { kind: 'transpose', perm, weights: {} });
      }
      case 'ConcatV2':
      case 'Concat': {
        const all = inputs(node);
        const axisV = node.op === 'ConcatV2' ? all[all.length - 1] : all[0];
        const ins = node.op === 'ConcatV2' ? all.slice(0, -1) : all.slice(1);
        if (ins.every((v) => v.kind === 'const')) return fold(node, all);
        if (ins.some((v) => v.kind === 'const')) fail(node, 'joining a constant to a computed value');
        const rank = rankOf(ins[0]);
        let axis = constInts(axisV, node, 'axis')[0];
        if (axis < 0) axis += rank;
        if (axis === 0) fail(node, 'along the batch axis');
        const shape = shapeOf(ins[0]).slice();
        shape[axis - 1] = ins.reduce((s, v) => s + shapeOf(v)[axis - 1], 0);
        return push(node, node.name, ins.map((v) => v.name), shape, { kind: 'concat', axis, weights: {} });
      }
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor': {
        const ins = inputs(node);
        const x = ins[0];
        if (x.kind === 'const') return fold(node, ins);
        const [h, w] = constInts(ins[1], node, 'size');
        const bilinear = node.op === 'ResizeBilinear';
        if (!bilinear && flag(a.half_pixel_centers)) fail(node, 'with half_pixel_centers');
        // TensorFlow's coordinates as the node says: half-pixel centres, aligned corners, or the legacy asymmetric ones.
        return push(node, node.name, [x.name], [h, w, x.shape[2]], { kind: 'resize', size: [h, w], method: bilinear ? 'bilinear' : 'nearest', alignCorners: flag(a.align_corners), ...(bilinear ? { halfPixel: flag(a.half_pixel_centers) } : {}), weights: {} });
      }
      default: {
        if (IDENTITY_OPS.has(node.op)) {
          const ins = inputs(node);
          if (!ins.length) return fail(node);
          if (node.op === 'Cast' && ins[0].kind === 'const') return fold(node, ins);
          if (node.op === 'Cast' && a.DstT?.type && a.DstT.type !== 'DT_FLOAT') fail(node, `to ${a.DstT.type}`);
          return ins[0]; // an alias of its input: no op
        }
        const ins = inputs(node);
        if (ins.length && ins.every((v) => v.kind === 'const')) return fold(node, ins);
        if (node.op === 'Shape' && ins[0].kind !== 'const') {
          // A static shape (the batch taken as 1): only shape arithmetic that drops the batch entry uses it.
          return { kind: 'const', name: node.name, tensor: keep(tf.tensor1d([1, ...shapeOf(ins[0])], 'int32')) };
        }
        return fail(node);
      }
    }
  };

  /** The output shape (without batch) of an elementwise op: numpy broadcasting of the full shapes, batch 1. */
  function broadcastShape(node: GraphNode, x: Value, y: Value): number[] {
    const full = (v: Value): number[] => (v.kind === 'const' ? v.tensor.shape : [1, ...v.shape]);
    const rank = Math.max(...[x, y].filter((v) => v.kind !== 'const').map((v) => full(v).length));
    const out = broadcastShapes(full(x), full(y));
    if (!out || out.length !== rank) fail(node, `with operands of shapes [${full(x)}] and [${full(y)}] (batch included) that do not broadcast to the computed one`);
    return out!.slice(1);
  }

  /** Evaluates an op whose inputs are all constants now (shape arithmetic, casts, constant products). */
  function fold(node: GraphNode, ins: Value[]): Value {
    const ts = ins.map((v) => (v as { tensor: tf.Tensor }).tensor);
    if (ins.some((v) => v.kind !== 'const')) fail(node, 'on a mix of constants and computed values');
    const a = node.attr ?? {};
    const t = tf.tidy((): tf.Tensor => {
      switch (node.op) {
        case 'Cast':
          return tf.cast(ts[0], a.DstT?.type === 'DT_FLOAT' ? 'float32' : a.DstT?.type === 'DT_BOOL' ? 'bool' : 'int32');
        case 'Add':
        case 'AddV2':
        case 'BiasAdd':
          return tf.add(ts[0], ts[1]);
        case 'AddN':
          return tf.addN(ts);
        case 'Sub':
          return tf.sub(ts[0], ts[1]);
        case 'Mul':
          return tf.mul(ts[0], ts[1]);
        case 'RealDiv':
        case 'Div':
          return tf.div(ts[0], ts[1]);
        case 'FloorDiv':
          return tf.floorDiv(ts[0], ts[1]);
        case 'Maximum':
          return tf.maximum(ts[0], ts[1]);
        case 'Minimum':
          return tf.minimum(ts[0], ts[1]);
        case 'Neg':
          return tf.neg(ts[0]);
        case 'Sqrt':
          return tf.sqrt(ts[0]);
        case 'Rsqrt':
          return tf.rsqrt(ts[0]);
        case 'Reshape':
          return tf.reshape(ts[0], Array.from(ts[1].dataSync()));
        case 'ExpandDims':
          return tf.expandDims(ts[0], ts[1].dataSync()[0]);
        case 'Squeeze':
          return tf.squeeze(ts[0], ints(a.squeeze_dims).length ? ints(a.squeeze_dims) : undefined);
        case 'Transpose':
          return tf.transpose(ts[0], Array.from(ts[1].dataSync()));
        case 'Pack':
          return tf.stack(ts, Number(a.axis?.i ?? 0));
        case 'ConcatV2':
          return tf.concat(ts.slice(0, -1), ts[ts.length - 1].dataSync()[0]);
        case 'StridedSlice': {
          const [x, begin, end, strides] = ts;
          const m = (k: string) => Number(a[k]?.i ?? 0);
          return tf.stridedSlice(x, Array.from(begin.dataSync()), Array.from(end.dataSync()), Array.from(strides.dataSync()), m('begin_mask'), m('end_mask'), m('ellipsis_mask'), m('new_axis_mask'), m('shrink_axis_mask'));
        }
        case 'Prod':
          return tf.prod(ts[0], Array.from(ts[1].dataSync()), flag(a.keep_dims));
        case 'Shape':
          return tf.tensor1d(ts[0].shape, 'int32');
        default:
          if (IDENTITY_OPS.has(node.op)) return tf.clone(ts[0]);
          return fail(node, 'on constants');
      }
    });
    return { kind: 'const', name: node.name, tensor: keep(t) };
  }

  try {
    // Outputs: the signature's, else every node nothing reads. The network's output is the first.
    const sigOut = Object.values(json.signature?.outputs ?? {})
      .map((o) => o.name?.split(':')[0])
      .filter((n): n is string => !!n && byName.has(n));
    const read = new Set(nodes.flatMap((n) => (n.input ?? []).map((r) => r.replace(/^\^/, '').split(':')[0])));
    const sinks = sigOut.length ? sigOut : nodes.filter((n) => !read.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp').map((n) => n.name);
    if (!sinks.length) throw new UserError('badInput', 'has no output node.', file);
    // Detection post-processing (TopKV2, NonMaxSuppression...): the network stops before it (graphPostprocessing.ts).
    const cut = cutBeforePostprocessing(nodes, sinks);
    let outs: Value[];
    let outNames = sinks;
    let note: string | undefined;
    if (!cut) outs = sinks.map(value);
    else {
      // Each value the post-processing reads that converts becomes an output; one that does not is left out too.
      outs = [];
      outNames = [];
      let firstError: unknown;
      for (const s of cut.sinks) {
        try {
          const v = value(s);
          if (v.kind === 'const') continue;
          outs.push(v);
          outNames.push(s);
        } catch (e) {
          visiting.clear();
          if (!(e instanceof UserError) || e.code !== 'unsupported') throw e;
          firstError ??= e;
        }
      }
      if (!outs.length) throw firstError ?? new UserError('unsupported', 'has no output before its post-processing.', file);
      const ops = [...new Set(cut.found.map((n) => n.op))].join(', ');
      const shown = outNames.slice(0, 3).map((n) => `"${n}"`).join(', ') + (outNames.length > 3 ? ` and ${outNames.length - 3} more` : '');
      note = `The network stops before the model's post-processing (${ops}: selecting detections, ${cut.leftOut} graph nodes), which has no layers to inspect; it ends at ${shown}${outNames.length > 1 ? ' (the first is its output)' : ''}.`;
    }
    if (!input) throw new UserError('badInput', 'has no input (Placeholder) node.', file);
    const first = outs[0];
    if (first.kind === 'const') throw new UserError('unsupported', `has the output "${outNames[0]}", a constant that does not depend on the input.`, file);
    const network: Network = {
      name: path.basename(file).replace(/\.json$/i, '') === 'model' ? path.basename(path.dirname(file)) : path.basename(file).replace(/\.json$/i, ''),
      format: 'tfjs-graph',
      path: file,
      input,
      ops,
      constants,
      output: first.name,
      layers: inspectableLayers(ops),
      ...(note ? { note } : {}),
      dispose() {
        for (const op of ops) for (const w of Object.values(op.weights)) (w as tf.Tensor).dispose();
        for (const c of constants.values()) c.dispose();
      },
    };
    // Intermediate tensors of the import (transposes, folds) that no op kept.
    const kept = new Set<tf.Tensor>([...ops.flatMap((op) => Object.values(op.weights) as tf.Tensor[]), ...constants.values()]);
    for (const t of owned) if (!kept.has(t)) t.dispose();
    return network;
  } catch (e) {
    tf.dispose(owned);
    throw e;
  }
}
