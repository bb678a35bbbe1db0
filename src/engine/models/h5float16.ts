/**
 * float16 datasets in HDF5 (Keras weights saved under a mixed-precision policy, e.g. `mixed_float16`, or with
 * float16 variables). h5wasm reads the raw 2-byte values but refuses to type them ("Float16 not supported"):
 * they are read here as they are in the file and widened to float32, which represents every float16 value
 * (normal, subnormal, ±0, ±Infinity, NaN) exactly.
 */
import type * as H5 from 'h5wasm';

/** The parts of h5wasm's Emscripten module a raw dataset read needs. */
export interface H5RawModule {
  get_dataset_data(fileId: bigint, path: string, count: null, offset: null, strides: null, ptr: bigint): number;
  _malloc(n: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
}

/** Whether an h5wasm dataset holds IEEE half floats (HDF5 float class, 2 bytes). */
export function isFloat16(ds: H5.Dataset): boolean {
  const m = ds.metadata as { type?: number; size?: number };
  return m.type === 1 /* H5T_FLOAT */ && m.size === 2;
}

/** One IEEE 754 binary16 value (its 16 bits) as a number, exactly. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A float16 dataset's values widened to float32 (the file's byte order). */
export function readFloat16(ds: H5.Dataset, mod: H5RawModule): Float32Array {
  const m = ds.metadata as { total_size: number; littleEndian?: boolean };
  const n = m.total_size;
  const bytes = 2 * n;
  const ptr = mod._malloc(Math.max(1, bytes));
  if (!ptr) throw new Error(`could not allocate ${bytes} bytes to read a float16 dataset`);
  let raw: Uint8Array;
  try {
    const { file_id: fileId, path } = ds as unknown as { file_id: bigint; path: string };
    mod.get_dataset_data(fileId, path, null, null, null, BigInt(ptr));
    raw = mod.HEAPU8.slice(ptr, ptr + bytes);
  } finally {
    mod._free(ptr);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = m.littleEndian !== false;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = halfToNumber(view.getUint16(2 * i, le));
  return out;
}
