/**
 * The scan's node scores inside the exported graph (exportOnnx `scores`): per scored value one
 * `[batch, 4, nodes]` output holding each node's Frobenius norm, maximum, mean and the position of a maximum
 * (row-major over the node's map, as a float).
 *
 * A value's scores cost passes over its maps, which dominate a scan of a large net (every layer of a
 * MobileNet is scored). Two kinds of op get theirs from the scores of their input, scored just before:
 * - an activation f that is nondecreasing and exact in float32 (ReLU, clip, leaky ReLU): max f(x) = f(max x),
 *   and a position of the input's maximum is one of the output's (its Frobenius norm and mean need a pass).
 *   Where f ties (a dead ReLU map, a saturated clip) that position may not be the first maximum the tfjs path
 *   reports: both are positions of the maximum;
 * - a batch norm, y = a·x + b per channel: mean y = a·mean x + b, Σy² = a²Σx² + 2ab·Σx + n·b², and the
 *   maximum of y is a·max x + b where a ≥ 0, a·min x + b where a < 0 (the input's minimum is then found too).
 *   No pass over y at all, when that sum does not cancel (`derivable`).
 * A maximum and its position come from one TopK (k = 1), which measured faster than ReduceMax and ArgMax
 * together (ArgMax runs on one thread).
 */
import { onnx } from 'onnx-proto';
import type { Activation, Op } from '../models/network';
import { type ExportContext, type GraphBuilder, NativeExportError, int, ints, values } from './exportOnnxGraph';
import { activation, batchNormAffine } from './exportOnnxRules';

/**
 * A scored value's `[batch, nodes, 1]` statistics (positions as floats) and its maps `[batch, nodes, positions]`
 * (absent when the statistics were derived with no pass over them: a batch norm's).
 */
export interface NodeStats {
  maps?: string;
  positions: number;
  l2: string;
  mean: string;
  max: string;
  where: string;
}

/** The scores of one value: the graph output `out` and the statistics later values may derive theirs from. */
export interface Scored {
  out: string;
  stats: NodeStats;
}

/**
 * Scores the value `name` (op `op`, output shape `shape` without the batch) as graph output `out`, from the
 * scores of its input when `scored` holds them and the op allows it (see the file comment).
 */
export function scoreValue(c: ExportContext, name: string, op: Op | undefined, shape: number[], scored: Map<string, NodeStats>, out: string): Scored {
  const v = c.vals.get(name);
  if (!v) throw new NativeExportError(`no value named "${name}" to output`);
  const nodes = shape[shape.length - 1];
  const input = op && sameShapeInput(c, op, shape) ? scored.get(op.inputs[0]) : undefined;
  let stats: NodeStats;
  if (input && op?.kind === 'batchNorm' && (v.rank === 4 || v.rank === 2) && derivable(op, input)) stats = batchNormStats(c, op, input, nodes);
  else {
    const maps = nodeMaps(c.g, v.rank === 4 ? c.get(name, 'nchw') : v.name, v.rank, nodes);
    const positions = shape.length === 3 ? shape[0] * shape[1] : 1;
    const over = [ints('axes', [2]), int('keepdims', 1)];
    const base = { maps, positions, l2: frobenius(c.g, maps), mean: c.g.node('ReduceMean', [maps], over) };
    const derived = input && op?.kind === 'activation' && exactMonotone(op.activation);
    stats = { ...base, ...(derived ? { max: activation(c, input.max, op.activation, 3, 'nchw', op), where: input.where } : topOne(c.g, maps, true)) };
  }
  // Each `[batch, nodes, 1]` as `[batch, 1, nodes]` (the same bytes), then `[batch, 4, nodes]`: each score's row of
  // nodes contiguous, with no transpose.
  const row = c.g.int64s([0, 1, -1]);
  const rows = [stats.l2, stats.max, stats.mean, stats.where].map((t) => c.g.node('Reshape', [t, row]));
  c.g.nodes.push({ opType: 'Concat', input: rows, output: [out], attribute: [int('axis', 1)], name: out });
  return { out, stats };
}

/** Whether `op` reads one value of its own shape (an elementwise op whose scores may derive from its input's). */
function sameShapeInput(c: ExportContext, op: Op, shape: number[]): boolean {
  const input = c.net.ops.find((o) => o.name === op.inputs[0]);
  return op.inputs.length === 1 && !!input && input.shape.join() === shape.join();
}

/** Activations with max f(x) = f(max x) exactly, a position of x's maximum being one of f(x)'s. */
function exactMonotone(act: Activation): boolean {
  return act.fn === 'linear' || act.fn === 'relu' || (act.fn === 'clip' && act.min <= act.max) || (act.fn === 'leakyRelu' && act.alpha >= 0);
}

/** `[batch, nodes, positions]`: one node's map contiguous on the last axis. */
function nodeMaps(g: GraphBuilder, x: string, rank: number, nodes: number): string {
  if (rank === 2) return g.node('Unsqueeze', [x, g.int64s([2])]);
  if (rank === 3) return g.node('Transpose', [x], [ints('perm', [0, 2, 1])]);
  if (rank === 4) return g.node('Reshape', [x, g.int64s([0, nodes, -1])]);
  throw new NativeExportError(`cannot score a value of rank ${rank}`);
}

/**
 * Each node's Frobenius norm `[batch, nodes, 1]`: the root of the sum of the squared maps. Mul and ReduceSum
 * (both vectorized over the runtime's threads) measured a few percent faster than ReduceL2 on the zoo's nets.
 */
function frobenius(g: GraphBuilder, maps: string): string {
  return g.node('Sqrt', [g.node('ReduceSum', [g.node('Mul', [maps, maps]), g.int64s([2])], [int('keepdims', 1)])]);
}

/** Each node's maximum (or minimum) and the position of its first one: `[batch, nodes, 1]` each. */
function topOne(g: GraphBuilder, maps: string, largest: boolean): { max: string; where: string } {
  const top = g.fresh('top');
  g.nodes.push({
    opType: 'TopK',
    input: [maps, g.int64s([1])],
    output: [`${top}_v`, `${top}_at`],
    attribute: [int('axis', 2), int('largest', largest ? 1 : 0)],
    name: top,
  });
  return { max: `${top}_v`, where: g.node('Cast', [`${top}_at`], [int('to', onnx.TensorProto.DataType.FLOAT)]) };
}

/**
 * Whether a batch norm's statistics may be derived from its input's `x`: a negative scale needs the minimum of
 * the input's own maps (absent when `x` is itself derived: a batch norm after a batch norm), and Σy² =
 * a²Σx² + 2ab·Σx + n·b² must not cancel. By the batch norm's running statistics of its input (mean μ, variance
 * σ²), E[y²] = β² + a²σ² against terms of size a²(σ² + μ²) + 2|abμ| + b²: derived only when their ratio is at
 * most 100 in every channel (float32 sums then keep about 1e-5 of the norm); else a pass over y's maps.
 */
function derivable(op: Extract<Op, { kind: 'batchNorm' }>, x: NodeStats): boolean {
  const { a, b } = batchNormAffine(op);
  if (!x.maps && a.some((s) => s < 0)) return false;
  const mu = values(op.weights.mean);
  const v = values(op.weights.variance);
  return Array.from(a).every((ai, i) => {
    const beta = b[i] + ai * mu[i];
    const terms = ai * ai * (v[i] + mu[i] * mu[i]) + 2 * Math.abs(ai * b[i] * mu[i]) + b[i] * b[i];
    return terms <= 100 * (beta * beta + ai * ai * v[i]) || terms === 0;
  });
}

/** A batch norm's statistics from its input's (y = a·x + b per node; see the file comment). */
function batchNormStats(c: ExportContext, op: Extract<Op, { kind: 'batchNorm' }>, x: NodeStats, nodes: number): NodeStats {
  const g = c.g;
  const { a, b } = batchNormAffine(op);
  const n = x.positions;
  const col = (f: (i: number) => number) =>
    g.floats(
      Float32Array.from({ length: nodes }, (_, i) => f(i)),
      [nodes, 1],
    );
  const affine = (t: string) => g.node('Add', [g.node('Mul', [t, col((i) => a[i])]), col((i) => b[i])]);
  // Σy² from Σx² = l2² and Σx = n·mean; clamped at 0 against rounding before the root.
  const sq = g.node('Add', [g.node('Mul', [g.node('Mul', [x.l2, x.l2]), col((i) => a[i] * a[i])]), g.node('Mul', [x.mean, col((i) => 2 * a[i] * b[i] * n)])]);
  const l2 = g.node('Sqrt', [g.node('Relu', [g.node('Add', [sq, col((i) => n * b[i] * b[i])])])]);
  let max = affine(x.max);
  let where = x.where;
  if (a.some((s) => s < 0) && x.maps) {
    const low = topOne(g, x.maps, false);
    const up = g.node('Cast', [col((i) => (a[i] >= 0 ? 1 : 0))], [int('to', onnx.TensorProto.DataType.BOOL)]);
    max = g.node('Where', [up, max, affine(low.max)]);
    where = g.node('Where', [up, where, low.where]);
  }
  return { positions: n, l2, mean: affine(x.mean), max, where };
}
