/**
 * Reading HDF5 files (Keras weights) with h5wasm, the HDF5 C library compiled to WebAssembly, in a thread of its
 * own (h5worker.ts): a damaged file can make the library trap, after which its memory is undefined, or loop
 * forever. The thread answers with a plain snapshot of the file (groups, attributes, datasets as float32), read
 * whole (a Keras file is read whole anyway); after a trap or a read that does not finish, the thread is ended and
 * the next file gets a fresh one, so the engine stays healthy and the message names the file. The same path
 * serves a `.h5` on disk and the `model.weights.h5` inside a `.keras` zip.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { memoryBudget } from '../runtime/budget';
import { UserError } from '../runtime/errors';
import type { H5ReadReply, SnapAttr, SnapDataset, SnapGroup, SnapNode } from './h5snapshot';

/** HDF5's signature, at offset 0 of every file this project reads (no user block). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * How long a file's read may take before it is taken for a damaged file the library loops on: far above what
 * h5wasm needs (hundreds of MB/s). FEATURE_LENS_H5_TIMEOUT_SECONDS replaces the 30 s base (tests of damaged files).
 */
function timeLimitMs(bytes: number): number {
  const base = Number(process.env.FEATURE_LENS_H5_TIMEOUT_SECONDS);
  return ((Number.isFinite(base) && base > 0 ? base : 30) + bytes / 2 ** 20) * 1000;
}

/** A reader thread is kept for the next file (starting one takes about a second) unless it read more than this. */
const KEEP_READER_BYTES = 64 * 2 ** 20;

interface Reader {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, (r: H5ReadReply | { gone: string }) => void>;
}
let reader: Reader | undefined;
let seq = 0;

/** The reader thread: dist/h5worker.js beside the engine bundle, else the source through tsx (unit tests). */
function startReader(): Reader {
  const bundled = path.join(__dirname, 'h5worker.js');
  const tsx = ['tsx', 'cjs'].join('/'); // resolved at run time, from the sources only (the bundle has h5worker.js)
  if (!fs.existsSync(bundled) && !fs.existsSync(path.join(__dirname, 'h5worker.ts')))
    throw new Error(`the HDF5 reader ${bundled} is missing (a partial build)`);
  const worker = fs.existsSync(bundled)
    ? new Worker(bundled)
    : new Worker(`require(${JSON.stringify(require.resolve(tsx))}); require(${JSON.stringify(path.join(__dirname, 'h5worker.ts'))});`, { eval: true });
  worker.unref(); // an idle reader never keeps the engine (or a CLI run) alive
  const r: Reader = { worker, ready: undefined as never, pending: new Map() };
  r.ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: H5ReadReply & { ready?: boolean; failed?: string }) => {
      if (m.ready) resolve();
      else if (m.failed) reject(new Error(`the HDF5 library failed to start: ${m.failed}`));
      else r.pending.get(m.id)?.(m);
    });
    const gone = (why: string) => {
      if (reader === r) reader = undefined;
      reject(new Error(why));
      for (const settle of [...r.pending.values()]) settle({ gone: why });
      r.pending.clear();
    };
    worker.on('error', (e) => gone(`the HDF5 reader failed (${e.message.split('\n')[0].slice(0, 200)})`));
    worker.on('exit', (code) => gone(`the HDF5 reader stopped (exit code ${code})`));
  });
  r.ready.catch(() => {});
  return r;
}

/** Ends the reader thread (after a trap or a read that does not finish); the next read starts a fresh one. */
function endReader(r: Reader): void {
  if (reader === r) reader = undefined;
  void r.worker.terminate();
}

/** The snapshot of HDF5 `bytes`, read in the reader thread; `file` names the source in messages. */
async function readSnapshot(bytes: Uint8Array, file: string): Promise<SnapGroup> {
  let r: Reader;
  try {
    r = reader ??= startReader();
    await r.ready;
  } catch (e) {
    throw new UserError('internal', `cannot be read: ${(e as Error).message}.`, file);
  }
  const id = ++seq;
  const limit = timeLimitMs(bytes.length);
  r.worker.ref();
  try {
    const reply = await new Promise<H5ReadReply | { gone: string } | { timeout: true }>((resolve) => {
      const timer = setTimeout(() => resolve({ timeout: true }), limit);
      r.pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      r.worker.postMessage({ id, bytes, maxBytes: memoryBudget() });
    });
    r.pending.delete(id);
    if ('timeout' in reply) {
      endReader(r);
      throw new UserError(
        'badInput',
        `is a damaged HDF5 file: reading it did not finish within ${Math.round(limit / 1000)} s (the HDF5 library loops forever on some damaged files).`,
        file,
      );
    }
    if ('gone' in reply) throw new UserError('badInput', `is a damaged HDF5 file: ${reply.gone} while reading it.`, file);
    if (reply.trap) endReader(r);
    if (reply.err !== undefined) throw new UserError('badInput', reply.err, file);
    return reply.ok!;
  } finally {
    // WebAssembly memory only grows: a reader that held a large file is not kept idle at that size.
    if (bytes.length > KEEP_READER_BYTES) endReader(r);
    else if (reader === r && !r.pending.size) r.worker.unref();
  }
}

/** A group of an HDF5 snapshot, with the part of h5wasm's Group interface the Keras readers use. */
export class H5Group {
  readonly attrs: Record<string, SnapAttr>;
  constructor(private readonly node: SnapGroup) {
    this.attrs = node.attrs;
  }
  keys(): string[] {
    return Object.keys(this.node.children);
  }
  /** The group or dataset at `p` (`a/b/c`, relative to this group), or null. */
  get(p: string): H5Group | H5Dataset | null {
    let n: SnapNode | undefined = this.node;
    for (const part of p.split('/').filter(Boolean)) {
      if (n.kind !== 'group' || !Object.prototype.hasOwnProperty.call(n.children, part)) return null;
      n = n.children[part];
    }
    return n.kind === 'group' ? new H5Group(n) : new H5Dataset(n);
  }
}

/** A dataset of an HDF5 snapshot: its shape, and its values as float32 when they could be read. */
export class H5Dataset {
  readonly shape: number[];
  readonly attrs: Record<string, SnapAttr>;
  constructor(readonly node: SnapDataset) {
    this.shape = node.shape;
    this.attrs = node.attrs;
  }
}

/** Reads HDF5 `bytes` (read-only) and runs `use` on its root group. `file` names the source in messages. */
export async function withH5<T>(bytes: Uint8Array, file: string, use: (root: H5Group) => T | Promise<T>): Promise<T> {
  if (!isHdf5(bytes)) throw new UserError('badInput', 'is not an HDF5 file (its first bytes are not the HDF5 signature).', file);
  const root = new H5Group(await readSnapshot(bytes, file));
  try {
    return await use(root);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
    throw new UserError('badInput', `is a damaged HDF5 file: reading it failed (${msg}).`, file);
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
    throw new UserError(
      'badInput',
      `is ${(stat.size / 2 ** 20).toFixed(0)} MB, more than the ${(maxBytes / 2 ** 20).toFixed(0)} MB accepted for ${what}.`,
      file,
    );
  }
  return new Uint8Array(await fs.promises.readFile(file));
}

/** An attribute as a string (HDF5 strings, fixed or variable length; Keras writes them as bytes or str). */
export function attrString(obj: H5Group | H5Dataset, name: string): string | undefined {
  const v = attrValue(obj, name);
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  return v == null ? undefined : String(v);
}

/**
 * A list-of-names attribute as Keras reads it (`load_attributes_from_hdf5_group`): `name`, or when the list was
 * too large for one HDF5 object header, the chunks `name0`, `name1`, ... in order.
 */
export function attrNames(obj: H5Group | H5Dataset, name: string): string[] | undefined {
  // An empty list is written by h5py as an empty float array: no names.
  const list = (v: unknown): string[] =>
    (Array.isArray(v)
      ? v.map(String)
      : typeof v === 'string'
        ? [v]
        : ArrayBuffer.isView(v)
          ? Array.from(v as unknown as ArrayLike<unknown>, String)
          : []
    ).filter((s) => s !== '');
  if (obj.attrs[name]) return list(attrValue(obj, name));
  if (!obj.attrs[`${name}0`]) return undefined;
  const out: string[] = [];
  for (let i = 0; obj.attrs[`${name}${i}`]; i++) out.push(...list(attrValue(obj, `${name}${i}`)));
  return out;
}

/** An attribute's value; one that could not be read throws (withH5 turns that into one line naming the file). */
function attrValue(obj: H5Group | H5Dataset, name: string): unknown {
  const a = obj.attrs[name];
  if (!a) return undefined;
  if (a.error !== undefined) throw new Error(a.error);
  return a.value;
}

/** A dataset's values as float32 with its shape (Keras weights are float32, sometimes float16 or float64). */
export function readFloat(ds: H5Dataset | H5Group | null, where: string, file: string): { shape: number[]; data: Float32Array } {
  if (!(ds instanceof H5Dataset)) throw new UserError('badInput', `weight ${where} is not a dataset.`, file);
  const { shape, data, error, unsupported } = ds.node;
  // h5wasm reads no float16 ("Float16 not supported"): a model saved with float16 variables.
  if (error !== undefined || !data) throw new UserError(unsupported ? 'unsupported' : 'badInput', `weight ${where} ${error ?? 'has no values'}.`, file);
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new UserError('badInput', `weight ${where} holds ${data.length} values for the shape [${shape.join(', ')}].`, file);
  return { shape, data };
}
