/**
 * Reading HDF5 files (Keras weights) with h5wasm, the HDF5 C library compiled to WebAssembly. The file's bytes
 * are copied into h5wasm's in-memory file system, read, and removed again: a Keras file is read whole anyway,
 * and the same path serves a `.h5` on disk and the `model.weights.h5` inside a `.keras` zip.
 */
import * as fs from 'node:fs';
import type * as H5 from 'h5wasm';
import { isEngineFault, UserError } from '../errors';
import { isFloat16, readFloat16, type H5RawModule } from './h5float16';

type H5Module = typeof H5;
let h5: Promise<{ lib: H5Module; fs: NonNullable<H5Module['FS']> }> | undefined;
/** h5wasm's Emscripten module once loaded (raw reads of types h5wasm does not convert, e.g. float16). */
let raw: H5RawModule | undefined;

function library(): Promise<{ lib: H5Module; fs: NonNullable<H5Module['FS']> }> {
  h5 ??= (async () => {
    const lib = (await import('h5wasm')) as H5Module;
    const mod = await lib.ready;
    raw = mod as unknown as H5RawModule;
    return { lib, fs: mod.FS };
  })();
  return h5;
}

/** HDF5's signature, at offset 0 of every file this project reads (no user block). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

let counter = 0;

/** Opens HDF5 `bytes` (read-only), runs `use`, then closes and frees it. `file` names the source in messages. */
export async function withH5<T>(bytes: Uint8Array, file: string, use: (root: H5.File) => T | Promise<T>): Promise<T> {
  if (!isHdf5(bytes)) throw new UserError('badInput', 'is not an HDF5 file (its first bytes are not the HDF5 signature).', file);
  const { lib, fs: memfs } = await library();
  const name = `/fl-${process.pid}-${++counter}.h5`;
  memfs.writeFile(name, bytes);
  let root: H5.File | undefined;
  try {
    try {
      root = new lib.File(name, 'r');
    } catch (e) {
      throw new UserError('badInput', `is not a readable HDF5 file (${e instanceof Error ? e.message : String(e)}).`, file);
    }
    try {
      return await use(root);
    } catch (e) {
      // h5wasm reports a damaged file from deep inside its reads ("name not defined!", with a wasm stack):
      // one line naming the file instead. Our own refusals and engine faults go through as they are.
      if (e instanceof UserError || isEngineFault(e)) throw e;
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/^error - /, '').slice(0, 200);
      throw new UserError('badInput', `is a damaged HDF5 file: reading it failed (${msg}).`, file);
    }
  } finally {
    root?.close();
    memfs.unlink(name);
  }
}

/** Reads a regular file after checking it is one and that its size is plausible for `what`. */
export async function readChecked(file: string, maxBytes: number, what: string): Promise<Uint8Array> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    throw new UserError('notFound', 'file not found.', file);
  }
  if (!stat.isFile()) throw new UserError('badInput', 'is not a regular file.', file);
  if (stat.size === 0) throw new UserError('badInput', `is empty; expected ${what}.`, file);
  if (stat.size > maxBytes) {
    throw new UserError('badInput', `is ${(stat.size / 2 ** 20).toFixed(0)} MB, more than the ${(maxBytes / 2 ** 20).toFixed(0)} MB accepted for ${what}.`, file);
  }
  return new Uint8Array(await fs.promises.readFile(file));
}

/** An attribute as a string (HDF5 strings, fixed or variable length; Keras writes them as bytes or str). */
export function attrString(obj: H5.Group, name: string): string | undefined {
  const a = obj.attrs[name];
  if (!a) return undefined;
  const v = a.value;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  return v == null ? undefined : String(v);
}

/**
 * A list-of-names attribute as Keras reads it (`load_attributes_from_hdf5_group`): `name`, or when the list was
 * too large for one HDF5 object header, the chunks `name0`, `name1`, ... in order.
 */
export function attrNames(obj: H5.Group, name: string): string[] | undefined {
  // An empty list is written by h5py as an empty float array: no names.
  const list = (v: unknown): string[] =>
    (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<unknown>, String) : []).filter((s) => s !== '');
  if (obj.attrs[name]) return list(obj.attrs[name].value);
  if (!obj.attrs[`${name}0`]) return undefined;
  const out: string[] = [];
  for (let i = 0; obj.attrs[`${name}${i}`]; i++) out.push(...list(obj.attrs[`${name}${i}`].value));
  return out;
}

/** A dataset's values as float32 with its shape (Keras weights are float32, sometimes float16 or float64). */
export function readFloat(ds: H5.Dataset, where: string, file: string): { shape: number[]; data: Float32Array } {
  const shape = ds.shape ?? [];
  let v: unknown;
  try {
    // h5wasm types no float16 ("Float16 not supported"): a model saved with mixed precision.
    v = isFloat16(ds) && raw ? readFloat16(ds, raw) : ds.value;
  } catch (e) {
    throw new UserError('unsupported', `weight ${where} cannot be read (${e instanceof Error ? e.message : String(e)}; HDF5 type ${JSON.stringify(ds.dtype)}).`, file);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  if (v instanceof Float32Array) data = v;
  else if (v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array || v instanceof Int16Array || v instanceof Uint16Array || v instanceof Int8Array || v instanceof Uint32Array) data = Float32Array.from(v);
  else if (typeof v === 'number') data = Float32Array.of(v);
  else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) data = Float32Array.from(v as number[]);
  else throw new UserError('unsupported', `weight ${where} has the HDF5 type ${JSON.stringify(ds.dtype)}, which is not a number type this reader knows.`, file);
  if (data.length !== size) throw new UserError('badInput', `weight ${where} holds ${data.length} values for the shape [${shape.join(', ')}].`, file);
  return { shape, data };
}
