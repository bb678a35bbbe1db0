/**
 * The top-activation index on disk: one binary file per (weights, dataset, k), complete or a checkpoint of a
 * cancelled scan.
 *
 * Layout (little-endian): "FLIX" | u32 version | u32 header bytes | header JSON (utf-8) padded to 8 bytes |
 * for each metric in METRIC_ORDER: scores f32[N·k], indices i32[N·k], locations i32[N·k], sizes i32[N] |
 * classSums f64[N·C] | deadCounts f64[N] | layerNormSums f64[L·C] | classCounts f64[C].
 * Sizes: about 40·N·k bytes for the heaps, so 10,000 nodes with k = 9 take 3.6 MB.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkInputFile, readInputFile } from '../runtime/fsutil';
import { METRIC_ORDER, type ScanLayer, type ScanState } from './scan';
import { ScoreHeaps } from './scoreHeap';

const MAGIC = 0x58494c46; // "FLIX"
const VERSION = 1;

/** What the header records besides the state's arrays. */
export interface IndexHeader {
  weightsHash: string;
  datasetHash: string;
  k: number;
  layers: ScanLayer[];
  classes: string[];
  /** Images in the dataset split. */
  total: number;
  /** The next image to scan; equals `total` when complete. */
  next: number;
  /** First image scanned (0 except for a helper's partial range). */
  start?: number;
  complete: boolean;
  model: string;
  source: string;
  seconds: number;
}

export interface StoredIndex {
  header: IndexHeader;
  state: ScanState;
}

/** The file an index for these weights, dataset and k lives in. */
export function indexPath(storageDir: string, weightsHash: string, datasetHash: string, k: number): string {
  const key = crypto.createHash('sha256').update(`flix${VERSION}\n${weightsHash}\n${datasetHash}\n${k}`).digest('hex').slice(0, 32);
  return path.join(storageDir, `${key}.flix`);
}

export function encodeIndex(header: IndexHeader, state: ScanState): Uint8Array {
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const headLen = 12 + headerBytes.length;
  const pad = (8 - (headLen % 8)) % 8;
  const N = state.nodes;
  const k = state.k;
  const heapBytes = METRIC_ORDER.length * (12 * N * k + 4 * N);
  const statBytes = 8 * (state.classSums.length + state.deadCounts.length + state.layerNormSums.length + state.classCounts.length);
  const out = new Uint8Array(headLen + pad + heapBytes + statBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  let o = headLen + pad;
  const put = (a: Float32Array | Int32Array | Float64Array) => {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o);
    o += a.byteLength;
  };
  for (const m of METRIC_ORDER) {
    const h = state.heaps[m];
    put(h.scores);
    put(h.indices);
    put(h.locations);
    put(h.sizes);
  }
  put(state.classSums);
  put(state.deadCounts);
  put(state.layerNormSums);
  put(state.classCounts);
  return out;
}

/** Parses an index file; null when it is not one (or of another version): the caller rescans. */
export function decodeIndex(bytes: Uint8Array): StoredIndex | null {
  if (bytes.byteLength < 12) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== VERSION) return null;
  const hl = view.getUint32(8, true);
  if (12 + hl > bytes.byteLength) return null;
  let header: IndexHeader;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 12, hl).toString('utf8'));
  } catch {
    return null;
  }
  if (!isIndexHeader(header)) return null;
  const N = header.layers.reduce((a, l) => a + l.nodes, 0);
  const k = header.k;
  const C = header.classes.length;
  const L = header.layers.length;
  let o = 12 + hl;
  o += (8 - (o % 8)) % 8;
  const need = o + METRIC_ORDER.length * (12 * N * k + 4 * N) + 8 * (N * C + N + L * C + C);
  if (bytes.byteLength !== need) return null;
  // Copy into aligned arrays (the file's buffer may start anywhere).
  const take = <T extends Float32Array | Int32Array | Float64Array>(Ctor: { new (n: number): T; BYTES_PER_ELEMENT: number }, n: number): T => {
    const a = new Ctor(n);
    new Uint8Array(a.buffer).set(bytes.subarray(o, o + n * Ctor.BYTES_PER_ELEMENT));
    o += n * Ctor.BYTES_PER_ELEMENT;
    return a;
  };
  const heaps = {} as ScanState['heaps'];
  for (const m of METRIC_ORDER) {
    const scores = take(Float32Array, N * k);
    const indices = take(Int32Array, N * k);
    const locations = take(Int32Array, N * k);
    const sizes = take(Int32Array, N);
    heaps[m] = new ScoreHeaps(N, k, { scores, indices, locations, sizes });
  }
  const state: ScanState = {
    layers: header.layers,
    nodes: N,
    k,
    classes: C,
    heaps,
    classSums: take(Float64Array, N * C),
    deadCounts: take(Float64Array, N),
    layerNormSums: take(Float64Array, L * C),
    classCounts: take(Float64Array, C),
    images: header.next - (header.start ?? 0),
  };
  return { header, state };
}

const whole = (v: unknown, max = 2 ** 31): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/**
 * Whether a parsed header has every field, of its type and in range: a damaged index (a valid magic number and a
 * header such as `{"layers": 5}`) is then not an index, and the scan that finds it rebuilds it.
 */
export function isIndexHeader(h: unknown): h is IndexHeader {
  if (!h || typeof h !== 'object' || Array.isArray(h)) return false;
  const x = h as Record<string, unknown>;
  if (typeof x.weightsHash !== 'string' || typeof x.datasetHash !== 'string' || typeof x.model !== 'string' || typeof x.source !== 'string') return false;
  if (!whole(x.k, 1000) || x.k < 1 || !whole(x.total) || !whole(x.next) || x.next > x.total || (x.start !== undefined && (!whole(x.start) || x.start > x.next)))
    return false;
  if (typeof x.complete !== 'boolean' || typeof x.seconds !== 'number') return false;
  if (!Array.isArray(x.classes) || x.classes.length > 1e5 || !x.classes.every((c) => typeof c === 'string')) return false;
  if (!Array.isArray(x.layers) || x.layers.length > 1e5) return false;
  let offset = 0;
  for (const l of x.layers as unknown[]) {
    if (!l || typeof l !== 'object') return false;
    const y = l as Record<string, unknown>;
    if (!whole(y.index) || typeof y.name !== 'string' || !whole(y.nodes, 2 ** 24) || y.offset !== offset) return false;
    if (!Array.isArray(y.spatial) || y.spatial.length !== 2 || !y.spatial.every((d) => whole(d, 2 ** 16))) return false;
    offset += y.nodes as number;
  }
  return true;
}

/** Only an index file's header (a few hundred bytes), or null when it is not an index file. */
export async function readIndexHeader(file: string): Promise<IndexHeader | null> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    await checkInputFile(file, { what: 'index file', maxBytes: MAX_INDEX_BYTES });
    fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const pre = Buffer.alloc(12);
    if ((await fh.read(pre, 0, 12, 0)).bytesRead < 12) return null;
    if (pre.readUInt32LE(0) !== MAGIC || pre.readUInt32LE(4) !== VERSION) return null;
    const hl = pre.readUInt32LE(8);
    if (hl > 64 * 2 ** 20) return null;
    const head = Buffer.alloc(hl);
    if ((await fh.read(head, 0, hl, 12)).bytesRead < hl) return null;
    const header: unknown = JSON.parse(head.toString('utf8'));
    return isIndexHeader(header) ? header : null;
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

/** Index files larger than this are not read (40·N·k bytes: a million nodes with k = 25 is 1 GB). */
const MAX_INDEX_BYTES = 2 ** 30;

const cache = new Map<string, { mtimeMs: number; size: number; index: StoredIndex }>();
/** Complete indexes kept in memory (the most recently read). */
const MAX_CACHED = 8;

/**
 * Marks an index file as just used: its modification time, which the clean-up of earlier weights' indexes
 * sorts by (topActivations.ts). Its cached copy stays valid.
 */
export async function markIndexUsed(file: string): Promise<void> {
  const now = new Date();
  try {
    await fs.promises.utimes(file, now, now);
    const hit = cache.get(file);
    if (hit) hit.mtimeMs = (await fs.promises.stat(file)).mtimeMs;
  } catch {
    // Gone (deleted by another process): nothing to mark.
  }
}

/** Reads an index file (cached by mtime); null when it is missing or unreadable. */
export async function readIndex(file: string): Promise<StoredIndex | null> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    return null;
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.index;
  let bytes: Buffer;
  try {
    bytes = await readInputFile(file, { what: 'index file', maxBytes: MAX_INDEX_BYTES });
  } catch {
    return null; // not a regular file of a plausible size: rescanned and replaced
  }
  const index = decodeIndex(bytes);
  if (index && index.header.complete) {
    cache.delete(file);
    cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, index });
    while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  }
  return index;
}
