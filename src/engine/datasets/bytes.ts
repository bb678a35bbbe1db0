import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { UserError } from '../errors';

/** A gzipped file is inflated into memory: beyond this it is refused (a small file can unpack to gigabytes). */
const MAX_INFLATED = 2 * 2 ** 30;

/** Random access to a data file's bytes: read by offsets from disk, or from memory when it was gzipped. */
export interface ByteSource {
  readonly file: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * Opens a data file. A plain file is read by offsets (never whole); a gzipped one (`1f 8b` magic) is
 * inflated into memory once, as its compact on-disk dtype (uint8 MNIST: 1 byte per pixel).
 * Also returns a sha256 of the file's bytes as stored, for the dataset hash.
 */
export async function openBytes(file: string): Promise<{ source: ByteSource; sha256: string }> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    throw new UserError('notFound', 'data file not found.', file);
  }
  if (!stat.isFile()) throw new UserError('badInput', 'is not a file.', file);
  if (stat.size === 0) throw new UserError('badInput', 'is empty (0 bytes).', file);
  const sha256 = await hashFile(file, stat);
  const head = await readAt(file, 0, 2);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    let data: Buffer;
    try {
      data = await new Promise<Buffer>((resolve, reject) =>
        fs.promises.readFile(file).then((raw) => zlib.gunzip(raw, { maxOutputLength: MAX_INFLATED }, (err, out) => (err ? reject(err) : resolve(out))), reject),
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new UserError('badInput', `unpacks to more than ${MAX_INFLATED / 2 ** 30} GB; store it uncompressed (Feature Lens then reads it in pieces).`, file);
      }
      throw new UserError('badInput', `is a damaged or truncated gzip file (${(e as Error).message}).`, file);
    }
    return {
      sha256,
      source: { file, size: data.byteLength, read: async (offset, length) => data.subarray(offset, offset + length) },
    };
  }
  return { sha256, source: { file, size: stat.size, read: (offset, length) => readAt(file, offset, length) } };
}

async function readAt(file: string, offset: number, length: number): Promise<Uint8Array> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    if (bytesRead !== length) throw new UserError('badInput', `is shorter than expected: wanted ${length} bytes at offset ${offset}, got ${bytesRead}. Was it truncated?`, file);
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * Hashes of files this process has read, by path, valid while the file's identity, size and times are those
 * it had (a node page or a scan opens the same data files again and again, and hashing reads them whole).
 */
const hashes = new Map<string, { stamp: string; sha256: string }>();
const MAX_HASHES = 64;

const stampOf = (s: fs.Stats) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

async function hashFile(file: string, stat: fs.Stats): Promise<string> {
  const stamp = stampOf(stat);
  const known = hashes.get(file);
  if (known?.stamp === stamp) return known.sha256;
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  const sha256 = h.digest('hex');
  // The file may have changed while it was read: remember the hash only if it still has the same stamp.
  const after = await fs.promises.stat(file).catch(() => undefined);
  if (after && stampOf(after) === stamp) {
    hashes.delete(file);
    hashes.set(file, { stamp, sha256 });
    if (hashes.size > MAX_HASHES) hashes.delete(hashes.keys().next().value!);
  }
  return sha256;
}
