/**
 * Named entries of a zip archive (a Keras 3 `.keras`), read from its central directory with every declared size
 * checked before anything is inflated: an entry larger than its budget is refused from its header, sizes that no
 * deflate stream can produce or that point past the archive are refused, and inflation stops at the declared
 * size (a bomb declaring a small entry that inflates to gigabytes costs no more than its declaration). The
 * local header must agree with the central directory, and the CRC must match. Entries are looked up by their
 * exact names and never written anywhere, so names such as `../x` are only names.
 */
import * as zlib from 'node:zlib';
import { UserError } from '../runtime/errors';

/** Deflate packs at most ~1032:1 (258-byte matches in 2-bit codes); a small allowance for block overhead. */
const MAX_DEFLATE_RATIO = 1032;

const mb = (n: number) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MB` : `${n.toLocaleString('en-US')} bytes`);

interface CentralEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  packed: number;
  size: number;
  localOffset: number;
}

/** The archive's bytes, read little-endian, and the one-line error of a damaged archive. */
interface Archive {
  bytes: Uint8Array;
  file: string;
  u16: (p: number) => number;
  u32: (p: number) => number;
  u64: (p: number) => number;
  bad: (why: string) => UserError;
}

/** Where the central directory lies: `count` entries, `size` bytes at `offset`. */
interface CentralDirectory {
  count: number;
  offset: number;
  size: number;
}

/**
 * The entries of `bytes` named in `wanted` (name → the most bytes it may unpack to), each checked and inflated.
 * An entry that is absent is absent from the result; anything wrong is one UserError naming `file`.
 */
export function readZipEntries(bytes: Uint8Array, file: string, wanted: Record<string, number>): Record<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const zip: Archive = {
    bytes,
    file,
    u16: (p) => view.getUint16(p, true),
    u32: (p) => view.getUint32(p, true),
    u64: (p) => Number(view.getBigUint64(p, true)),
    bad: (why) => new UserError('badInput', `is not a readable zip archive: ${why}.`, file),
  };
  const dir = centralDirectory(zip);
  const out: Record<string, Uint8Array> = {};
  for (const e of centralEntries(zip, dir, wanted).values()) out[e.name] = readEntry(zip, e, wanted[e.name], dir.offset);
  return out;
}

/** The central directory, from the end-of-central-directory record (and its ZIP64 version when sizes overflow). */
function centralDirectory({ bytes, u16, u32, u64, bad }: Archive): CentralDirectory {
  const n = bytes.length;
  // The end-of-central-directory record: 22 bytes plus a comment of at most 65,535.
  let eocd = -1;
  for (let p = n - 22; p >= 0 && p >= n - 22 - 0xffff; p--) {
    if (u32(p) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw bad('it has no end-of-central-directory record');
  let count = u16(eocd + 10);
  let dirSize = u32(eocd + 12);
  let dirOffset = u32(eocd + 16);
  let dirEnd = eocd;
  if ((count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) && eocd >= 20 && u32(eocd - 20) === 0x07064b50) {
    const z = u64(eocd - 12);
    if (!(z + 56 <= eocd - 20) || u32(z) !== 0x06064b50) throw bad('its ZIP64 end-of-central-directory record is damaged');
    count = u64(z + 32);
    dirSize = u64(z + 40);
    dirOffset = u64(z + 48);
    dirEnd = z;
  }
  if (!(dirOffset + dirSize <= dirEnd)) throw bad(`its central directory (${mb(dirSize)} at ${dirOffset}) lies outside the archive`);
  if (count * 46 > dirSize) throw bad(`it declares ${count.toLocaleString('en-US')} entries, more than its ${mb(dirSize)} central directory holds`);
  return { count, offset: dirOffset, size: dirSize };
}

/** The central directory's records of the entries named in `wanted`; a name held twice is refused. */
function centralEntries(zip: Archive, dir: CentralDirectory, wanted: Record<string, number>): Map<string, CentralEntry> {
  const { bytes, file, u16, u32, bad } = zip;
  const found = new Map<string, CentralEntry>();
  let p = dir.offset;
  for (let i = 0; i < dir.count; i++) {
    if (!(p + 46 <= dir.offset + dir.size) || u32(p) !== 0x02014b50) throw bad(`entry ${i + 1} of its central directory is damaged`);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const next = p + 46 + nameLen + extraLen + u16(p + 32);
    if (!(next <= dir.offset + dir.size)) throw bad(`entry ${i + 1} of its central directory runs past its end`);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    if (Object.prototype.hasOwnProperty.call(wanted, name)) {
      if (found.has(name)) throw new UserError('badInput', `holds ${name} twice, so which one is meant is unclear.`, file);
      const e: CentralEntry = {
        name,
        flags: u16(p + 8),
        method: u16(p + 10),
        crc: u32(p + 16),
        packed: u32(p + 20),
        size: u32(p + 24),
        localOffset: u32(p + 42),
      };
      if (e.size === 0xffffffff || e.packed === 0xffffffff || e.localOffset === 0xffffffff) readZip64Sizes(zip, e, p + 46 + nameLen, extraLen);
      found.set(name, e);
    }
    p = next;
  }
  return found;
}

/** ZIP64: the sizes and offset of `e` that do not fit 32 bits, from the extra field 0x0001 (in this order) at `x`. */
function readZip64Sizes({ u16, u64, bad }: Archive, e: CentralEntry, x: number, extraLen: number): void {
  const xEnd = x + extraLen;
  let z = -1;
  while (x + 4 <= xEnd) {
    if (u16(x) === 0x0001) z = x + 4;
    x += 4 + u16(x + 2);
  }
  const zEnd = z + (z >= 0 ? u16(z - 2) : 0);
  const take = () => {
    if (z < 0 || z + 8 > Math.min(zEnd, xEnd)) throw bad(`the ZIP64 sizes of ${e.name} are missing`);
    const v = u64(z);
    z += 8;
    return v;
  };
  if (e.size === 0xffffffff) e.size = take();
  if (e.packed === 0xffffffff) e.packed = take();
  if (e.localOffset === 0xffffffff) e.localOffset = take();
}

/** One entry's bytes: its declarations checked against `maxBytes`, its local header against the central directory, inflated and CRC-checked. */
function readEntry(zip: Archive, e: CentralEntry, maxBytes: number, dirOffset: number): Uint8Array {
  const { bytes, file } = zip;
  const entryErr = (why: string) => new UserError('badInput', `holds a damaged ${e.name}: ${why}.`, file);
  if (e.flags & 1) throw new UserError('unsupported', `holds ${e.name} encrypted, which cannot be read.`, file);
  if (e.method !== 0 && e.method !== 8)
    throw new UserError('unsupported', `holds ${e.name} packed with zip method ${e.method}; only stored and deflated entries can be read.`, file);
  // Budgets, from the declarations alone.
  if (e.size > maxBytes) throw new UserError('badInput', `holds ${e.name} of ${mb(e.size)} unpacked, more than the ${mb(maxBytes)} accepted for it.`, file);
  if (e.method === 0 && e.size !== e.packed)
    throw entryErr(`it is stored unpacked but declares ${e.packed.toLocaleString('en-US')} bytes packed and ${e.size.toLocaleString('en-US')} unpacked`);
  if (e.method === 8 && e.size > e.packed * MAX_DEFLATE_RATIO + 1024)
    throw entryErr(`it declares ${e.size.toLocaleString('en-US')} bytes inflated from ${e.packed.toLocaleString('en-US')}, more than deflate can produce`);
  const start = localDataStart(zip, e, dirOffset, entryErr);
  if (!(start + e.packed <= dirOffset)) throw entryErr(`it declares ${e.packed.toLocaleString('en-US')} packed bytes, past the end of the archive's data`);
  const packed = bytes.subarray(start, start + e.packed);
  let data: Uint8Array;
  if (e.method === 0) data = packed;
  else {
    try {
      // Stops as soon as the output passes the declared size: a bomb costs no more than its declaration.
      data = zlib.inflateRawSync(packed, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw entryErr(`it inflates to more than the ${e.size.toLocaleString('en-US')} bytes its header declares`);
      throw entryErr(`its deflate data cannot be inflated (${(err as Error).message.split('\n')[0].slice(0, 120)})`);
    }
    if (data.length !== e.size)
      throw entryErr(`it inflates to ${data.length.toLocaleString('en-US')} bytes, not the ${e.size.toLocaleString('en-US')} its header declares`);
  }
  if (zlib.crc32(data) >>> 0 !== e.crc) throw entryErr('its CRC does not match its contents');
  return data;
}

/** Where the entry's data starts, after its local header, which must name the same entry as the central directory. */
function localDataStart({ bytes, u16, u32 }: Archive, e: CentralEntry, dirOffset: number, entryErr: (why: string) => UserError): number {
  const l = e.localOffset;
  if (!(l + 30 <= dirOffset) || u32(l) !== 0x04034b50) throw entryErr('its local header is missing or damaged');
  const nameLen = u16(l + 26);
  const start = l + 30 + nameLen + u16(l + 28);
  if (new TextDecoder().decode(bytes.subarray(l + 30, l + 30 + nameLen)) !== e.name) throw entryErr('its local header names another entry');
  if (u16(l + 8) !== e.method) throw entryErr('its local header and the central directory disagree on its packing method');
  if (!(u16(l + 6) & 8)) {
    // Without a data descriptor, the local header's sizes must be the central directory's (0xffffffff: ZIP64).
    const [crc, packed, size] = [u32(l + 14), u32(l + 18), u32(l + 22)];
    const agree = (local: number, central: number) => local === central || local === 0xffffffff;
    if (!agree(crc, e.crc) || !agree(packed, e.packed) || !agree(size, e.size)) {
      throw entryErr(
        `its local header declares ${size.toLocaleString('en-US')} bytes (${packed.toLocaleString('en-US')} packed), the central directory ${e.size.toLocaleString('en-US')} (${e.packed.toLocaleString('en-US')} packed)`,
      );
    }
  }
  return start;
}
