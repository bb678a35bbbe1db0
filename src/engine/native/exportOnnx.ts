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
 * The rules are a table (exportOnnxRules.ts, one per op kind) over the export context (exportOnnxGraph.ts: the
 * graph being built and the layout bookkeeping of every value).
 */
import { onnx } from 'onnx-proto';
import type { Activation, Network, Op, OpKind } from '../models/network';
import { ExportContext, type GraphBuilder, type Layout, NativeExportError, int, ints } from './exportOnnxGraph';
import { EXPORT_RULES, activation, type ExportRule } from './exportOnnxRules';

export { NativeExportError };

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

/**
 * Exports `net` (see the file comment). Throws `NativeExportError` naming the first op without a rule.
 */
export function exportOnnx(net: Network, opts: ExportOptions = {}): ExportedModel {
  const c = new ExportContext(net);
  const inputName = 'input';
  c.vals.set(net.input.name, { name: inputName, rank: net.input.shape.length + 1, layout: 'nhwc' });
  for (const op of net.ops) {
    const rule = EXPORT_RULES[op.kind] as ExportRule<OpKind> | undefined;
    if (!rule) throw new NativeExportError(`op "${(op as Op).name}" (${(op as Op).kind}) has no ONNX export rule`);
    c.vals.set(op.name, rule(c, op as never));
  }
  return finish(c, inputName, opts);
}

/** The model with the requested outputs (the values, or their node scores) of the graph `c` holds. */
function finish(c: ExportContext, inputName: string, opts: ExportOptions): ExportedModel {
  const { g, vals, net } = c;
  const layout: Layout = opts.layout ?? 'nhwc';
  const wanted = opts.outputs ?? net.layers.map((l) => net.ops[l.op].name);
  const outputs: onnx.IValueInfoProto[] = [];
  const outNames: string[] = [];
  const shapes = new Map(net.ops.map((op) => [op.name, op.shape]));
  const used = new Set<string>();
  const ops = new Map(net.ops.map((op) => [op.name, op]));
  const maxima = new Map<string, Maxima>();
  wanted.forEach((name, i) => {
    const v = vals.get(name);
    if (!v) throw new NativeExportError(`no value named "${name}" to output`);
    const shape = shapes.get(name) ?? net.input.shape;
    if (opts.scores) {
      const nodes = shape[shape.length - 1];
      const from = maximaFrom(c, ops.get(name), maxima, shape);
      const scored = scoreNodes(g, v.rank === 4 ? c.get(name, 'nchw') : v.name, v.rank, nodes, `scores_${i}`, from);
      maxima.set(name, scored.maxima);
      outputs.push(valueInfo(scored.out, [4, nodes]));
      outNames.push(scored.out);
      return;
    }
    // The value itself is the graph output (an Identity would copy every layer's output once more); only a
    // value asked for twice (an identity op's alias) gets a copy under a second name.
    let out = c.get(name, layout);
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

/** A scored value's per-node maximum and its position, `[batch, nodes, 1]` each (the position as a float). */
interface Maxima {
  max: string;
  where: string;
}

/**
 * Activations `f` for which `max f(x) = f(max x)` exactly and a position of the maximum of `x` is one of
 * `f(x)`: nondecreasing and computed exactly in float32 (piecewise linear).
 */
function exactMonotone(act: Activation): boolean {
  return act.fn === 'linear' || act.fn === 'relu' || (act.fn === 'clip' && act.min <= act.max) || (act.fn === 'leakyRelu' && act.alpha >= 0);
}

/**
 * The maxima of `op`'s value derived from its input's, when `op` is such an activation of a value scored
 * before it with the same shape: the scan then skips one pass over the map (a ReLU after every convolution).
 */
function maximaFrom(c: ExportContext, op: Op | undefined, maxima: Map<string, Maxima>, shape: number[]): Maxima | undefined {
  if (op?.kind !== 'activation' || !exactMonotone(op.activation)) return undefined;
  const input = maxima.get(op.inputs[0]);
  const inShape = c.net.ops.find((o) => o.name === op.inputs[0])?.shape;
  if (!input || !inShape || inShape.join() !== shape.join()) return undefined;
  return { max: activation(c, input.max, op.activation, 3, 'nchw', op), where: input.where };
}

/**
 * `[batch, 4, nodes]`: each node's Frobenius norm, maximum, mean and first-maximum position over its map.
 * `x` is the value with its nodes on axis 1 (rank 4, NCHW) or last (rank 2 or 3, as the Network holds it).
 * The maximum and its position come from one TopK (k = 1), which measured faster than ReduceMax and ArgMax
 * together, or from `from` (maximaFrom).
 */
function scoreNodes(g: GraphBuilder, x: string, rank: number, nodes: number, out: string, from?: Maxima): { out: string; maxima: Maxima } {
  // `[batch, nodes, positions]`: one node's map contiguous on the last axis.
  let maps: string;
  if (rank === 2) maps = g.node('Unsqueeze', [x, g.int64s([2])]);
  else if (rank === 3) maps = g.node('Transpose', [x], [ints('perm', [0, 2, 1])]);
  else if (rank === 4) maps = g.node('Reshape', [x, g.int64s([0, nodes, -1])]);
  else throw new NativeExportError(`cannot score a value of rank ${rank}`);
  const over = [ints('axes', [2]), int('keepdims', 1)];
  const l2 = g.node('ReduceL2', [maps], over);
  const mean = g.node('ReduceMean', [maps], over);
  let maxima = from;
  if (!maxima) {
    const top = `${out}_top`;
    g.nodes.push({ opType: 'TopK', input: [maps, g.int64s([1])], output: [`${top}_max`, `${top}_at`], attribute: [int('axis', 2)], name: top });
    maxima = { max: `${top}_max`, where: g.node('Cast', [`${top}_at`], [int('to', onnx.TensorProto.DataType.FLOAT)]) };
  }
  // `[batch, nodes, 4]` → `[batch, 4, nodes]`: each score's row of nodes contiguous.
  const all = g.node('Concat', [l2, maxima.max, mean, maxima.where], [int('axis', 2)]);
  g.nodes.push({ opType: 'Transpose', input: [all], output: [out], attribute: [ints('perm', [0, 2, 1])], name: out });
  return { out, maxima };
}

/** A float tensor `[batch, ...dims]` with a symbolic batch. */
function valueInfo(name: string, dims: number[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...dims.map((d) => ({ dimValue: d }))] } } },
  };
}
