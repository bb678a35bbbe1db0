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
import type { Network, Op, OpKind } from '../models/network';
import { ExportContext, type Layout, NativeExportError } from './exportOnnxGraph';
import { EXPORT_RULES, type ExportRule } from './exportOnnxRules';
import { scoreValue, type NodeStats } from './exportOnnxScores';

export { NativeExportError };

export interface ExportOptions {
  /** Values to output, by name (op names); default: every inspectable layer's op, in `net.layers` order. */
  outputs?: string[];
  /** Layout of rank-4 outputs: NHWC (default, the Network's) or NCHW (one node's map contiguous). */
  layout?: 'nhwc' | 'nchw';
  /**
   * Output the scan's node scores instead of the values (exportOnnxScores.ts): per requested value one
   * `[batch, 4, nodes]` output. The values stay inside the graph, so no layer's map is copied out.
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
  const scored = new Map<string, NodeStats>();
  wanted.forEach((name, i) => {
    const v = vals.get(name);
    if (!v) throw new NativeExportError(`no value named "${name}" to output`);
    const shape = shapes.get(name) ?? net.input.shape;
    if (opts.scores) {
      const s = scoreValue(c, name, ops.get(name), shape, scored, `scores_${i}`);
      scored.set(name, s.stats);
      outputs.push(valueInfo(s.out, [4, shape[shape.length - 1]]));
      outNames.push(s.out);
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

/** A float tensor `[batch, ...dims]` with a symbolic batch. */
function valueInfo(name: string, dims: number[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...dims.map((d) => ({ dimValue: d }))] } } },
  };
}
