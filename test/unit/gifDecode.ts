// A small GIF decoder for the tests (the reference the encoder's output is read back with): the logical screen,
// the global and local colour tables, the loop and graphic-control extensions, and each image's LZW-coded
// indices turned back into RGB. Enough for what the project writes (no interlacing, no transparency).

export interface GifFile {
  width: number;
  height: number;
  /** The NETSCAPE2.0 loop count (0: forever), if present. */
  loops?: number;
  frames: { delayMs: number; rgb: Uint8Array }[];
}

function lzw(data: Uint8Array, minCode: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  const clear = 1 << minCode;
  const end = clear + 1;
  let size = minCode + 1;
  let dict: number[][] = [];
  const reset = () => {
    dict = Array.from({ length: clear + 2 }, (_, i) => (i < clear ? [i] : []));
    size = minCode + 1;
  };
  reset();
  let bit = 0;
  let n = 0;
  let prev: number[] | undefined;
  for (;;) {
    let code = 0;
    for (let i = 0; i < size; i++, bit++) code |= ((data[bit >> 3] >> (bit & 7)) & 1) << i;
    if (bit > data.length * 8) break;
    if (code === clear) {
      reset();
      prev = undefined;
      continue;
    }
    if (code === end) break;
    const entry = code < dict.length ? dict[code] : prev ? [...prev, prev[0]] : [];
    for (const v of entry) if (n < pixels) out[n++] = v;
    if (prev && dict.length < 4096) dict.push([...prev, entry[0]]);
    prev = entry;
    if (dict.length === 1 << size && size < 12) size++;
  }
  if (n !== pixels) throw new Error(`GIF image data decodes to ${n} pixels, not ${pixels}`);
  return out;
}

export function decodeGif(b: Uint8Array): GifFile {
  const text = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (text(0, 6) !== 'GIF89a' && text(0, 6) !== 'GIF87a') throw new Error('not a GIF');
  const u16 = (o: number) => b[o] | (b[o + 1] << 8);
  const width = u16(6);
  const height = u16(8);
  let p = 13;
  const table = (flags: number) => {
    const t = b.subarray(p, p + 3 * (2 << (flags & 7)));
    p += t.length;
    return t;
  };
  const global = b[10] & 0x80 ? table(b[10]) : undefined;
  const gif: GifFile = { width, height, frames: [] };
  let delayMs = 0;
  const blocks = () => {
    const parts: number[] = [];
    while (b[p]) {
      parts.push(...b.subarray(p + 1, p + 1 + b[p]));
      p += b[p] + 1;
    }
    p++;
    return Uint8Array.from(parts);
  };
  for (;;) {
    const kind = b[p++];
    if (kind === 0x3b) return gif;
    if (kind === 0x21) {
      const label = b[p++];
      const body = blocks();
      if (label === 0xf9) delayMs = 10 * (body[1] | (body[2] << 8));
      if (label === 0xff && String.fromCharCode(...body.subarray(0, 11)) === 'NETSCAPE2.0') gif.loops = body[12] | (body[13] << 8);
    } else if (kind === 0x2c) {
      const [x, y, w, h, flags] = [u16(p), u16(p + 2), u16(p + 4), u16(p + 6), b[p + 8]];
      p += 9;
      if (x || y || w !== width || h !== height || flags & 0x40) throw new Error('only full-size, non-interlaced frames are read');
      const colours = flags & 0x80 ? table(flags) : global;
      if (!colours) throw new Error('a frame without a colour table');
      const minCode = b[p++];
      const idx = lzw(blocks(), minCode, w * h);
      const rgb = new Uint8Array(w * h * 3);
      idx.forEach((c, i) => rgb.set(colours.subarray(3 * c, 3 * c + 3), 3 * i));
      gif.frames.push({ delayMs, rgb });
    } else throw new Error(`unexpected GIF block 0x${kind?.toString(16)} at ${p - 1}`);
  }
}
