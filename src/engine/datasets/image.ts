/**
 * Decoding PNG/JPEG files to float pixels, compositing alpha on white, and resizing, in pure JS (pngjs,
 * jpeg-js) so it runs wherever the engine runs.
 */
import * as jpeg from 'jpeg-js';
import * as zlib from 'node:zlib';
import { PNG } from 'pngjs';
import { UserError } from '../runtime/errors';

/** `png`/`jpeg` from the file's first bytes, or undefined when it is neither. */
export function imageKind(head: Uint8Array): 'png' | 'jpeg' | undefined {
  if (head.length >= 4 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Images larger than this are refused before decoding (64 megapixels: 256 MB of RGBA). */
const MAX_PIXELS = 64 * 2 ** 20;

/** A PNG's size from its IHDR chunk (bytes 16–23), without decoding. */
function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16, false), height: v.getUint32(20, false) };
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x0, dx, y0, dy. */
const ADAM7 = [
  [0, 8, 0, 8],
  [4, 8, 0, 8],
  [0, 4, 4, 8],
  [2, 4, 0, 4],
  [0, 2, 2, 4],
  [1, 2, 0, 2],
  [0, 1, 1, 2],
];

/**
 * The bytes a PNG's image data inflates to, from its IHDR: the filter byte plus the packed pixels of each row,
 * of each Adam7 pass when interlaced. Undefined when the header is unreadable (the decoder reports it).
 */
export function pngInflatedSize(bytes: Uint8Array): number | undefined {
  if (bytes.length < 29) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = v.getUint32(16, false);
  const height = v.getUint32(20, false);
  const depth = bytes[24];
  const channels = CHANNELS[bytes[25]];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) return undefined;
  const row = (w: number) => Math.ceil((w * channels * depth) / 8) + 1;
  if (bytes[28] !== 1) return height * row(width);
  let total = 0;
  for (const [x0, dx, y0, dy] of ADAM7) {
    const w = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const h = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (w > 0 && h > 0) total += h * row(w);
  }
  return total;
}

/**
 * Checks that an interlaced PNG's image data inflates to no more than its header implies. pngjs bounds the
 * inflation of a plain PNG by that size but inflates an interlaced one without limit: a 1×1 image can carry
 * gigabytes of zeros. Inflating here with the cap stops at the first byte too many.
 */
function checkInterlacedPng(bytes: Uint8Array, file: string): void {
  if (bytes.length < 29 || bytes[28] !== 1) return;
  const limit = pngInflatedSize(bytes);
  if (limit === undefined) return;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  for (let o = 8; o + 8 <= bytes.length;) {
    const len = v.getUint32(o, false);
    const type = String.fromCharCode(bytes[o + 4], bytes[o + 5], bytes[o + 6], bytes[o + 7]);
    if (type === 'IDAT') idat.push(bytes.subarray(o + 8, Math.min(bytes.length, o + 8 + len)));
    if (type === 'IEND') break;
    o += 12 + len;
  }
  try {
    zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: Math.max(1, limit) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new UserError(
        'badInput',
        `is a damaged PNG image: its image data unpacks to more than the ${limit} bytes its ${v.getUint32(16, false)}×${v.getUint32(20, false)} header implies.`,
        file,
      );
    }
    // Other damage is reported by the decoder.
  }
}

/** A JPEG's size from its start-of-frame marker, without decoding. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) i += 2;
    else i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  return undefined;
}

/** RGBA bytes of a PNG or JPEG file. */
export function decodeImage(bytes: Uint8Array, file: string): { width: number; height: number; rgba: Uint8Array } {
  const kind = imageKind(bytes);
  if (!kind) throw new UserError('badInput', 'is not a PNG or JPEG image.', file);
  // A few bytes can claim a huge image (a decompression bomb): check the header before the decoder allocates.
  const size = kind === 'png' ? pngSize(bytes) : jpegSize(bytes);
  if (size && size.width * size.height > MAX_PIXELS) {
    throw new UserError(
      'badInput',
      `is a ${size.width}×${size.height} image, too large to decode: Feature Lens reads images of up to ${MAX_PIXELS / 2 ** 20} megapixels. Shrink it first.`,
      file,
    );
  }
  if (kind === 'png') checkInterlacedPng(bytes, file);
  try {
    if (kind === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024, maxResolutionInMP: MAX_PIXELS / 2 ** 20 });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new UserError('badInput', `is a damaged ${kind.toUpperCase()} image (${(e as Error).message}).`, file);
  }
}

/**
 * RGBA bytes → `[h, w, channels]` float32 in [0, 1]: alpha composited on white, then gray
 * (ITU-R 601 luma) when `channels` is 1; resized with an antialiasing triangle filter.
 * `fit: 'contain'` keeps the aspect ratio and pads with white; `'stretch'` fills the whole size.
 */
export function toPixels(
  img: { width: number; height: number; rgba: Uint8Array },
  height: number,
  width: number,
  channels: 1 | 3,
  fit: 'contain' | 'stretch' = 'contain',
): Float32Array {
  const { width: W, height: H, rgba } = img;
  const src = new Float32Array(W * H * channels);
  for (let p = 0; p < W * H; p++) {
    const a = rgba[4 * p + 3] / 255;
    const r = (rgba[4 * p] / 255) * a + (1 - a);
    const g = (rgba[4 * p + 1] / 255) * a + (1 - a);
    const b = (rgba[4 * p + 2] / 255) * a + (1 - a);
    if (channels === 1) src[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      src[3 * p] = r;
      src[3 * p + 1] = g;
      src[3 * p + 2] = b;
    }
  }
  let ih = height;
  let iw = width;
  if (fit === 'contain') {
    const s = Math.min(height / H, width / W);
    ih = Math.max(1, Math.min(height, Math.round(H * s)));
    iw = Math.max(1, Math.min(width, Math.round(W * s)));
  }
  const inner = resize(src, H, W, channels, ih, iw);
  if (ih === height && iw === width) return inner;
  const out = new Float32Array(height * width * channels).fill(1);
  const oy = Math.floor((height - ih) / 2);
  const ox = Math.floor((width - iw) / 2);
  for (let y = 0; y < ih; y++) out.set(inner.subarray(y * iw * channels, (y + 1) * iw * channels), ((y + oy) * width + ox) * channels);
  return out;
}

/** Separable resize `[H, W, c]` → `[h, w, c]` with a triangle filter widened when shrinking (no aliasing). */
export function resize(src: Float32Array, H: number, W: number, c: number, h: number, w: number): Float32Array {
  if (H === h && W === w) return src;
  const rows = weights(H, h);
  const cols = weights(W, w);
  const mid = new Float32Array(h * W * c);
  for (let y = 0; y < h; y++) {
    const { start, w: ws } = rows[y];
    for (let k = 0; k < ws.length; k++) {
      const s = (start + k) * W * c;
      const wt = ws[k];
      for (let i = 0; i < W * c; i++) mid[y * W * c + i] += wt * src[s + i];
    }
  }
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const { start, w: ws } = cols[x];
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let k = 0; k < ws.length; k++) v += ws[k] * mid[(y * W + start + k) * c + ch];
        out[(y * w + x) * c + ch] = v;
      }
    }
  }
  return out;
}

function weights(inSize: number, outSize: number): { start: number; w: Float32Array }[] {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const res: { start: number; w: Float32Array }[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale - 0.5;
    const start = Math.max(0, Math.ceil(center - support));
    const end = Math.min(inSize - 1, Math.floor(center + support));
    const w = new Float32Array(end - start + 1);
    let sum = 0;
    for (let i = start; i <= end; i++) sum += w[i - start] = Math.max(0, 1 - Math.abs(i - center) / support);
    if (sum === 0) {
      // Degenerate (tiny source): nearest pixel.
      const n = Math.min(inSize - 1, Math.max(0, Math.round(center)));
      res.push({ start: n, w: Float32Array.of(1) });
      continue;
    }
    for (let i = 0; i < w.length; i++) w[i] /= sum;
    res.push({ start, w });
  }
  return res;
}
