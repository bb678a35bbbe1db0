/**
 * The top-activation index files under a storage folder (their format: scanIndex.ts): the checkpoint writer of
 * a running scan, the complete index a request reads, and the removal of the indexes of earlier weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from '../datasets/dataset';
import { writeFileAtomic } from '../runtime/fsutil';
import type { ScanState } from './scan';
import { encodeIndex, indexPath, markIndexUsed, readIndex, readIndexHeader, type IndexHeader, type StoredIndex } from './scanIndex';

/**
 * Earlier weights whose indexes are kept per model and dataset once a new index is complete: retraining in a
 * loop writes a new index each time, and only the few used last are likely to be wanted again (e.g. after
 * switching branches).
 */
export const KEEP_EARLIER_INDEXES = 3;

/**
 * The checkpoints of a running scan: each writes `header` and `state`, which must hold exactly the images
 * `[0, cursor.next)`, to `file`, atomically and one write at a time; `header.seconds` accumulates the time
 * between them.
 */
export function checkpointWriter(file: string, header: IndexHeader, state: ScanState, cursor: { next: number }) {
  let last = Date.now();
  let writing: Promise<void> = Promise.resolve();
  return {
    msSinceLast: () => Date.now() - last,
    async write(): Promise<void> {
      // Never store an index that counts some images twice or misses some.
      if (state.images !== cursor.next)
        throw new Error(`Internal error: the scan's state holds ${state.images} images but its position is ${cursor.next}; the index was not written.`);
      header.next = cursor.next;
      header.seconds += (Date.now() - last) / 1000;
      last = Date.now();
      // Encoded now (the state as it is), written after any write still running: one writer at a time.
      const bytes = encodeIndex(header, state);
      writing = writing.catch(() => {}).then(() => writeFileAtomic(file, bytes));
      await writing;
    },
  };
}

/**
 * Deletes the indexes (complete or checkpoints, any k) of other weights of the same model file and dataset
 * source, beyond those of the `KEEP_EARLIER_INDEXES` weights used most recently; `kept` is the index just
 * completed. Indexes of other models, other data or models known only by name are left alone. Returns how
 * many files were deleted.
 */
export async function removeEarlierIndexes(storageDir: string, kept: string, header: IndexHeader, keep = KEEP_EARLIER_INDEXES): Promise<number> {
  if (!path.isAbsolute(header.model)) return 0;
  let names: string[];
  try {
    names = await fs.promises.readdir(storageDir);
  } catch {
    return 0;
  }
  // Files by weights; the weights' last use is their most recently used file's.
  const byWeights = new Map<string, { files: string[]; used: number }>();
  for (const name of names) {
    const file = path.join(storageDir, name);
    if (!name.endsWith('.flix') || file === kept) continue;
    const h = await readIndexHeader(file);
    if (!h || h.model !== header.model || h.source !== header.source || h.weightsHash === header.weightsHash) continue;
    const stat = await fs.promises.stat(file).catch(() => undefined);
    if (!stat) continue;
    const g = byWeights.get(h.weightsHash) ?? { files: [], used: 0 };
    g.files.push(file);
    g.used = Math.max(g.used, stat.mtimeMs);
    byWeights.set(h.weightsHash, g);
  }
  const stale = [...byWeights.values()].sort((a, b) => b.used - a.used).slice(keep);
  let removed = 0;
  for (const file of stale.flatMap((g) => g.files)) {
    try {
      await fs.promises.unlink(file);
      removed++;
    } catch {
      // Gone already (another scan removed it): nothing to do.
    }
  }
  return removed;
}

/** The complete index for these weights and dataset with the largest k (marked as used), or null. */
export async function findIndex(storageDir: string, weightsHash: string, ds: Dataset): Promise<StoredIndex | null> {
  let best: StoredIndex | null = null;
  let bestFile = '';
  let names: string[];
  try {
    names = await fs.promises.readdir(storageDir);
  } catch {
    return null;
  }
  for (const name of names) {
    if (!name.endsWith('.flix')) continue;
    // Headers first: only a complete index of these weights and dataset is read whole.
    const file = path.join(storageDir, name);
    const h = await readIndexHeader(file);
    if (!h || !h.complete || h.weightsHash !== weightsHash || h.datasetHash !== ds.hash || h.total !== ds.size) continue;
    if (path.basename(indexPath(storageDir, weightsHash, ds.hash, h.k)) !== name || (best && best.header.k >= h.k)) continue;
    const idx = await readIndex(file);
    if (idx && idx.header.complete) {
      best = idx;
      bestFile = file;
    }
  }
  if (best) await markIndexUsed(bestFile);
  return best;
}
