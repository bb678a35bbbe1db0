import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors';

/**
 * Writes files so that nothing is ever half-written: each goes to a temporary file beside its target,
 * and only when all are written are they renamed into place. If anything fails, the temporaries are removed
 * and the old files are untouched.
 */
export async function writeFilesAtomic(files: { path: string; data: string | Uint8Array }[]): Promise<void> {
  const temps: { tmp: string; target: string }[] = [];
  try {
    for (const f of files) {
      await fs.promises.mkdir(path.dirname(f.path), { recursive: true });
      const tmp = `${f.path}.${process.pid}.${Date.now().toString(36)}.tmp`;
      temps.push({ tmp, target: f.path });
      const fh = await fs.promises.open(tmp, 'w');
      try {
        await fh.writeFile(f.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    // Weight shards before model.json, so a reader never sees a manifest whose shards are old: callers list
    // the file that points at the others last.
    for (const t of temps) await fs.promises.rename(t.tmp, t.target);
  } catch (e) {
    await Promise.all(temps.map((t) => fs.promises.rm(t.tmp, { force: true })));
    throw e;
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await writeFilesAtomic([{ path: file, data }]);
}

/** What the engine may read, and how large it may be: checked before a file is opened. */
export interface InputFileOptions {
  /** The file's role in messages: "model file", "weight file", "data file"… (default "file"). */
  what?: string;
  /** Larger files are refused (a hostile file can be a sparse file of terabytes). */
  maxBytes?: number;
  /** Why the limit, appended to the "too large" message. */
  maxHint?: string;
  /** The real path must lie inside this folder (its real path): a symlink out of it is refused. */
  within?: string;
}

/** A file checked by `checkInputFile`: its real path and its stat (of the real file). */
export interface CheckedFile {
  real: string;
  stat: fs.Stats;
}

const mb = (n: number) => (n >= 2 ** 40 ? `${(n / 2 ** 40).toFixed(1)} TB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MB` : `${n} bytes`);

/** The kind of a non-regular file, for a message. */
function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Whether `p` is `dir` or inside it (both absolute, real paths). */
export function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Checks a file before the engine opens it: resolved through symlinks (a loop is reported as one), a regular
 * file (no folder, device, FIFO or socket: reading /dev/zero or a pipe never ends), at most `maxBytes`, and,
 * with `within`, really inside that folder. Every refusal is a UserError naming the file.
 */
export async function checkInputFile(file: string, opts: InputFileOptions = {}): Promise<CheckedFile> {
  const what = opts.what ?? 'file';
  let real: string;
  try {
    real = await fs.promises.realpath(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UserError('badInput', `is a symlink loop (${what} cannot be read).`, file);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError('notFound', `${what} not found.`, file);
    if (code === 'EACCES') throw new UserError('badInput', `${what} is not readable (EACCES).`, file);
    throw e;
  }
  const stat = await fs.promises.stat(real);
  const shown = real === path.resolve(file) ? '' : ` (a symlink to ${real})`;
  if (!stat.isFile())
    throw new UserError('badInput', `is ${kindOf(stat)}${shown}, not a regular file: Feature Lens reads only regular files as a ${what}.`, file);
  if (opts.within) {
    let dir = opts.within;
    try {
      dir = await fs.promises.realpath(dir);
    } catch {
      // The folder itself is checked by whoever named it.
    }
    if (!isInside(real, dir))
      throw new UserError(
        'badInput',
        `is a symlink to ${real}, outside ${dir}: Feature Lens does not follow a ${what} out of its folder. Copy the file there instead.`,
        file,
      );
  }
  if (opts.maxBytes !== undefined && stat.size > opts.maxBytes) {
    throw new UserError('badInput', `is ${mb(stat.size)}${shown}; a ${what} is at most ${mb(opts.maxBytes)}${opts.maxHint ? ` (${opts.maxHint})` : ''}.`, file);
  }
  return { real, stat };
}

/**
 * Reads a whole file after `checkInputFile`: opened without blocking (a FIFO swapped in after the check cannot
 * hang the engine), checked again on the open descriptor, and read for exactly the size it had (a file that
 * grows while it is read is not followed).
 */
export async function readInputFile(file: string, opts: InputFileOptions = {}): Promise<Buffer> {
  const { real } = await checkInputFile(file, opts);
  const fh = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UserError('badInput', `is ${kindOf(st)}, not a regular file.`, file);
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes)
      throw new UserError('badInput', `is ${mb(st.size)}; a ${opts.what ?? 'file'} is at most ${mb(opts.maxBytes)}.`, file);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== st.size) throw new UserError('badInput', `shrank while it was read (${off} of ${st.size} bytes).`, file);
    return buf;
  } finally {
    await fh.close();
  }
}

/** `readInputFile` as UTF-8 text. */
export async function readInputText(file: string, opts: InputFileOptions = {}): Promise<string> {
  return (await readInputFile(file, opts)).toString('utf8');
}
