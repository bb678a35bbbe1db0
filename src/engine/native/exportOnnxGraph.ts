/**
 * What the ONNX export rules (exportOnnxRules.ts) work on: the graph under construction (`GraphBuilder`: nodes,
 * initializers, fresh names) and the export context (`ExportContext`: every value's ONNX name, rank and layout,
 * and the transposes between layouts; see exportOnnx.ts for the layout scheme).
 */
import { onnx } from 'onnx-proto';
import type { Network } from '../models/network';
import * as tf from '../runtime/tf';

/** The network cannot be expressed in ONNX by these rules (the message names the op). */
export class NativeExportError extends Error {
  override name = 'NativeExportError';
}

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];
/** NHWC axis → NCHW axis. */
const AXIS_NCHW = [0, 2, 3, 1];

export type Layout = 'nchw' | 'nhwc';
/** A value as it exists in the graph: its ONNX name, its rank (batch included), its layout (rank 4 only). */
export interface Value {
  name: string;
  rank: number;
  layout: Layout;
  /** The same value in the other layout, once a consumer asked for it. */
  other?: string;
}

const A = onnx.AttributeProto.AttributeType;
type Attr = onnx.IAttributeProto;
export const int = (name: string, i: number): Attr => ({ name, type: A.INT, i });
export const ints = (name: string, v: number[]): Attr => ({ name, type: A.INTS, ints: v });
export const float = (name: string, f: number): Attr => ({ name, type: A.FLOAT, f });
export const str = (name: string, s: string): Attr => ({ name, type: A.STRING, s: new TextEncoder().encode(s) });

export class GraphBuilder {
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
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)),
    });
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
export function values(t: tf.Tensor, perm?: number[], shape?: number[]): Float32Array {
  // Not computed inside `tf.tidy`'s return value: tidy walks what its function returns, element by element
  // for a typed array (seconds for a ResNet's weights).
  const x =
    t.dtype === 'float32' && !perm && !shape
      ? t
      : tf.tidy(() => {
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
export const onnxPads = (p: [number, number, number, number]) => [p[0], p[2], p[1], p[3]];

/** The graph being built for `net` and the values computed so far (by the Network's names). */
export class ExportContext {
  readonly g = new GraphBuilder();
  readonly vals = new Map<string, Value>();

  constructor(readonly net: Network) {}

  /** Value `name` in layout `want` (rank-4 values only; others are returned as they are). */
  get(name: string, want: Layout): string {
    const v = this.vals.get(name);
    if (!v) throw new NativeExportError(`value "${name}" is not computed before it is read`);
    if (v.rank !== 4 || v.layout === want) return v.name;
    v.other ??= this.g.node('Transpose', [v.name], [ints('perm', want === 'nchw' ? TO_NCHW : TO_NHWC)], `${v.name}_${want}`);
    return v.other;
  }

  /** A constant operand, broadcast against a value of rank `rank` held in layout `layout`. */
  constant(t: tf.Tensor, rank: number, layout: Layout): string {
    if (layout === 'nhwc' || rank !== 4) return this.g.floats(values(t), t.shape);
    if (t.rank > 4) throw new NativeExportError(`a constant of rank ${t.rank} against a rank-4 value`);
    const shape4 = [...Array(4 - t.rank).fill(1), ...t.shape];
    const data = values(t, TO_NCHW, shape4);
    return this.g.floats(
      data,
      TO_NCHW.map((a) => shape4[a]),
    );
  }

  private isConst(name: string): boolean {
    return !this.vals.has(name) && this.net.constants.has(name);
  }

  rankOf(name: string): number {
    return this.vals.get(name)?.rank ?? this.net.constants.get(name)!.rank;
  }

  /** An operand (value or constant) in the layout `layout` of a rank-`rank` result. */
  operand(name: string, rank: number, layout: Layout): string {
    if (this.isConst(name)) return this.constant(this.net.constants.get(name)!, rank, layout);
    return this.get(name, layout);
  }

  /** The layout an op that works in either layout should use: NCHW when every computed rank-4 input already is. */
  preferred(inputs: string[]): Layout {
    const computed = inputs.filter((n) => this.vals.has(n)).map((n) => this.vals.get(n)!);
    return computed.length > 0 && computed.every((v) => v.rank === 4 && v.layout === 'nchw') ? 'nchw' : 'nhwc';
  }

  /** Maps an NHWC axis of a rank-`rank` value to its position in `layout`. */
  axisIn(axis: number, rank: number, layout: Layout): number {
    const a = axis < 0 ? axis + rank : axis;
    return layout === 'nchw' && rank === 4 ? AXIS_NCHW[a] : a;
  }
}
