/**
 * What the TF.js graph-model op rules (tfjsGraphOps.ts) work on: the graph's JSON types, attribute readers and
 * the import context (`GraphImport`: the node lookup, the values converted so far, the ops and constants of the
 * network being built, the ownership of decoded tensors, and the folding of ops on constants).
 */
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import { broadcastShapes } from './broadcast';
import type { Activation, Op, OpSpec } from './network';

export interface AttrValue {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { i?: (string | number)[]; f?: number[]; s?: string[]; b?: boolean[] };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string | number }[] }; intVal?: number[]; floatVal?: number[]; int64Val?: string[] };
}
export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}
export interface GraphModelJson {
  format?: string;
  modelTopology?: { node?: GraphNode[]; library?: { function?: unknown[] }; versions?: unknown };
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  signature?: { inputs?: Record<string, { name?: string }>; outputs?: Record<string, { name?: string }> };
}

export const b64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
export const ints = (a: AttrValue | undefined): number[] => (a?.list?.i ?? []).map(Number);
export const str = (a: AttrValue | undefined): string => b64(a?.s);
export const flag = (a: AttrValue | undefined): boolean => !!a?.b;

/** A value during import: an op output (shape without batch) or a constant known now. */
export type Value =
  { kind: 'op'; name: string; shape: number[] } | { kind: 'input'; name: string; shape: number[] } | { kind: 'const'; name: string; tensor: tf.Tensor };

/** A Const node's inline `value` (small graphs keep scalars there instead of in the weights). */
export function inlineTensor(node: GraphNode): tf.Tensor | undefined {
  const t = node.attr?.value?.tensor;
  if (!t) return undefined;
  const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size));
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = t.dtype === 'DT_FLOAT' ? 'float32' : 'int32';
  const vals = (t.floatVal ?? t.intVal ?? t.int64Val ?? []).map(Number);
  return tf.tensor(vals.length === 1 && n > 1 ? new Array(n).fill(vals[0]) : vals, shape, dtype);
}

/** `[top, bottom, left, right]` for TensorFlow's SAME padding (the extra pixel at the bottom/right). */
export function samePads(inH: number, inW: number, k: [number, number], s: [number, number], d: [number, number]): [number, number, number, number] {
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

export function outSize(size: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((size + p0 + p1 - (d * (k - 1) + 1)) / s) + 1;
}

export const ACTIVATIONS: Record<string, Activation> = {
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

export const IDENTITY_OPS = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient', 'NoOp', 'IdentityN', 'Cast', 'EnsureShape', 'CheckNumerics']);
export const ELEMENTWISE: Record<string, 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min'> = {
  Add: 'add',
  AddV2: 'add',
  BiasAdd: 'add',
  Sub: 'sub',
  Mul: 'mul',
  RealDiv: 'div',
  Div: 'div',
  Maximum: 'max',
  Minimum: 'min',
};

export type Attrs = Record<string, AttrValue>;
/** Evaluates one op kind on constant inputs (inside `tf.tidy`). */
const FOLD: Record<string, (ts: tf.Tensor[], a: Attrs) => tf.Tensor> = {
  Cast: (ts, a) => tf.cast(ts[0], a.DstT?.type === 'DT_FLOAT' ? 'float32' : a.DstT?.type === 'DT_BOOL' ? 'bool' : 'int32'),
  Add: (ts) => tf.add(ts[0], ts[1]),
  AddV2: (ts) => tf.add(ts[0], ts[1]),
  BiasAdd: (ts) => tf.add(ts[0], ts[1]),
  AddN: (ts) => tf.addN(ts),
  Sub: (ts) => tf.sub(ts[0], ts[1]),
  Mul: (ts) => tf.mul(ts[0], ts[1]),
  RealDiv: (ts) => tf.div(ts[0], ts[1]),
  Div: (ts) => tf.div(ts[0], ts[1]),
  FloorDiv: (ts) => tf.floorDiv(ts[0], ts[1]),
  Maximum: (ts) => tf.maximum(ts[0], ts[1]),
  Minimum: (ts) => tf.minimum(ts[0], ts[1]),
  Neg: (ts) => tf.neg(ts[0]),
  Sqrt: (ts) => tf.sqrt(ts[0]),
  Rsqrt: (ts) => tf.rsqrt(ts[0]),
  Reshape: (ts) => tf.reshape(ts[0], Array.from(ts[1].dataSync())),
  ExpandDims: (ts) => tf.expandDims(ts[0], ts[1].dataSync()[0]),
  Squeeze: (ts, a) => tf.squeeze(ts[0], ints(a.squeeze_dims).length ? ints(a.squeeze_dims) : undefined),
  Transpose: (ts) => tf.transpose(ts[0], Array.from(ts[1].dataSync())),
  Pack: (ts, a) => tf.stack(ts, Number(a.axis?.i ?? 0)),
  ConcatV2: (ts) => tf.concat(ts.slice(0, -1), ts[ts.length - 1].dataSync()[0]),
  StridedSlice: (ts, a) => {
    const [x, begin, end, strides] = ts;
    const m = (k: string) => Number(a[k]?.i ?? 0);
    return tf.stridedSlice(
      x,
      Array.from(begin.dataSync()),
      Array.from(end.dataSync()),
      Array.from(strides.dataSync()),
      m('begin_mask'),
      m('end_mask'),
      m('ellipsis_mask'),
      m('new_axis_mask'),
      m('shrink_axis_mask'),
    );
  },
  Prod: (ts, a) => tf.prod(ts[0], Array.from(ts[1].dataSync()), flag(a.keep_dims)),
  Shape: (ts) => tf.tensor1d(ts[0].shape, 'int32'),
};

/** A fused activation or PReLU that follows a conv or matmul. */
export interface FusedTail {
  activation?: Activation;
  prelu?: tf.Tensor;
}

/**
 * One graph's import: the values converted so far by node name (each node converted once, on first read, by
 * `convertNode`), the network's ops and constants, and every tensor made during import (`owned`: freed at the
 * end unless an op or constant kept it).
 */
export class GraphImport {
  readonly byName: Map<string, GraphNode>;
  readonly values = new Map<string, Value>();
  readonly ops: Op[] = [];
  readonly constants = new Map<string, tf.Tensor>();
  readonly owned: tf.Tensor[] = [];
  input: { name: string; shape: number[] } | undefined;
  private readonly visiting = new Set<string>();

  /** Forgets the nodes a failed conversion was inside of (the next value starts a fresh walk). */
  forgetVisits(): void {
    this.visiting.clear();
  }

  constructor(
    nodes: GraphNode[],
    readonly weights: tf.NamedTensorMap,
    readonly file: string,
    private readonly convertNode: (c: GraphImport, node: GraphNode) => Value,
  ) {
    this.byName = new Map(nodes.map((n) => [n.name, n]));
  }

  keep(t: tf.Tensor): tf.Tensor {
    this.owned.push(t);
    return t;
  }

  fail(node: GraphNode, why?: string): never {
    throw new UserError(
      'unsupported',
      `node "${node.name}" uses the TensorFlow op ${node.op}${why ? ` ${why}` : ''}, which Feature Lens cannot run yet.`,
      this.file,
    );
  }

  /** The value a node input (`name`, `name:0`, `^name`) refers to, converting its node on first read. */
  value(ref: string): Value {
    const [name, index] = ref.replace(/^\^/, '').split(':');
    if (index && index !== '0') {
      const n = this.byName.get(name);
      throw new UserError(
        'unsupported',
        `node "${n?.name ?? name}" uses the TensorFlow op ${n?.op ?? '?'} with several outputs (its output ${index} is read), which Feature Lens cannot run yet.`,
        this.file,
      );
    }
    const got = this.values.get(name);
    if (got) return got;
    const node = this.byName.get(name);
    if (!node) throw new UserError('badInput', `refers to the node "${name}", which the graph does not have.`, this.file);
    if (this.visiting.has(name))
      throw new UserError('unsupported', `has a cycle through node "${name}" (a loop), which the network representation cannot hold.`, this.file);
    this.visiting.add(name);
    const v = this.convertNode(this, node);
    this.visiting.delete(name);
    this.values.set(name, v);
    return v;
  }

  inputs(node: GraphNode): Value[] {
    return (node.input ?? []).filter((r) => !r.startsWith('^')).map((r) => this.value(r));
  }

  constOf(v: Value, node: GraphNode, what: string): tf.Tensor {
    if (v.kind !== 'const') this.fail(node, `with a computed ${what} (only a constant ${what} is supported)`);
    return (v as { tensor: tf.Tensor }).tensor;
  }

  constInts(v: Value, node: GraphNode, what: string): number[] {
    return Array.from(this.constOf(v, node, what).dataSync(), Number);
  }

  shapeOf(v: Value): number[] {
    return v.kind === 'const' ? v.tensor.shape.slice(1) : v.shape;
  }

  rankOf(v: Value): number {
    return v.kind === 'const' ? v.tensor.rank : v.shape.length + 1;
  }

  push(node: GraphNode, name: string, ins: string[], shape: number[], spec: OpSpec): Value {
    this.ops.push({ ...spec, name, inputs: ins, shape, source: node.op } as Op);
    return { kind: 'op', name, shape };
  }

  /** A weight tensor owned by the network (copied: the decoded map is freed after import). */
  weight<T extends tf.Tensor>(t: tf.Tensor): T {
    return this.keep(tf.clone(t)) as T;
  }

  operand(v: Value): string {
    if (v.kind === 'const' && !this.constants.has(v.name)) this.constants.set(v.name, this.weight(v.tensor));
    return v.name;
  }

  /** Appends a fused activation / PReLU after a conv or matmul (`_Fused*` ops' `fused_ops` after BiasAdd). */
  fusedTail(node: GraphNode, fused: string[], extra: Value[]): FusedTail {
    const rest = fused.filter((f) => f !== 'BiasAdd');
    if (rest.length > 1) this.fail(node, `with the fused ops ${fused.join('+')}`);
    const f = rest[0];
    if (!f) return {};
    if (ACTIVATIONS[f]) return { activation: ACTIVATIONS[f] };
    if (f === 'LeakyRelu') return { activation: { fn: 'leakyRelu', alpha: node.attr?.leakyrelu_alpha?.f ?? 0.2 } };
    if (f === 'Prelu') return { prelu: this.constOf(extra[1], node, 'PReLU alpha') };
    return this.fail(node, `with the fused op ${f}`);
  }

  withTail(node: GraphNode, v: Value, tail: { prelu?: tf.Tensor }): Value {
    if (!tail.prelu) return v;
    return this.push(node, node.name, [v.name], (v as { shape: number[] }).shape, { kind: 'prelu', weights: { alpha: this.weight(tail.prelu) } });
  }

  /** The output shape (without batch) of an elementwise op: numpy broadcasting of the full shapes, batch 1. */
  broadcastShape(node: GraphNode, x: Value, y: Value): number[] {
    const full = (v: Value): number[] => (v.kind === 'const' ? v.tensor.shape : [1, ...v.shape]);
    const rank = Math.max(...[x, y].filter((v) => v.kind !== 'const').map((v) => full(v).length));
    const out = broadcastShapes(full(x), full(y));
    if (!out || out.length !== rank)
      this.fail(node, `with operands of shapes [${full(x)}] and [${full(y)}] (batch included) that do not broadcast to the computed one`);
    return out!.slice(1);
  }

  /** Evaluates an op whose inputs are all constants now (shape arithmetic, casts, constant products). */
  fold(node: GraphNode, ins: Value[]): Value {
    const ts = ins.map((v) => (v as { tensor: tf.Tensor }).tensor);
    if (ins.some((v) => v.kind !== 'const')) this.fail(node, 'on a mix of constants and computed values');
    const a = node.attr ?? {};
    const t = tf.tidy((): tf.Tensor => {
      if (Object.hasOwn(FOLD, node.op)) return FOLD[node.op](ts, a);
      if (IDENTITY_OPS.has(node.op)) return tf.clone(ts[0]);
      return this.fail(node, 'on constants');
    });
    return { kind: 'const', name: node.name, tensor: this.keep(t) };
  }
}
