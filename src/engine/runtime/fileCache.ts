import type * as fs from 'node:fs';

/** What a cached read is keyed on: the file's modification time and size (a rewrite changes one of them). */
export type FileStamp = Pick<fs.Stats, 'mtimeMs' | 'size'>;

/**
 * What was read from files (a model, a lens, an index), kept while each file keeps its modification time and
 * size, so a request reads a file again only after it changed on disk. With `maxEntries`, the least recently
 * used entries go first.
 */
export class FileCache<T> {
  private readonly entries = new Map<string, { mtimeMs: number; size: number; value: T }>();

  constructor(private readonly maxEntries = Infinity) {}

  /** The value read from `file` when it had this `stamp`; undefined when none is kept or the file changed. */
  get(file: string, stamp: FileStamp): T | undefined {
    const hit = this.entries.get(file);
    if (!hit || hit.mtimeMs !== stamp.mtimeMs || hit.size !== stamp.size) return undefined;
    this.entries.delete(file); // most recently used last
    this.entries.set(file, hit);
    return hit.value;
  }

  /** Keeps `value`, read from `file` with `stamp`; returns the entries dropped to stay within `maxEntries`. */
  set(file: string, stamp: FileStamp, value: T): T[] {
    this.entries.delete(file);
    this.entries.set(file, { mtimeMs: stamp.mtimeMs, size: stamp.size, value });
    const dropped: T[] = [];
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
      dropped.push(e.value);
    }
    return dropped;
  }

  /** The kept value stays valid for `file`'s new stamp (the file was touched, not rewritten, by this process). */
  restamp(file: string, stamp: FileStamp): void {
    const hit = this.entries.get(file);
    if (hit) Object.assign(hit, { mtimeMs: stamp.mtimeMs, size: stamp.size });
  }

  /** The value kept for `file` whatever its stamp (e.g. to dispose it), or undefined. */
  peek(file: string): T | undefined {
    return this.entries.get(file)?.value;
  }

  delete(file: string): boolean {
    return this.entries.delete(file);
  }

  /** Every kept value, then none. */
  clear(): T[] {
    const values = [...this.entries.values()].map((e) => e.value);
    this.entries.clear();
    return values;
  }

  get size(): number {
    return this.entries.size;
  }
}
