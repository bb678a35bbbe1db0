/**
 * NumPy `.npy` files (format versions 1–3, C order, little-endian). Images `[N, h, w]` or `[N, h, w, c]`:
 * float32/float64 used as is, uint8 scaled to [0, 1]. Labels `[N]`: any integer dtype.
 * The header's Python dict literal is read by pyLiteral.ts.
 */
import type { Split } from '../../shared/protocol';
import { UserError } from '../runtime/errors';
import { ArrayFileDataset } from './base';
import type { Dataset } from './dataset';
import { openBytes, type ByteSource } from './bytes';
import { checkLabels } from './idx';
import { parsePyDict, PyTuple, type PyValue } from './pyLiteral';

const DTYPES: Record<string, number> = { f4: 4, f8: 8, u1: 1, i1: 1, u2: 2, i2: 2, i4: 4, u4: 4, i8: 8, u8: 8 };

export interface NpyHeader {
  /** `f4`, `u1`, ... (byte order stripped; big-endian is refused). */
  dtype: string;
  bytes: number;
  shape: number[];
  offset: number;
}

/** .npy headers longer than this are refused (numpy itself refuses headers over 10,000 bytes by default). */
const MAX_HEADER = 65536;

/** Where a .npy file's header text starts and how long it is, from its first bytes (or `{ need }`). */
function npyPreamble(pre: Uint8Array, file: string): { need: number } | { start: number; headerLen: number } {
  if (pre.byteLength < 10) return { need: 10 };
  const magic = String.fromCharCode(...pre.subarray(1, 6));
  if (pre[0] !== 0x93 || magic !== 'NUMPY') throw new UserError('badInput', 'is not a NumPy .npy file (no \\x93NUMPY magic).', file);
  const major = pre[6];
  if (major < 1 || major > 3) throw new UserError('unsupported', `is a .npy file of format version ${major}; Feature Lens reads versions 1 to 3.`, file);
  if (major !== 1 && pre.byteLength < 12) return { need: 12 };
  const view = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLen > MAX_HEADER) throw new UserError('badInput', `has a .npy header of ${headerLen} bytes; a real one is under 1 KB (the file is corrupt).`, file);
  return { start: major === 1 ? 10 : 12, headerLen };
}

/** Parses the header text and checks it; `size` is the file size when known (the check of the data's length). */
function npyHeaderFrom(text: string, offset: number, file: string): NpyHeader & { expected: number } {
  let dict: Map<string, PyValue>;
  try {
    dict = parsePyDict(text);
  } catch (e) {
    throw new UserError('badInput', `has an unreadable .npy header (${(e as Error).message}): ${printable(text)}`, file);
  }
  const keys = [...dict.keys()].sort().join(', ');
  if (keys !== 'descr, fortran_order, shape')
    throw new UserError(
      'badInput',
      `has an unreadable .npy header (its keys are ${printable(keys) || 'none'}; it must have exactly descr, fortran_order and shape).`,
      file,
    );
  const descrV = dict.get('descr');
  const fortranV = dict.get('fortran_order');
  const shapeV = dict.get('shape');
  if (typeof descrV !== 'string')
    throw new UserError('unsupported', 'holds a structured array (its descr is not a plain dtype); Feature Lens reads plain float and integer arrays.', file);
  if (typeof fortranV !== 'boolean') throw new UserError('badInput', 'has a .npy header whose fortran_order is not True or False.', file);
  if (!(shapeV instanceof PyTuple) || !shapeV.items.every((d) => typeof d === 'bigint' && d >= 0n && d <= BigInt(Number.MAX_SAFE_INTEGER))) {
    throw new UserError('badInput', `has an unreadable shape in its .npy header: ${printable(text)}`, file);
  }
  const descr = /^([<>|=]?)([A-Za-z]\w*)$/.exec(descrV);
  if (!descr) throw new UserError('unsupported', `holds values of dtype ${printable(descrV)}, which Feature Lens cannot read.`, file);
  if (descr[1] === '>' && DTYPES[descr[2]] !== 1)
    throw new UserError('unsupported', `holds big-endian ${descr[2]} values; save it little-endian (numpy's default).`, file);
  if (!(descr[2] in DTYPES)) throw new UserError('unsupported', `holds ${descr[2]} values; Feature Lens reads float32, float64 and integer .npy arrays.`, file);
  if (fortranV) throw new UserError('unsupported', 'is in Fortran order; save it with np.ascontiguousarray first.', file);
  const shape = shapeV.items.map((d) => Number(d));
  const bytes = DTYPES[descr[2]];
  let count = 1;
  for (const d of shape) count *= d;
  const expected = offset + count * bytes;
  if (!Number.isSafeInteger(expected)) throw new UserError('badInput', `has impossible dimensions (${shape.join(', ')}) in its .npy header.`, file);
  return { dtype: descr[2], bytes, shape, offset, expected };
}

/** The size a .npy file's header announces (for streaming a gzipped one: see bytes.ts). */
export function npyHeaderSize(head: Uint8Array, file: string): number | { need: number } {
  const pre = npyPreamble(head, file);
  if ('need' in pre) return pre;
  const end = pre.start + pre.headerLen;
  if (head.byteLength < end) return { need: end };
  return npyHeaderFrom(Buffer.from(head.subarray(pre.start, end)).toString('latin1'), end, file).expected;
}

async function readNpyHeader(src: ByteSource): Promise<NpyHeader> {
  const { file } = src;
  const first = await src.read(0, Math.min(12, src.size));
  const pre = npyPreamble(first, file);
  if ('need' in pre) {
    if (first.byteLength >= 6 && first[0] === 0x93) throw new UserError('badInput', 'is truncated inside its .npy header.', file);
    throw new UserError('badInput', 'is not a NumPy .npy file (no \\x93NUMPY magic).', file);
  }
  const { start, headerLen } = pre;
  if (start + headerLen > src.size) throw new UserError('badInput', 'is truncated inside its .npy header.', file);
  const text = Buffer.from(await src.read(start, headerLen)).toString('latin1');
  const h = npyHeaderFrom(text, start + headerLen, file);
  if (h.expected > src.size)
    throw new UserError(
      'badInput',
      `is truncated: its header says (${h.shape.join(', ')}) ${h.dtype} (${h.expected} bytes) but the file holds ${src.size} bytes.`,
      file,
    );
  return { dtype: h.dtype, bytes: h.bytes, shape: h.shape, offset: h.offset };
}

/** Header text fit for a one-line message: control and non-ASCII bytes shown as `?`, whitespace collapsed, cut. */
function printable(text: string): string {
  const t = text
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return t.length > 120 ? `${t.slice(0, 119)}…` : t;
}

/** Whether this machine stores numbers little-endian, as .npy files with `<` dtypes do. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decode(raw: Uint8Array, dtype: string, scaleUint8: boolean): Float32Array {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / DTYPES[dtype];
  const out = new Float32Array(n);
  if (dtype === 'f4' && LITTLE_ENDIAN) {
    // The bytes are already float32 in this machine's order: one copy.
    new Uint8Array(out.buffer).set(raw.subarray(0, 4 * n));
    return out;
  }
  if (dtype === 'u1') {
    if (scaleUint8) for (let i = 0; i < n; i++) out[i] = raw[i] / 255;
    else out.set(raw.subarray(0, n));
    return out;
  }
  const get: (i: number) => number = {
    f4: (i: number) => v.getFloat32(4 * i, true),
    f8: (i: number) => v.getFloat64(8 * i, true),
    u1: (i: number) => (scaleUint8 ? raw[i] / 255 : raw[i]),
    i1: (i: number) => v.getInt8(i),
    u2: (i: number) => v.getUint16(2 * i, true),
    i2: (i: number) => v.getInt16(2 * i, true),
    i4: (i: number) => v.getInt32(4 * i, true),
    u4: (i: number) => v.getUint32(4 * i, true),
    i8: (i: number) => Number(v.getBigInt64(8 * i, true)),
    u8: (i: number) => Number(v.getBigUint64(8 * i, true)),
  }[dtype]!;
  for (let i = 0; i < n; i++) out[i] = get(i);
  return out;
}

/**
 * Integer labels as class indices, read exactly (64-bit ones as BigInt): a label that is negative or beyond
 * int32 is refused with its position, never wrapped or rounded into a valid-looking class.
 */
function decodeLabels(raw: Uint8Array, dtype: string, file: string): Int32Array {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / DTYPES[dtype];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let x: bigint | number;
    switch (dtype) {
      case 'i8':
        x = v.getBigInt64(8 * i, true);
        break;
      case 'u8':
        x = v.getBigUint64(8 * i, true);
        break;
      case 'u4':
        x = v.getUint32(4 * i, true);
        break;
      case 'i4':
        x = v.getInt32(4 * i, true);
        break;
      case 'u2':
        x = v.getUint16(2 * i, true);
        break;
      case 'i2':
        x = v.getInt16(2 * i, true);
        break;
      case 'i1':
        x = v.getInt8(i);
        break;
      default:
        x = raw[i];
    }
    if (x < 0 || x > 2147483647) throw new UserError('badInput', `label ${i} is ${x.toString()}; labels must be class indices 0, 1, 2...`, file);
    out[i] = Number(x);
  }
  return out;
}

/** Opens one split of an NPY dataset: an images array `(N, h, w[, c])` and a labels array `(N,)`. */
export async function openNpyDataset(imagesFile: string, labelsFile: string, split: Split, classes?: string[]): Promise<Dataset> {
  const img = await openBytes(imagesFile, npyHeaderSize);
  const lab = await openBytes(labelsFile, npyHeaderSize);
  const ih = await readNpyHeader(img.source);
  const lh = await readNpyHeader(lab.source);
  if (ih.shape.length !== 3 && ih.shape.length !== 4) {
    throw new UserError(
      'badInput',
      `holds an array of shape (${ih.shape.join(', ')}); images must be (N, height, width) or (N, height, width, channels).`,
      imagesFile,
    );
  }
  if (!['f4', 'f8', 'u1'].includes(ih.dtype))
    throw new UserError('unsupported', `holds ${ih.dtype} images; use float32 in [0, 1] or uint8 in [0, 255].`, imagesFile);
  if (lh.shape.length !== 1) throw new UserError('badInput', `holds an array of shape (${lh.shape.join(', ')}); labels must be (N,).`, labelsFile);
  if (lh.dtype.startsWith('f')) throw new UserError('badInput', `holds ${lh.dtype} values; labels must be integers.`, labelsFile);
  if (lh.shape[0] !== ih.shape[0])
    throw new UserError('badInput', `holds ${lh.shape[0]} labels but ${imagesFile} holds ${ih.shape[0]} images: they must match.`, labelsFile);
  const n = ih.shape[0];
  const labels = decodeLabels(await lab.source.read(lh.offset, n * lh.bytes), lh.dtype, labelsFile);
  const cls = checkLabels(labels, classes, labelsFile);
  const shape: [number, number, number] = [ih.shape[1], ih.shape[2], ih.shape[3] ?? 1];
  return new ArrayFileDataset(imagesFile, split, n, shape, cls, labels, `npy:${img.sha256}:${lab.sha256}`, img.source, {
    offset: ih.offset,
    bytes: ih.bytes,
    decode: (raw) => decode(raw, ih.dtype, true),
  });
}

/** Encodes a C-order little-endian `.npy` (v1) from float32, uint8 or int32 data. */
export function encodeNpy(data: Float32Array | Uint8Array | Int32Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Uint8Array ? '|u1' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header = header.padEnd(header.length + ((64 - (total % 64)) % 64), ' ') + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
