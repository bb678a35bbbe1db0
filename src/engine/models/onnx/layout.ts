/**
 * Ops that move data (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Pad) under the layout rule of
 * context.ts: a 4-D value is held NHWC, so moving between ranks goes through channels-first order where the
 * data order would change, and axes are remapped. On constants they fold.
 */
import { type Const, type Dyn, type Handler, type NodeView, STORED, type Val, constVal, ints, storedAxis, storedDims } from './context';
import { BATCH, type HostTensor, concatHost, size, transposeHost } from './tensors';

const NONE: Record<string, never> = {};

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

export const reshape: Handler = (n) => {
  const target = ints(n.constant(1));
  const v = n.inputs[0];
  if (!v) throw n.refuse('input 1 is missing');
  const inDims = v.kind === 'dyn' ? v.dims : v.t.dims;
  const allowZero = n.int('allowzero', 0) === 1;
  const dims = target.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  if (v.kind === 'const') {
    const known = size(dims.filter((d) => d !== -1));
    n.out(
      reshapeConst(
        n,
        v.t,
        dims.map((d) => (d === -1 ? size(v.t.dims) / known : d)),
      ),
    );
    return;
  }
  // The first axis is the batch: PyTorch writes it as x.size(0) (folded to BATCH), 0, -1 or the traced size.
  const rest = dims.slice(1).map((d) => (d === BATCH ? NaN : d));
  const total = size(inDims.slice(1));
  const inferred = rest.indexOf(-1);
  if (inferred >= 0) rest[inferred] = total / size(rest.filter((d) => d !== -1));
  if (rest.some((d) => !Number.isInteger(d) || d <= 0) || size(rest) !== total) {
    throw n.refuse(
      `reshaping [${inDims.slice(1).join(', ')}] (after the batch) to [${target
        .slice(1)
        .map((d) => (d === BATCH ? 'batch' : d))
        .join(', ')}] would mix the batch with other axes`,
    );
  }
  n.out(reshapeTo(n, v, [-1, ...rest]));
};

export const flatten: Handler = (n) => {
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

export const squeeze: Handler = (n) => {
  const v = n.inputs[0];
  const dims = v?.kind === 'dyn' ? v.dims : (v?.t.dims ?? []);
  const axes = squeezeAxes(n, dims.length) ?? dims.map((d, i) => (d === 1 && i > 0 ? i : -1)).filter((i) => i >= 0);
  if (v?.kind === 'dyn' && axes.includes(0)) throw n.refuse('squeezing the batch axis is not supported');
  const out = dims.filter((_, i) => !axes.includes(i));
  n.out(v?.kind === 'const' ? reshapeConst(n, v.t, out) : reshapeTo(n, n.dyn(0), out));
};

export const unsqueeze: Handler = (n) => {
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

export const transpose: Handler = (n) => {
  const v = n.inputs[0];
  const dims = v?.kind === 'dyn' ? v.dims : (v?.t.dims ?? []);
  const perm = n.ints(
    'perm',
    dims.map((_, i) => dims.length - 1 - i),
  );
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
  const same =
    big(q, inStored).join() ===
    big(
      inStored.map((_, i) => i),
      inStored,
    ).join();
  n.out(same ? n.emit({ kind: 'reshape', shape: stored, weights: NONE }, [x.ref], out) : n.emit({ kind: 'transpose', perm: q, weights: NONE }, [x.ref], out));
};

export const concat: Handler = (n) => {
  const vals = n.inputs.filter((v): v is Val => !!v);
  const rank = vals[0].kind === 'dyn' ? vals[0].dims.length : vals[0].t.dims.length;
  let axis = n.int('axis', 0);
  if (axis < 0) axis += rank;
  if (vals.every((v) => v.kind === 'const')) {
    n.out(
      constVal(
        concatHost(
          vals.map((v) => (v as Const).t),
          axis,
        ),
      ),
    );
    return;
  }
  const dyns = vals.map((_, i) => n.dyn(i));
  if (axis === 0) throw n.refuse('concatenating along the batch axis is not supported');
  const out = [...dyns[0].dims];
  out[axis] = dyns.reduce((s, d) => s + d.dims[axis], 0);
  n.out(
    n.emit(
      { kind: 'concat', axis: storedAxis(axis, rank), weights: NONE },
      dyns.map((d) => d.ref),
      out,
    ),
  );
};

export const pad: Handler = (n) => {
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
