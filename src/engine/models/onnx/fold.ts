/**
 * Constant folding at import: the shape arithmetic exported graphs contain (`Constant`, `Shape` of a computed
 * value, `Gather`, `Cast`, `ConstantOfShape`, `Slice`, unary math) computed on the host, since the input size
 * is fixed. The batch size is dynamic: `Shape` gives `BATCH` for it, which `Reshape` reads as "the batch".
 */
import { type Handler, constVal, ints } from './context';
import { BATCH, type HostTensor, decodeTensor, gatherHost, size, sliceHost } from './tensors';

const intTensor = (data: number[], dims = [data.length]): HostTensor => ({ dims, data, type: 'int' });

const constant: Handler = (n) => {
  const t = n.tensor('value');
  if (t) return n.out(constVal(decodeTensor(t, n.ctx.dir, n.ctx.file)));
  const f = n.floats('value_floats');
  if (f) return n.out(constVal({ dims: [f.length], data: Float32Array.from(f), type: 'float' }));
  if (n.has('value_float')) return n.out(constVal({ dims: [], data: Float32Array.of(n.float('value_float', 0)), type: 'float' }));
  if (n.has('value_ints')) {
    const v = n.ints('value_ints', []);
    return n.out(constVal(intTensor(v)));
  }
  if (n.has('value_int')) return n.out(constVal(intTensor([n.int('value_int', 0)], [])));
  throw n.refuse('it holds no value of a supported kind');
};

const shape: Handler = (n) => {
  const v = n.inputs[0];
  if (!v) throw n.refuse('input 1 is missing');
  const dims = v.kind === 'dyn' ? v.dims.map((d, i) => (i === 0 ? BATCH : d)) : v.t.dims;
  const rank = dims.length;
  const norm = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
  const start = norm(n.int('start', 0));
  const end = norm(n.int('end', rank));
  n.out(constVal(intTensor(dims.slice(start, end))));
};

const gather: Handler = (n) => {
  const data = n.constant(0);
  const idx = n.constant(1);
  let axis = n.int('axis', 0);
  if (axis < 0) axis += data.dims.length;
  n.out(constVal(gatherHost(data, idx, axis)));
};

const cast: Handler = (n) => {
  const v = n.inputs[0];
  if (!v) throw n.refuse('input 1 is missing');
  const to = n.int('to', 1);
  const float = to === 1 || to === 10 || to === 11;
  if (v.kind === 'dyn') {
    if (!float) throw n.refuse('casting a computed value to an integer type is not supported');
    return n.out(v);
  }
  n.out(
    constVal(
      float
        ? { ...v.t, data: Float32Array.from(v.t.data), type: 'float' }
        : { ...v.t, data: Array.from(v.t.data, (x) => (x === BATCH ? x : Math.trunc(x))), type: 'int' },
    ),
  );
};

const constantOfShape: Handler = (n) => {
  const dims = ints(n.constant(0));
  if (dims.includes(BATCH)) throw n.refuse('a constant shaped by the dynamic batch size is not supported');
  const t = n.tensor('value');
  const v = t ? decodeTensor(t, n.ctx.dir, n.ctx.file) : { dims: [1], data: Float32Array.of(0), type: 'float' as const };
  const count = size(dims);
  n.out(
    constVal(
      v.type === 'float' ? { dims, data: new Float32Array(count).fill(v.data[0]), type: 'float' } : intTensor(new Array<number>(count).fill(v.data[0]), dims),
    ),
  );
};

const slice: Handler = (n) => {
  let t = n.constant(0);
  const old = n.ctx.opset < 10;
  const starts = old ? n.ints('starts', []) : ints(n.constant(1));
  const ends = old ? n.ints('ends', []) : ints(n.constant(2));
  const axes = old
    ? n.ints(
        'axes',
        starts.map((_, i) => i),
      )
    : n.inputs[3]
      ? ints(n.constant(3))
      : starts.map((_, i) => i);
  const steps = !old && n.inputs[4] ? ints(n.constant(4)) : starts.map(() => 1);
  axes.forEach((a, i) => (t = sliceHost(t, a < 0 ? a + t.dims.length : a, starts[i], ends[i], steps[i])));
  n.out(constVal(t));
};

function unaryConst(f: (x: number) => number): Handler {
  return (n) => {
    const t = n.constant(0);
    if (t.data.includes(BATCH)) throw n.refuse('arithmetic on the dynamic batch size is not supported');
    n.out(constVal({ ...t, data: t.type === 'float' ? Float32Array.from(t.data, f) : Array.from(t.data, f) }));
  };
}

export const FOLD_OPS: Record<string, Handler> = {
  Constant: constant,
  Shape: shape,
  Gather: gather,
  Cast: cast,
  ConstantOfShape: constantOfShape,
  Slice: slice,
  Neg: unaryConst((x) => -x),
  Floor: unaryConst(Math.floor),
  Ceil: unaryConst(Math.ceil),
  Sqrt: unaryConst(Math.sqrt),
};
