/**
 * The state of one ONNX import: what every ONNX value is (a constant known at import, or a value the network
 * computes), the ops emitted so far, and the one layout rule.
 *
 * Layout rule: a computed value of rank 4 (ONNX `[N, C, H, W]`) is held by the network as NHWC
 * `[N, H, W, C]`; values of any other rank keep ONNX's order. So axis attributes of rank-4 values are
 * remapped through `STORED` and constants that broadcast against them are transposed the same way. The batch
 * (axis 0) is dynamic and never moves.
 */
import { UserError } from '../../runtime/errors';
import * as tf from '../../runtime/tf';
import type { Op, OpSpec } from '../network';
import type { onnx } from 'onnx-proto';
import { type HostTensor, num, size, transposeHost } from './tensors';

/** A computed value: `ref` names it in the network; `dims` are ONNX's (NCHW), with -1 for the batch. */
export interface Dyn {
  kind: 'dyn';
  ref: string;
  dims: number[];
}
export interface Const {
  kind: 'const';
  t: HostTensor;
}
export type Val = Dyn | Const;

/** One entry of the op table: reads a node, emits ops or sets constants for its outputs. */
export type Handler = (n: NodeView) => void;
export const constVal = (t: HostTensor): Const => ({ kind: 'const', t });
/** A constant's values as integers (shape arithmetic). */
export const ints = (t: HostTensor): number[] => Array.from(t.data, (v) => Math.trunc(v));

/** ONNX axis order → stored order for rank 4: stored axis i holds ONNX axis STORED[i]. */
export const STORED = [0, 2, 3, 1];
/** ONNX axis a of a rank-4 value is stored at axis FROM_ONNX[a]. */
export const FROM_ONNX = [0, 3, 1, 2];

/** Stored order of ONNX dims (only rank 4 moves). */
export function storedDims(dims: number[]): number[] {
  return dims.length === 4 ? STORED.map((a) => dims[a]) : [...dims];
}

/** Stored axis of ONNX axis `axis` (negative counts from the end) of a value of rank `rank`. */
export function storedAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 4 ? FROM_ONNX[a] : a;
}

/** What an op of the importer carries until names are given: the ONNX node it came from. */
export interface Origin {
  node: string;
  opType: string;
  /** For helper ops a node needed beside its main one (e.g. a transpose before a reshape). */
  role?: string;
}

export class Importer {
  readonly values = new Map<string, Val>();
  readonly ops: Op[] = [];
  readonly origins: Origin[] = [];
  readonly constants = new Map<string, tf.Tensor>();
  /** How many node inputs read each ONNX value (fusions only take a value read once). */
  readonly uses = new Map<string, number>();
  /** Network ref → index of the op producing it. */
  readonly producer = new Map<string, number>();
  /** ONNX value name of each op's output (for the graph's own value names in messages). */
  private counter = 0;

  constructor(
    readonly file: string,
    readonly dir: string,
    readonly opset: number,
  ) {}

  /** Emits an op reading `inputs` (refs) whose ONNX output dims are `dims`; returns its value. */
  emit(spec: OpSpec, inputs: string[], dims: number[], origin: Origin, shape?: number[]): Dyn {
    if (dims.slice(1).some((d) => !(d > 0) || !Number.isInteger(d))) {
      throw this.error(
        `${origin.opType} node "${origin.node}" has an output of unknown or empty shape [${dims.slice(1).join(', ')}] for the model's fixed input size`,
      );
    }
    const ref = `%${this.counter++}`;
    this.ops.push({ ...spec, name: ref, inputs, shape: shape ?? storedDims(dims).slice(1), source: origin.opType } as Op);
    this.origins.push(origin);
    this.producer.set(ref, this.ops.length - 1);
    return { kind: 'dyn', ref, dims };
  }

  /** Registers a network constant (a tf tensor from host data, already in stored layout). */
  constant(name: string, t: HostTensor): string {
    let key = name || 'const';
    for (let i = 2; this.constants.has(key); i++) key = `${name}_${i}`;
    this.constants.set(key, tf.tensor(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data), t.dims, 'float32'));
    return key;
  }

  /** A weight tensor: host data transposed by `perm` (ONNX layout → the network's). */
  weight(t: HostTensor, perm?: number[], dims?: number[]): tf.Tensor {
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    return tf.tidy(() => {
      let w = tf.tensor(data, t.dims, 'float32');
      if (perm) w = tf.transpose(w, perm);
      return dims ? tf.reshape(w, dims) : w;
    });
  }

  /**
   * A constant operand broadcast against a computed value of rank `rank`: padded with leading 1s to that rank,
   * then put in stored order (ONNX `[C, 1, 1]` against NCHW becomes `[1, 1, 1, C]`).
   */
  broadcastConstant(t: HostTensor, rank: number): HostTensor {
    if (t.dims.length > rank) return t;
    const dims = [...new Array<number>(rank - t.dims.length).fill(1), ...t.dims];
    const padded = { ...t, dims };
    return rank === 4 ? transposeHost(padded, STORED) : padded;
  }

  error(message: string): UserError {
    return new UserError('unsupported', `${message}.`, this.file);
  }

  dispose(): void {
    for (const op of this.ops) for (const w of Object.values(op.weights as Record<string, tf.Tensor | undefined>)) w?.dispose();
    for (const c of this.constants.values()) c.dispose();
  }
}

/** A node with its attributes read by name and its inputs resolved. */
export class NodeView {
  readonly name: string;
  readonly opType: string;
  readonly inputs: (Val | undefined)[];
  readonly origin: Origin;
  private readonly attrs = new Map<string, onnx.IAttributeProto>();

  constructor(
    readonly node: onnx.INodeProto,
    readonly ctx: Importer,
    index: number,
  ) {
    this.opType = node.opType ?? '';
    this.name = node.name || `${this.opType}_${index}`;
    this.origin = { node: this.name, opType: this.opType };
    for (const a of node.attribute ?? []) if (a.name) this.attrs.set(a.name, a);
    this.inputs = (node.input ?? []).map((n) => {
      if (!n) return undefined;
      const v = ctx.values.get(n);
      if (!v)
        throw ctx.error(
          `${this.opType} node "${this.name}" reads "${n}", which no earlier node or initializer defines (the graph is not in topological order or is incomplete)`,
        );
      return v;
    });
  }

  has(name: string): boolean {
    return this.attrs.has(name);
  }
  int(name: string, def: number): number {
    const a = this.attrs.get(name);
    return a ? num(a.i) : def;
  }
  float(name: string, def: number): number {
    const a = this.attrs.get(name);
    return a ? (a.f ?? def) : def;
  }
  ints(name: string, def: number[]): number[] {
    const a = this.attrs.get(name);
    return a?.ints?.length ? a.ints.map(num) : def;
  }
  floats(name: string): number[] | undefined {
    const a = this.attrs.get(name);
    return a?.floats?.length ? [...a.floats] : undefined;
  }
  str(name: string, def: string): string {
    const a = this.attrs.get(name);
    return a?.s?.length ? Buffer.from(a.s).toString('utf8') : def;
  }
  tensor(name: string): onnx.ITensorProto | undefined {
    return this.attrs.get(name)?.t ?? undefined;
  }

  /** Input `i` as a computed value (refused when it is a constant or missing). */
  dyn(i: number): Dyn {
    const v = this.inputs[i];
    if (v?.kind !== 'dyn') throw this.refuse(`input ${i + 1} must be computed from the model's input${v ? ', not a constant' : ''}`);
    return v;
  }
  /** Input `i` as a constant (refused when computed from the input); undefined when absent and optional. */
  constant(i: number, optional: true): HostTensor | undefined;
  constant(i: number): HostTensor;
  constant(i: number, optional = false): HostTensor | undefined {
    const v = this.inputs[i];
    if (!v) {
      if (optional) return undefined;
      throw this.refuse(`input ${i + 1} is missing`);
    }
    if (v.kind !== 'const')
      throw this.refuse(`input ${i + 1} must be a constant (an initializer or folded at import), but it is computed from the model's input`);
    return v.t;
  }
  /** Sets output `i`. */
  out(v: Val, i = 0): void {
    const name = this.node.output?.[i];
    if (name) this.ctx.values.set(name, v);
  }
  emit(spec: OpSpec, inputs: string[], dims: number[], role?: string, shape?: number[]): Dyn {
    return this.ctx.emit(spec, inputs, dims, role ? { ...this.origin, role } : this.origin, shape);
  }
  refuse(why: string): UserError {
    return this.ctx.error(`${this.opType} node "${this.name}": ${why}; Feature Lens cannot import it`);
  }
}

export { size };
