/**
 * The HDF5 reader's thread: opens one file's bytes with h5wasm (the HDF5 C library compiled to WebAssembly) and
 * answers with a plain snapshot of it (groups, attributes, datasets as float32). It runs apart from the engine
 * because a damaged file can make the HDF5 library trap (its memory is then undefined) or loop forever: the
 * engine ends this thread and starts a fresh one, with a fresh h5wasm, and the engine itself stays healthy.
 * Built as dist/h5worker.js; started by h5.ts.
 */
import { parentPort } from 'node:worker_threads';
import type * as H5 from 'h5wasm';
import { isFloat16, readFloat16, type H5RawModule } from './h5float16';
import type { H5ReadReply, H5ReadRequest, SnapDataset, SnapGroup, SnapNode } from './h5snapshot';

/** Deflate (HDF5's gzip filter) packs at most ~1032:1; no filter of a real weights file packs more. */
const MAX_FILTER_RATIO = 1032;
/** A Keras file's tree is a few levels deep and has at most thousands of objects; hard links may form cycles. */
const MAX_DEPTH = 32;
const MAX_NODES = 200_000;
/** Attributes live in object headers (64 KB) or a dense heap; Keras's largest is model_config, a JSON text. */
const MAX_ATTR_BYTES = 64 * 2 ** 20;

type Lib = typeof H5;
let lib: Promise<Lib> | undefined;
/** h5wasm's Emscripten module once loaded (raw reads of types h5wasm does not convert, e.g. float16). */
let raw: H5RawModule | undefined;

// HDF5 prints its error stack to stderr on every failure: the reply carries the error instead.
console.error = () => {};
console.warn = () => {};

function load(): Promise<Lib> {
  lib ??= (async () => {
    const l = (await import('h5wasm')) as Lib;
    raw = (await l.ready) as unknown as H5RawModule;
    return l;
  })();
  return lib;
}

const message = (e: unknown) =>
  (e instanceof Error ? e.message : String(e))
    .split('\n')[0]
    .replace(/^error - /, '')
    .slice(0, 200);

/** The error of a WebAssembly trap or abort, after which the library's memory is undefined. */
function isTrap(e: unknown): boolean {
  return (
    (e instanceof Error && e.name === 'RuntimeError') ||
    /memory access out of bounds|Aborted\(|unreachable|Cannot enlarge memory|Array buffer allocation failed/i.test(message(e))
  );
}

/** A typed array of numbers (or a number) as float32, or undefined for other types. */
function toFloat32(v: unknown): Float32Array | undefined {
  if (v instanceof Float32Array) return v;
  if (
    v instanceof Float64Array ||
    v instanceof Int32Array ||
    v instanceof Uint8Array ||
    v instanceof Int16Array ||
    v instanceof Uint16Array ||
    v instanceof Int8Array ||
    v instanceof Uint32Array
  )
    return Float32Array.from(v);
  if (typeof v === 'number') return Float32Array.of(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return Float32Array.from(v as number[]);
  return undefined;
}

/** An attribute value as plain data: strings, string lists, numbers; big ints as numbers. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
  if (Array.isArray(v)) return v.map(plain);
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return v;
  return String(v);
}

interface Budget {
  fileBytes: number;
  /** Bytes of values that may still be read (the engine's memory budget). */
  left: number;
  nodes: number;
}

function readAttrs(obj: H5.Group | H5.Dataset): Record<string, { value?: unknown; error?: string }> {
  const out: Record<string, { value?: unknown; error?: string }> = {};
  let attrs: Record<string, H5.Attribute>;
  try {
    attrs = obj.attrs;
  } catch (e) {
    if (isTrap(e)) throw e;
    return out; // a damaged attribute table: as if there were none (a reader that needs one says it is missing)
  }
  for (const [name, a] of Object.entries(attrs)) {
    try {
      const bytes = a.metadata.size * a.metadata.total_size;
      if (!(bytes <= MAX_ATTR_BYTES)) {
        out[name] = { error: `attribute ${name} declares ${bytes} bytes` };
        continue;
      }
      out[name] = { value: plain(a.value) };
    } catch (e) {
      if (isTrap(e)) throw e;
      out[name] = { error: `attribute ${name}: ${message(e)}` };
    }
  }
  return out;
}

function readDataset(ds: H5.Dataset, b: Budget): SnapDataset {
  const node: SnapDataset = { kind: 'dataset', attrs: readAttrs(ds), shape: [], dtype: '' };
  try {
    const meta = ds.metadata;
    node.shape = meta.shape ?? [];
    node.dtype = JSON.stringify(ds.dtype);
    const bytes = meta.size * meta.total_size;
    let filtered = false;
    try {
      filtered = ds.filters.length > 0;
    } catch (e) {
      if (isTrap(e)) throw e;
    }
    // Values the file cannot hold are not read: unfiltered data lies in the file, filtered data packs at most
    // MAX_FILTER_RATIO:1; beyond that, a few header bytes declare gigabytes (fill values of unwritten storage).
    const holdable = filtered ? b.fileBytes * MAX_FILTER_RATIO : b.fileBytes;
    if (!(bytes <= holdable)) {
      node.error = `declares ${bytes.toLocaleString('en-US')} bytes of values (shape [${node.shape.join(', ')}]), more than the ${b.fileBytes.toLocaleString('en-US')}-byte file can hold`;
      return node;
    }
    // In memory the values take their stored bytes and then 4 per value as float32 (float16 widens to twice its size).
    const held = bytes + 4 * meta.total_size;
    if (!(held <= b.left)) {
      node.error = `declares ${bytes.toLocaleString('en-US')} bytes of values, more than the engine's memory budget leaves`;
      return node;
    }
    b.left -= held;
    let v: unknown;
    try {
      // h5wasm types no float16 ("Float16 not supported"): a model saved with mixed precision.
      v = isFloat16(ds) && raw ? readFloat16(ds, raw) : ds.value;
    } catch (e) {
      if (isTrap(e)) throw e;
      node.error = `cannot be read (${message(e)}; HDF5 type ${node.dtype})`;
      node.unsupported = /not supported/i.test(message(e));
      return node;
    }
    const data = toFloat32(v);
    if (!data) {
      node.error = `has the HDF5 type ${node.dtype}, which is not a number type this reader knows`;
      node.unsupported = true;
    } else node.data = data;
  } catch (e) {
    if (isTrap(e)) throw e;
    node.error = `cannot be read (${message(e)})`;
  }
  return node;
}

function readGroup(g: H5.Group, b: Budget, depth: number): SnapGroup {
  const node: SnapGroup = { kind: 'group', attrs: readAttrs(g), children: {} };
  if (depth >= MAX_DEPTH) return node;
  let keys: string[];
  try {
    keys = g.keys();
  } catch (e) {
    if (isTrap(e)) throw e;
    node.error = `its members cannot be listed (${message(e)})`;
    return node;
  }
  for (const k of keys) {
    if (++b.nodes > MAX_NODES) throw new Error(`holds more than ${MAX_NODES.toLocaleString('en-US')} HDF5 objects (or links that loop)`);
    let child: H5.Entity | null;
    try {
      child = g.get(k);
    } catch (e) {
      if (isTrap(e)) throw e;
      continue; // a damaged link: as if absent
    }
    let snap: SnapNode | undefined;
    if (child && 'keys' in child && typeof child.keys === 'function') snap = readGroup(child as H5.Group, b, depth + 1);
    else if (child && 'shape' in child && 'filters' in child) snap = readDataset(child as H5.Dataset, b);
    if (snap) node.children[k] = snap;
  }
  return node;
}

let counter = 0;

async function read(req: H5ReadRequest): Promise<H5ReadReply> {
  const l = await load();
  const memfs = l.FS!;
  const name = `/r-${++counter}.h5`;
  memfs.writeFile(name, req.bytes);
  let root: H5.File | undefined;
  try {
    try {
      root = new l.File(name, 'r');
    } catch (e) {
      if (isTrap(e)) throw e;
      return { id: req.id, err: `is not a readable HDF5 file (${message(e)}).` };
    }
    const b: Budget = { fileBytes: req.bytes.length, left: req.maxBytes, nodes: 0 };
    const tree = readGroup(root, b, 0);
    return { id: req.id, ok: tree };
  } catch (e) {
    if (isTrap(e)) return { id: req.id, err: `is a damaged HDF5 file: the HDF5 library crashed reading it (${message(e)}).`, trap: true };
    return { id: req.id, err: `is a damaged HDF5 file: ${message(e)}.` };
  } finally {
    try {
      root?.close();
      memfs.unlink(name);
    } catch {
      // after a trap the library may fail again: this thread is ended anyway
    }
  }
}

/** Every Float32Array's buffer in a snapshot (once each), to transfer rather than copy. */
function buffers(n: SnapNode, out = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (n.kind === 'dataset') {
    if (n.data && n.data.byteOffset === 0 && n.data.byteLength === n.data.buffer.byteLength) out.add(n.data.buffer as ArrayBuffer);
  } else for (const c of Object.values(n.children)) buffers(c, out);
  return [...out];
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: H5ReadRequest) => {
    read(req).then(
      (reply) => port.postMessage(reply, reply.ok ? buffers(reply.ok) : []),
      (e) =>
        port.postMessage({ id: req.id, err: `is a damaged HDF5 file: the HDF5 library crashed reading it (${message(e)}).`, trap: true } satisfies H5ReadReply),
    );
  });
  load().then(
    () => port.postMessage({ ready: true }),
    (e) => port.postMessage({ failed: message(e) }),
  );
}
