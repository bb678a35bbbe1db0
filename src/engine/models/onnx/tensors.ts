/**
 * ONNX tensors on the host: decoding `TensorProto`s (initializers, `Constant` values) into plain typed arrays,
 * and the small numeric helpers the importer folds constant subgraphs with (shape arithmetic of exported
 * graphs). Values keep ONNX's layout (NCHW); the importer converts what becomes a network weight.
 */
import { broadcastShapes } from '../broadcast';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { UserError } from '../../runtime/errors';

/** A constant known at import: floats as Float32Array, integers (and booleans) as plain numbers. */
export interface HostTensor {
  dims: number[];
  data: Float32Array | number[];
  /** 'float' for float16/32/64 (held as float32), 'int' for integer and boolean types. */
  type: 'float' | 'int';
}

/**
 * The batch dimension in folded shape arithmetic (`Shape` of a value whose batch is dynamic). Gather, Concat,
 * Unsqueeze, Cast and Slice carry it; `Reshape` reads it as "the batch"; arithmetic on it is refused.
 */
export const BATCH = -987654321;

const DT = onnx.TensorProto.DataType;

/** int64 fields decode to `Long` objects when the `long` package is present. */
export function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function size(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function dataTypeName(t: number): string {
  return (DT as unknown as Record<number, string>)[t] ?? `type ${t}`;
}

/** float16 bits → number. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Decodes one TensorProto. `dir` is the model's folder, for external data (refused outside it, and with one
 * line when the file is missing). `where` names the tensor in messages.
 */
export function decodeTensor(t: onnx.ITensorProto, dir: string, file: string): HostTensor {
  const dims = (t.dims ?? []).map(num);
  const n = size(dims);
  const name = t.name || '(unnamed)';
  let raw: Uint8Array | undefined = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = readExternal(t, dir, file);
  const type = t.dataType ?? 0;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const need = (bytes: number) => {
    if (view && view.byteLength < n * bytes)
      throw new UserError(
        'badInput',
        `tensor "${name}" holds ${view.byteLength} bytes, fewer than its shape [${dims.join(', ')}] needs (the file is truncated or corrupt).`,
        file,
      );
  };
  switch (type) {
    case DT.FLOAT: {
      if (raw) {
        need(4);
        // Copy the bytes (any alignment) and view them: ONNX stores little-endian, as every platform Node runs on.
        return { dims, data: new Float32Array(new Uint8Array(raw.subarray(0, n * 4)).buffer), type: 'float' };
      }
      const out = new Float32Array(n);
      out.set((t.floatData ?? []).slice(0, n));
      return { dims, data: out, type: 'float' };
    }
    case DT.DOUBLE: {
      const out = new Float32Array(n);
      if (view) {
        need(8);
        for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      } else out.set((t.doubleData ?? []).slice(0, n));
      return { dims, data: out, type: 'float' };
    }
    case DT.FLOAT16: {
      const out = new Float32Array(n);
      if (view) {
        need(2);
        for (let i = 0; i < n; i++) out[i] = half(view.getUint16(i * 2, true));
      } else (t.int32Data ?? []).slice(0, n).forEach((v, i) => (out[i] = half(v)));
      return { dims, data: out, type: 'float' };
    }
    case DT.INT64: {
      if (view) {
        need(8);
        return { dims, data: Array.from({ length: n }, (_, i) => Number(view.getBigInt64(i * 8, true))), type: 'int' };
      }
      return { dims, data: (t.int64Data ?? []).slice(0, n).map(num), type: 'int' };
    }
    case DT.INT32:
    case DT.INT16:
    case DT.INT8:
    case DT.UINT8:
    case DT.UINT16:
    case DT.BOOL: {
      if (view) {
        need(type === DT.INT32 ? 4 : type === DT.INT16 || type === DT.UINT16 ? 2 : 1);
        return { dims, data: readSmallIntegers(view, type, n), type: 'int' };
      }
      return { dims, data: (t.int32Data ?? []).slice(0, n), type: 'int' };
    }
    default:
      throw new UserError(
        'unsupported',
        `tensor "${name}" is of ONNX type ${dataTypeName(type)}, which Feature Lens does not read (float, double, float16 and integer tensors are read).`,
        file,
      );
  }
}

/** `n` little-endian values of a raw int32, int16, uint16, int8, uint8 or bool tensor. */
function readSmallIntegers(view: DataView, type: number, n: number): number[] {
  const get = (i: number) =>
    type === DT.INT32
      ? view.getInt32(i * 4, true)
      : type === DT.INT16
        ? view.getInt16(i * 2, true)
        : type === DT.UINT16
          ? view.getUint16(i * 2, true)
          : type === DT.INT8
            ? view.getInt8(i)
            : view.getUint8(i);
  return Array.from({ length: n }, (_, i) => get(i));
}

/** External data: `location` relative to the model's folder, with `offset`/`length`. */
function readExternal(t: onnx.ITensorProto, dir: string, file: string): Uint8Array {
  const entry = (k: string) => t.externalData?.find((e) => e.key === k)?.value ?? undefined;
  const location = entry('location');
  if (!location) throw new UserError('badInput', `tensor "${t.name}" is stored outside the file but names no location.`, file);
  const target = path.resolve(dir, location);
  if (path.relative(dir, target).startsWith('..') || path.isAbsolute(location)) {
    throw new UserError(
      'badInput',
      `tensor "${t.name}" points at external data "${location}" outside the model's folder; Feature Lens reads external data only beside the model.`,
      file,
    );
  }
  if (!fs.existsSync(target)) {
    throw new UserError(
      'notFound',
      `its weights are stored in an external data file "${location}", which is missing (expected at ${target}); copy it beside the model.`,
      file,
    );
  }
  const offset = Number(entry('offset') ?? 0);
  const whole = fs.readFileSync(target);
  const length = entry('length') !== undefined ? Number(entry('length')) : whole.byteLength - offset;
  if (offset + length > whole.byteLength)
    throw new UserError('badInput', `external data file "${location}" is shorter than tensor "${t.name}" needs (truncated?).`, file);
  return whole.subarray(offset, offset + length);
}

/** Row-major strides. */
export function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

export { broadcastShapes };

/** Elementwise `f` of two host tensors with broadcasting. */
export function binary(a: HostTensor, b: HostTensor, f: (x: number, y: number) => number, type: 'float' | 'int'): HostTensor | undefined {
  const dims = broadcastShapes(a.dims, b.dims);
  if (!dims) return undefined;
  const n = size(dims);
  const st = strides(dims);
  const idx = (t: HostTensor) => {
    const ts = strides(t.dims);
    const off = dims.length - t.dims.length;
    return (flat: number) => {
      let k = 0;
      for (let d = 0; d < t.dims.length; d++) {
        const c = Math.floor(flat / st[d + off]) % dims[d + off];
        if (t.dims[d] !== 1) k += c * ts[d];
      }
      return k;
    };
  };
  const ia = idx(a);
  const ib = idx(b);
  const out = type === 'float' ? new Float32Array(n) : new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = f(a.data[ia(i)], b.data[ib(i)]);
  return { dims, data: out, type };
}

/** Transposes a host tensor: out dim i = in dim perm[i]. */
export function transposeHost(t: HostTensor, perm: number[]): HostTensor {
  const dims = perm.map((p) => t.dims[p]);
  const n = size(dims);
  const inSt = strides(t.dims);
  const outSt = strides(dims);
  const out = t.type === 'float' ? new Float32Array(n) : new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let d = 0; d < dims.length; d++) k += (Math.floor(i / outSt[d]) % dims[d]) * inSt[perm[d]];
    out[i] = t.data[k];
  }
  return { dims, data: out, type: t.type };
}

/** Gathers along `axis` with (already normalized) indices. */
export function gatherHost(t: HostTensor, indices: HostTensor, axis: number): HostTensor {
  const outer = size(t.dims.slice(0, axis));
  const inner = size(t.dims.slice(axis + 1));
  const len = t.dims[axis];
  const idx = indices.data.map((v) => (v < 0 ? v + len : v));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (const i of idx) for (let k = 0; k < inner; k++) out.push(t.data[(o * len + i) * inner + k]);
  return {
    dims: [...t.dims.slice(0, axis), ...indices.dims, ...t.dims.slice(axis + 1)],
    data: t.type === 'float' ? Float32Array.from(out) : out,
    type: t.type,
  };
}

/** Concatenates host tensors along `axis`. */
export function concatHost(ts: HostTensor[], axis: number): HostTensor {
  const dims = [...ts[0].dims];
  dims[axis] = ts.reduce((a, t) => a + t.dims[axis], 0);
  const outer = size(dims.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const chunk = size(t.dims.slice(axis));
      for (let k = 0; k < chunk; k++) out.push(t.data[o * chunk + k]);
    }
  }
  const type = ts.every((t) => t.type === 'int') ? 'int' : 'float';
  return { dims, data: type === 'float' ? Float32Array.from(out) : out, type };
}

/** Slices one axis `[start, end)` with a step. */
export function sliceHost(t: HostTensor, axis: number, start: number, end: number, step: number): HostTensor {
  const len = t.dims[axis];
  const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + len : v, lo), hi);
  const s = step > 0 ? clampIdx(start, 0, len) : clampIdx(start, 0, len - 1);
  const e = step > 0 ? clampIdx(end, 0, len) : clampIdx(end, -1, len - 1);
  const picks: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) picks.push(i);
  return gatherHost(t, { dims: [picks.length], data: picks, type: 'int' }, axis);
}
