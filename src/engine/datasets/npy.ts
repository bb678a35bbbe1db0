/**
 * NumPy `.npy` files (format versions 1–3, C order, little-endian). Images `[N, h, w]` or `[N, h, w, c]`:
 * float32/float64 used as is, uint8 scaled to [0, 1]. Labels `[N]`: any integer dtype.
 */
import type { Split } from '../../shared/protocol';
import { UserError } from '../errors';
import { ArrayFileDataset } from './base';
import type { Dataset } from './dataset';
import { openBytes, type ByteSource } from './bytes';
import { checkLabels } from './idx';

const DTYPES: Record<string, number> = { f4: 4, f8: 8, u1: 1, i1: 1, u2: 2, i2: 2, i4: 4, u4: 4, i8: 8, u8: 8 };

export interface NpyHeader {
  /** `f4`, `u1`, ... (byte order stripped; big-endian is refused). */
  dtype: string;
  bytes: number;
  shape: number[];
  offset: number;
}

async function readNpyHeader(src: ByteSource): Promise<NpyHeader> {
  const { file } = src;
  const pre = await src.read(0, Math.min(12, src.size));
  const magic = String.fromCharCode(...pre.subarray(1, 6));
  if (pre.length < 10 || pre[0] !== 0x93 || magic !== 'NUMPY') throw new UserError('badInput', 'is not a NumPy .npy file (no \\x93NUMPY magic).', file);
  const major = pre[6];
  if (major !== 1 && pre.length < 12) throw new UserError('badInput', 'is truncated inside its .npy header.', file);
  const view = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > src.size) throw new UserError('badInput', 'is truncated inside its .npy header.', file);
  const text = Buffer.from(await src.read(start, headerLen)).toString('latin1');
  const descr = /'descr'\s*:\s*'([<>|=])([A-Za-z]\w*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shapeText) throw new UserError('badInput', `has an unreadable .npy header: ${printable(text)}`, file);
  if (descr[1] === '>') throw new UserError('unsupported', `holds big-endian ${descr[2]} values; save it little-endian (numpy's default).`, file);
  if (!(descr[2] in DTYPES)) throw new UserError('unsupported', `holds ${descr[2]} values; Feature Lens reads float32, float64 and integer .npy arrays.`, file);
  if (fortran[1] === 'True') throw new UserError('unsupported', 'is in Fortran order; save it with np.ascontiguousarray first.', file);
  const shape = shapeText[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new UserError('badInput', `has an unreadable shape (${shapeText[1]}) in its .npy header.`, file);
  const bytes = DTYPES[descr[2]];
  const offset = start + headerLen;
  const expected = offset + shape.reduce((a, b) => a * b, 1) * bytes;
  if (!Number.isSafeInteger(expected)) throw new UserError('badInput', `has impossible dimensions (${shape.join(', ')}) in its .npy header.`, file);
  if (expected > src.size) throw new UserError('badInput', `is truncated: its header says (${shape.join(', ')}) ${descr[2]} (${expected} bytes) but the file holds ${src.size} bytes.`, file);
  return { dtype: descr[2], bytes, shape, offset };
}

/** Header text fit for a one-line message: control and non-ASCII bytes shown as `?`, whitespace collapsed, cut. */
function printable(text: string): string {
  const t = text.replace(/[^\x20-\x7e]/g, '?').replace(/\s+/g, ' ').trim();
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

/** Opens one split of an NPY dataset: an images array `(N, h, w[, c])` and a labels array `(N,)`. */
export async function openNpyDataset(imagesFile: string, labelsFile: string, split: Split, classes?: string[]): Promise<Dataset> {
  const img = await openBytes(imagesFile);
  const lab = await openBytes(labelsFile);
  const ih = await readNpyHeader(img.source);
  const lh = await readNpyHeader(lab.source);
  if (ih.shape.length !== 3 && ih.shape.length !== 4) {
    throw new UserError('badInput', `holds an array of shape (${ih.shape.join(', ')}); images must be (N, height, width) or (N, height, width, channels).`, imagesFile);
  }
  if (!['f4', 'f8', 'u1'].includes(ih.dtype)) throw new UserError('unsupported', `holds ${ih.dtype} images; use float32 in [0, 1] or uint8 in [0, 255].`, imagesFile);
  if (lh.shape.length !== 1) throw new UserError('badInput', `holds an array of shape (${lh.shape.join(', ')}); labels must be (N,).`, labelsFile);
  if (lh.dtype.startsWith('f')) throw new UserError('badInput', `holds ${lh.dtype} values; labels must be integers.`, labelsFile);
  if (lh.shape[0] !== ih.shape[0]) throw new UserError('badInput', `holds ${lh.shape[0]} labels but ${imagesFile} holds ${ih.shape[0]} images: they must match.`, labelsFile);
  const n = ih.shape[0];
  const labels = Int32Array.from(decode(await lab.source.read(lh.offset, n * lh.bytes), lh.dtype, false));
  const cls = checkLabels(labels, classes, labelsFile);
  const shape: [number, number, number] = [ih.shape[1], ih.shape[2], ih.shape[3] ?? 1];
  return new ArrayFileDataset(imagesFile, split, n, shape, cls, labels, `npy:${img.sha256}:${lab.sha256}`, img.source, { offset: ih.offset, bytes: ih.bytes, decode: (raw) => decode(raw, ih.dtype, true) });
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
