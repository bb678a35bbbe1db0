import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { bytesText } from '../runtime/budget';
import { UserError } from '../runtime/errors';
import { checkInputFile } from '../runtime/fsutil';

/**
 * A gzipped file is inflated into memory: beyond this it is refused (store such data uncompressed: it is then
 * read in pieces). A few KB of gzip can unpack to gigabytes, so the cap holds while inflating, not after.
 */
export const MAX_INFLATED = 512 * 2 ** 20;
/** Data files larger than this are refused before they are opened (a sparse file can claim terabytes). */
const MAX_DATA_BYTES = 64 * 2 ** 30;

/** Random access to a data file's bytes: read by offsets from disk, or from memory when it was gzipped. */
export interface ByteSource {
  readonly file: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * The total size a file's header announces, from its first bytes: a number of bytes, `{ need: n }` when the
 * header needs the first n bytes to be read, or a thrown UserError when the header is not one.
 */
export type HeaderSize = (head: Uint8Array, file: string) => number | { need: number };

/**
 * Opens a data file. A plain file is read by offsets (never whole); a gzipped one (`1f 8b` magic) is inflated
 * as a stream: its header is checked as soon as its bytes are out (`headerSize`), and inflating stops at the
 * size that header announces (and at MAX_INFLATED), so a gzip bomb costs what its header claims, not what it
 * unpacks to. Also returns a sha256 of the file's bytes as stored, for the dataset hash.
 */
export async function openBytes(file: string, headerSize?: HeaderSize): Promise<{ source: ByteSource; sha256: string }> {
  const { real, stat } = await checkInputFile(file, {
    what: 'data file',
    maxBytes: MAX_DATA_BYTES,
    maxHint: 'every byte is hashed to key its index; split larger data',
  });
  if (stat.size === 0) throw new UserError('badInput', 'is empty (0 bytes).', file);
  const sha256 = await hashFile(real, stat);
  const head = await readAt(real, 0, 2, file);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const data = await inflateBounded(real, file, headerSize);
    return {
      sha256,
      source: { file, size: data.byteLength, read: async (offset, length) => data.subarray(offset, offset + length) },
    };
  }
  return { sha256, source: { file, size: stat.size, read: (offset, length) => readAt(real, offset, length, file) } };
}

/** Inflates a gzip file as a stream, checking its header first and stopping at the size it announces. */
async function inflateBounded(real: string, file: string, headerSize?: HeaderSize): Promise<Buffer> {
  const input = fs.createReadStream(real);
  const gunzip = zlib.createGunzip();
  input.on('error', (e) => gunzip.destroy(e)); // pipe() does not pass a read error on
  input.pipe(gunzip);
  const chunks: Buffer[] = [];
  let got = 0;
  let limit = MAX_INFLATED;
  let known = false;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      got += chunk.byteLength;
      while (!known && headerSize) {
        const head = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        const r = headerSize(head, file);
        if (typeof r === 'number') {
          if (r > MAX_INFLATED) {
            throw new UserError(
              'badInput',
              `is gzipped and its header announces ${bytesText(r)} of data; Feature Lens unpacks at most ${bytesText(MAX_INFLATED)} of a gzipped file into memory. Store it uncompressed (it is then read in pieces).`,
              file,
            );
          }
          limit = r;
          known = true;
        } else if (r.need > head.byteLength) break;
        else throw new Error(`header reader asked for ${r.need} bytes and had them`);
      }
      if (got > limit) {
        throw new UserError(
          'badInput',
          known
            ? `unpacks to more than the ${limit} bytes its header announces: the header or the file is wrong.`
            : `unpacks to more than ${bytesText(MAX_INFLATED)}; store it uncompressed (Feature Lens then reads it in pieces).`,
          file,
        );
      }
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('badInput', `is a damaged or truncated gzip file (${(e as Error).message}).`, file);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  if (!known && headerSize && got > 0) headerSize(Buffer.concat(chunks), file); // a header cut short says so
  return Buffer.concat(chunks, got);
}

async function readAt(real: string, offset: number, length: number, file: string): Promise<Uint8Array> {
  const fh = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    if (bytesRead !== length)
      throw new UserError('badInput', `is shorter than expected: wanted ${length} bytes at offset ${offset}, got ${bytesRead}. Was it truncated?`, file);
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
