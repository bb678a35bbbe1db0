/**
 * IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/): magic `00 00 <dtype> <ndims>`, then
 * `ndims` big-endian uint32 dimensions, then the values big-endian, row-major. Plain or gzipped.
 * Images are `[N, h, w]` or `[N, h, w, c]`, uint8 (scaled to [0, 1]) or float32 (used as is);
 * labels are `[N]` uint8 or int32.
 */
import type { Split } from '../../shared/protocol';
import { UserError } from '../runtime/errors';
import { ArrayFileDataset } from './base';
import type { Dataset } from './dataset';
import { openBytes, type ByteSource } from './bytes';

const DTYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

export interface IdxHeader {
  dtype: string;
  bytes: number;
  dims: number[];
  /** Byte offset of the first value. */
  offset: number;
}

/** Dimensions for a one-line message (a corrupt header can announce up to 255 of them). */
function dimsText(dims: number[]): string {
  return dims.length > 6 ? `${dims.slice(0, 6).join(', ')}, … (${dims.length} dimensions)` : dims.join(', ');
}

/**
 * An IDX header from the file's first bytes: `{ need }` when more bytes are needed, else the dtype, dimensions,
 * offset of the first value and the file size the header announces. Throws on a header that is not one.
 */
function parseIdxHead(
  head: Uint8Array,
  file: string,
): { need: number } | { dt: { name: string; bytes: number }; dims: number[]; offset: number; expected: number } {
  if (head.byteLength < 4) return { need: 4 };
  const dt = DTYPES[head[2]];
  if (head[0] !== 0 || head[1] !== 0 || !dt || head[3] === 0) {
    const hex = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new UserError(
      'badInput',
      `is not an IDX file: its magic number is ${hex}, expected 00 00 08 03 (uint8 images), 00 00 08 01 (uint8 labels) or another IDX type.`,
      file,
    );
  }
  const ndims = head[3];
  const offset = 4 + 4 * ndims;
  if (head.byteLength < offset) return { need: offset };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  let count = 1;
  for (const d of dims) count *= d;
  const expected = offset + count * dt.bytes;
  if (!Number.isSafeInteger(expected) || count > 2 ** 40) {
    throw new UserError('badInput', `has impossible dimensions [${dimsText(dims)}] in its IDX header (the header is corrupt).`, file);
  }
  return { dt, dims, offset, expected };
}

/** The size an IDX file's header announces (for streaming a gzipped one: see bytes.ts). */
export function idxHeaderSize(head: Uint8Array, file: string): number | { need: number } {
  const h = parseIdxHead(head, file);
  return 'need' in h ? h : h.expected;
}

/** Reads and checks an IDX header against the (inflated) file size. */
async function readIdxHeader(src: ByteSource): Promise<IdxHeader> {
  const { file } = src;
  if (src.size < 4) throw new UserError('badInput', `is ${src.size} bytes long: too short for an IDX header.`, file);
  const magic = await src.read(0, 4);
  const first = parseIdxHead(magic, file) as { need: number };
  if (src.size < first.need)
    throw new UserError('badInput', `is truncated: its header announces ${magic[3]} dimensions but the file ends after ${src.size} bytes.`, file);
  const h = parseIdxHead(await src.read(0, first.need), file);
  if ('need' in h) throw new UserError('badInput', 'has an unreadable IDX header.', file);
  const { dt, dims, offset, expected } = h;
  if (expected > src.size) {
    throw new UserError(
      'badInput',
      `is truncated: its IDX header says [${dimsText(dims)}] ${dt.name} (${expected} bytes) but the file holds ${src.size} bytes.`,
      file,
    );
  }
  if (expected < src.size) {
    throw new UserError(
      'badInput',
      `has ${src.size - expected} bytes after the [${dimsText(dims)}] ${dt.name} values its IDX header announces: the header or the file is wrong.`,
      file,
    );
  }
  return { dtype: dt.name, bytes: dt.bytes, dims, offset };
}

/** Decodes big-endian IDX values into numbers (float32 out). */
function decode(raw: Uint8Array, dtype: string, scaleUint8: boolean): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / Object.values(DTYPES).find((d) => d.name === dtype)!.bytes;
  const out = new Float32Array(n);
  switch (dtype) {
    case 'uint8':
      if (scaleUint8) for (let i = 0; i < n; i++) out[i] = raw[i] / 255;
      else for (let i = 0; i < n; i++) out[i] = raw[i];
      break;
    case 'int8':
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      break;
    case 'int16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, false);
      break;
    case 'int32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, false);
      break;
    case 'float32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, false);
      break;
    case 'float64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, false);
      break;
  }
  return out;
}

/** Opens one split of an IDX dataset: an images file and a labels file. */
export async function openIdxDataset(imagesFile: string, labelsFile: string, split: Split, classes?: string[]): Promise<Dataset> {
  const img = await openBytes(imagesFile, idxHeaderSize);
  const lab = await openBytes(labelsFile, idxHeaderSize);
  const ih = await readIdxHeader(img.source);
  const lh = await readIdxHeader(lab.source);
  if (ih.dims.length !== 3 && ih.dims.length !== 4) {
    throw new UserError(
      'badInput',
      `holds an array of shape [${dimsText(ih.dims)}]; IDX images must be [N, height, width] or [N, height, width, channels].`,
      imagesFile,
    );
  }
  if (lh.dims.length !== 1 && !(lh.dims.length === 2 && lh.dims[1] === 1)) {
    throw new UserError('badInput', `holds an array of shape [${dimsText(lh.dims)}]; IDX labels must be [N].`, labelsFile);
  }
  if (lh.dtype === 'float32' || lh.dtype === 'float64')
    throw new UserError('badInput', `holds ${lh.dtype} values; labels must be whole numbers (uint8 or int32).`, labelsFile);
  if (lh.dims[0] !== ih.dims[0]) {
    throw new UserError('badInput', `holds ${lh.dims[0]} labels but ${imagesFile} holds ${ih.dims[0]} images: they must match.`, labelsFile);
  }
  const n = ih.dims[0];
  const raw = await lab.source.read(lh.offset, n * lh.bytes);
  const lv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  // Read exactly (through float32, an int32 label of 2^31 - 1 would round and wrap to a negative one).
  const labels = lh.dtype === 'int32' ? Int32Array.from({ length: n }, (_, i) => lv.getInt32(4 * i, false)) : Int32Array.from(decode(raw, lh.dtype, false));
  const cls = checkLabels(labels, classes, labelsFile);
  const shape: [number, number, number] = [ih.dims[1], ih.dims[2], ih.dims[3] ?? 1];
  return new ArrayFileDataset(imagesFile, split, n, shape, cls, labels, `idx:${img.sha256}:${lab.sha256}`, img.source, {
    offset: ih.offset,
    bytes: ih.bytes,
    decode: (raw) => decode(raw, ih.dtype, true),
  });
}

/** More classes than this, without names from the lens file, means the labels file is not one (or is corrupt). */
const MAX_CLASSES = 10000;

/** Checks labels are whole numbers in range of the classes; returns the class names (default `0..max`). */
export function checkLabels(labels: Int32Array, classes: string[] | undefined, file: string): string[] {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l < 0) throw new UserError('badInput', `label ${i} is ${l}; labels must be class indices 0, 1, 2...`, file);
    if (l > max) max = l;
  }
  if (classes) {
    if (max >= classes.length) throw new UserError('badInput', `has label ${max} but the lens file names only ${classes.length} classes.`, file);
    return classes;
  }
  // Class names are made for 0..max: refuse a corrupt label before allocating millions of them.
  if (max >= MAX_CLASSES)
    throw new UserError(
      'badInput',
      `has label ${max}; labels are class indices 0, 1, 2… and Feature Lens takes at most ${MAX_CLASSES} classes. Is this a labels file?`,
      file,
    );
  return Array.from({ length: max + 1 }, (_, i) => String(i));
}

/**
 * Encodes an IDX file: uint8 when `data` is a Uint8Array, int32 for Int32Array, float32 for Float32Array.
 * `dims` is the array's shape, e.g. `[N, 28, 28]`.
 */
export function encodeIdx(data: Uint8Array | Int32Array | Float32Array, dims: number[]): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeIdx: shape [${dims.join(', ')}] holds ${count} values, data has ${data.length}.`);
  const code = data instanceof Uint8Array ? 0x08 : data instanceof Int32Array ? 0x0c : 0x0d;
  const bytes = code === 0x08 ? 1 : 4;
  const out = new Uint8Array(4 + 4 * dims.length + count * bytes);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const off = 4 + 4 * dims.length;
  if (code === 0x08) out.set(data as Uint8Array, off);
  else if (code === 0x0c) for (let i = 0; i < count; i++) view.setInt32(off + 4 * i, data[i], false);
  else for (let i = 0; i < count; i++) view.setFloat32(off + 4 * i, data[i], false);
  return out;
}
