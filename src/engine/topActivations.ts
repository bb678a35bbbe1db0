/**
 * Top-k images of every node (docs/architecture.md, "Top-k images"): argmax_j z(l, i, j) over the test split, for the
 * three scores at once (frobenius, max, mean; see scan.ts), in one streaming pass, stored as an index under
 * `storageDir` keyed by the weights, the dataset and k. A complete index is reused until either changes; a
 * cancelled scan leaves a checkpoint (every 10 s and on cancel) that the next scan resumes from. On a
 * machine with several cores a long scan shares its chunks with helper engine processes and merges their
 * heaps in order (parallelScan.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ScanSummary, ScoreMetric, TopActivationsResult, TopImage } from '../shared/protocol';
import { isScoreMetric, SCORE_METRICS } from '../shared/protocol';
import type { Dataset } from './datasets/dataset';
import { CancelledError, check, UserError } from './errors';
import { writeFileAtomic } from './fsutil';
import type { Job } from './job';
import { openDataset, readLens } from './lens';
import type { Network } from './models/network';
import { loadLensModel } from './lensModel';
import { acquireHelpers, coldStartSeconds, helperEnginePath, idleHelpers, releaseHelpers, scanWorkers, type ScanHelper } from './parallelScan';
import { emptyScanState, mergeScanStates, modelInputShape, scanBatchSize, scanFloors, scanLayers, scanRange, type ScanState } from './scan';
import { encodeIndex, indexPath, markIndexUsed, readIndex, readIndexHeader, type IndexHeader, type StoredIndex } from './scanIndex';

/**
 * Earlier weights whose indexes are kept per model and dataset once a new index is complete: retraining in a
 * loop writes a new index each time, and only the few used last are likely to be wanted again (e.g. after
 * switching branches).
 */
export const KEEP_EARLIER_INDEXES = 3;
/** Scans shorter than this many batches stay in one process (helpers would cost more than they give). */
const MIN_PARALLEL_BATCHES = 8;
/** A chunk of a parallel scan is about 1/(GUIDE × processes) of the images left (`chunkPlan`). */
const GUIDE = 3;
/** Requests a helper holds at once (the next one waits in its engine's queue). */
const HELPER_DEPTH = 2;
/** How long a cancelled or failed scan waits for its helpers to stop before stopping their processes. */
const HELPER_CANCEL_MS = 5000;
/**
 * A scan starts new helper processes only when this process alone would need longer than this for the rest.
 * A new helper needs its engine to start (about 0.2 s measured here) and the lens opened; it joins for
 * whatever chunks are left, then stays up idle for the next scan (a retrained model is usually scanned again).
 */
const COLD_START_SECONDS = 1;

export interface ScanDatasetOptions {
  batchSize?: number;
  /** Seconds between checkpoints of a running scan (default 10). */
  checkpointSeconds?: number;
  /** The model file, recorded in the index for messages. */
  modelPath?: string;
  /** Split the remaining images among helper engine processes (parallelScan.ts). */
  parallel?: ParallelOptions;
}

export interface ParallelOptions {
  /** Processes in all, this one included. */
  workers: number;
  enginePath: string;
  /** The lens file the helpers open (the same model and dataset as this scan). */
  lensPath: string;
  /** Use helpers only when at least this many images are left to scan (default: 8 batches). */
  minImages?: number;
  /** Start new helper processes only when the rest would take this process longer than this (default 1 s). */
  coldStartSeconds?: number;
}

/** A scan's result plus the index it wrote or reused. */
export interface ScanOutcome extends Omit<ScanSummary, 'lens' | 'metric'> {
  stored: StoredIndex;
}

/**
 * Scans `ds` with `model` (whose weights hash to `weightsHash`) into an index under `storageDir`, reusing a
 * complete index and resuming a checkpoint. On cancel, the position reached is checkpointed before the
 * cancellation propagates.
 */
export async function scanDataset(model: Network, weightsHash: string, ds: Dataset, storageDir: string, k: number, job: Job, opts: ScanDatasetOptions = {}): Promise<ScanOutcome> {
  check(Number.isInteger(k) && k >= 1 && k <= 1000, `k must be a whole number from 1 to 1000, not ${k}.`);
  check(ds.size > 0, `The ${ds.split} split of ${ds.source} has no images to scan.`);
  const file = indexPath(storageDir, weightsHash, ds.hash, k);
  const layers = scanLayers(model);
  check(layers.length > 0, 'The model has no layers whose outputs can be scanned.');
  modelInputShape(model, ds); // throws when the images do not fit the model
  const t0 = Date.now();
  const existing = await readIndex(file);
  const matches = existing && existing.header.weightsHash === weightsHash && existing.header.datasetHash === ds.hash && existing.header.total === ds.size && sameLayers(existing.header.layers, layers);
  if (matches && existing.header.complete) {
    await markIndexUsed(file);
    return { index: file, k, images: ds.size, seconds: (Date.now() - t0) / 1000, imagesPerSecond: 0, reused: true, resumed: false, helperImages: 0, removedIndexes: 0, stored: existing };
  }
  const resumed = !!matches && existing.header.next > 0;
  const state: ScanState = resumed ? existing!.state : emptyScanState(layers, k, ds.classes.length);
  const start = resumed ? existing!.header.next : 0;
  const header: IndexHeader = {
    weightsHash,
    datasetHash: ds.hash,
    k,
    layers,
    classes: [...ds.classes],
    total: ds.size,
    next: start,
    complete: false,
    model: opts.modelPath ?? model.name,
    source: ds.source,
    seconds: resumed ? existing!.header.seconds : 0,
  };
  const everyMs = (opts.checkpointSeconds ?? 10) * 1000;
  let lastCheckpoint = Date.now();
  let next = start;
  let writing: Promise<void> = Promise.resolve();
  const checkpoint = async () => {
    // The state must hold exactly the images [0, next): never store an index that counts some twice or misses some.
    if (state.images !== next) throw new Error(`Internal error: the scan's state holds ${state.images} images but its position is ${next}; the index was not written.`);
    header.next = next;
    header.seconds += (Date.now() - lastCheckpoint) / 1000;
    lastCheckpoint = Date.now();
    // Encoded now (the state as it is), written after any write still running: one writer at a time.
    const bytes = encodeIndex(header, state);
    writing = writing.catch(() => {}).then(() => writeFileAtomic(file, bytes));
    await writing;
  };
  // The rest is cut into chunks that this process and any helpers take in order. A chunk this process takes at
  // the end of the scanned prefix goes straight into `state`; any other finished chunk waits in `done` until
  // the prefix reaches it, so `state` always holds exactly the images [start..next) plus what came before.
  const batchSize = opts.batchSize ?? scanBatchSize(layers);
  const rest = ds.size - start;
  const par = opts.parallel;
  const helperCount = par && rest >= (par.minImages ?? MIN_PARALLEL_BATCHES * batchSize) ? Math.max(0, Math.floor(par.workers) - 1) : 0;
  const queue: [number, number][] = helperCount > 0 ? chunkPlan(start, ds.size, batchSize, helperCount + 1) : [[start, ds.size]];
  const done = new Map<number, ScanState>();
  /** Images done so far in chunks that are running, by chunk start. */
  const running = new Map<number, number>();
  // Warm helpers join at once; new ones are started only when this process's first batches show the scan
  // will last long enough for them to pay (see COLD_START_SECONDS).
  const helpers = helperCount > 0 ? idleHelpers(par!.enginePath, helperCount) : [];
  const active = new Set<ScanHelper>(helpers);
  let helperImages = 0;
  const report = () => {
    let doneImages = next;
    for (const st of done.values()) doneImages += st.images;
    for (const n of running.values()) doneImages += n;
    job.progress({ fraction: doneImages / ds.size, message: `${doneImages} of ${ds.size} images${active.size ? ` (${active.size + 1} processes)` : ''}`, count: { done: doneImages, total: ds.size, unit: 'images' } });
  };
  const advance = async () => {
    for (let st = done.get(next); st; st = done.get(next)) {
      done.delete(next);
      mergeScanStates(state, st);
      next += st.images;
    }
    report();
    if (Date.now() - lastCheckpoint >= everyMs && next < ds.size) await checkpoint();
  };
  const takeChunk = () => {
    queue.sort((a, b) => a[0] - b[0]);
    return queue.shift();
  };
  const quiet: Job = { get cancelled() { return job.cancelled; }, throwIfCancelled: () => job.throwIfCancelled(), progress: () => {} };
  /**
   * A helper's loop: chunks until none are left, `HELPER_DEPTH` requests at a time (`lane`s); a failed chunk
   * goes back to the queue and the helper stops.
   */
  const helperLoop = async (h: ScanHelper) => {
    // A helper still starting when the scan ends stays in the pool, warm for the next one.
    const started = await Promise.race([h.ready.then(() => true, () => false), scanOver.then(() => false)]);
    if (!started) {
      active.delete(h);
      return;
    }
    await Promise.all(Array.from({ length: HELPER_DEPTH }, () => lane(h)));
    active.delete(h);
  };
  const lane = async (h: ScanHelper) => {
    for (let c = takeChunk(); c; c = takeChunk()) {
      if (job.cancelled || ended || !h.alive) {
        queue.push(c);
        return;
      }
      const [s, e] = c;
      running.set(s, 0);
      try {
        const part = await h.scan({ lens: par!.lensPath, weightsHash, datasetHash: ds.hash, k, start: s, end: e, batchSize, floors: scanFloors(state) }, (n) => running.set(s, n));
        if (part.images !== e - s) throw new Error(`A scan helper returned ${part.images} images for a chunk of ${e - s}.`);
        done.set(s, part);
        helperImages += part.images;
      } catch (err) {
        queue.push(c);
        if (!(err instanceof CancelledError)) h.kill(); // its other lane's request then fails too
        return;
      } finally {
        running.delete(s);
      }
      try {
        await advance();
      } catch (err) {
        // A checkpoint that could not be written (disk full...): the scan fails with it, from its main loop.
        laneFailure ??= err;
        return;
      }
    }
  };
  /** Set once the scan has ended (done, failed or cancelled): lanes take no more chunks. */
  let ended = false;
  let laneFailure: unknown;
  let over!: () => void;
  const scanOver = new Promise<void>((r) => (over = r));
  const loops = helpers.map(helperLoop);
  const localStart = Date.now();
  let localImages = 0;
  let coldChecked = false;
  /** After this process's second batch: start the missing helpers if the rest would take long enough. */
  const maybeStartHelpers = (batchImages: number) => {
    localImages += batchImages;
    if (coldChecked || helpers.length >= helperCount || localImages < 2 * batchSize) return;
    coldChecked = true;
    const rate = localImages / Math.max(1e-3, (Date.now() - localStart) / 1000);
    const left = queue.reduce((a, [s, e]) => a + e - s, 0);
    if (left / rate < (par!.coldStartSeconds ?? coldStartSeconds(COLD_START_SECONDS))) return;
    for (const h of acquireHelpers(par!.enginePath, helperCount - helpers.length)) {
      helpers.push(h);
      active.add(h);
      loops.push(helperLoop(h));
    }
  };
  let finished = false;
  try {
    while (next < ds.size) {
      job.throwIfCancelled();
      if (laneFailure) throw laneFailure;
      const c = takeChunk();
      if (!c) {
        // Everything is taken: wait for the helpers' chunks (a failed one comes back to the queue).
        await whileNotCancelled(Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 100))]), job, report);
        await advance();
        continue;
      }
      const [s, e] = c;
      if (s === next) {
        await scanRange(model, ds, s, e, state, quiet, {
          batchSize,
          onBatch: async (pos) => {
            maybeStartHelpers(pos - next);
            next = pos;
            await advance();
          },
        });
      } else {
        running.set(s, 0);
        try {
          done.set(
            s,
            await scanRange(model, ds, s, e, emptyScanState(layers, k, ds.classes.length, scanFloors(state)), quiet, {
              batchSize,
              onBatch: (pos) => {
                maybeStartHelpers(pos - s - (running.get(s) ?? 0));
                running.set(s, pos - s);
              },
            }),
          );
        } finally {
          running.delete(s);
        }
      }
      await advance();
    }
    finished = true;
  } catch (e) {
    // Only the prefix [0, next) is in `state`: that is what the checkpoint records.
    if (e instanceof CancelledError && next > start) await checkpoint();
    throw e;
  } finally {
    ended = true;
    over();
    if (!finished) {
      for (const h of active) h.cancel();
      // A helper that does not answer its cancel within a few seconds is stopped (its requests then fail).
      const stuck = setTimeout(() => active.forEach((h) => h.kill()), HELPER_CANCEL_MS);
      await Promise.allSettled(loops);
      clearTimeout(stuck);
    }
    // Loops started while waiting are in `loops` too (the array only grows).
    for (let n = 0; n < loops.length; n = loops.length) await Promise.allSettled(loops.slice(n));
    releaseHelpers(helpers);
  }
  if (laneFailure) throw laneFailure;
  header.complete = true;
  await checkpoint();
  report();
  const seconds = (Date.now() - t0) / 1000;
  const scanned = ds.size - start;
  const removedIndexes = await removeEarlierIndexes(storageDir, file, header);
  return { index: file, k, images: ds.size, seconds, imagesPerSecond: scanned / Math.max(seconds, 1e-9), reused: false, resumed, helperImages, removedIndexes, stored: { header, state } };
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

/**
 * The chunks of `[start, end)` for `workers` processes, in whole batches: each about 1/(`GUIDE` × workers)
 * of what is left when it is taken, so early chunks are large (few requests, each with its fixed cost) and
 * the last ones a batch, so no process waits long for another's last chunk at the end.
 */
export function chunkPlan(start: number, end: number, batchSize: number, workers: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = start; s < end; ) {
    const size = batchSize * Math.max(1, Math.ceil((end - s) / (GUIDE * workers) / batchSize));
    out.push([s, Math.min(end, s + size)]);
    s += size;
  }
  return out;
}

/** Awaits `p`, checking for cancellation (and reporting progress) every 200 ms. */
async function whileNotCancelled<T>(p: Promise<T>, job: Job, tick: () => void): Promise<T> {
  let settled = false;
  const done = p.finally(() => (settled = true));
  while (!settled) {
    await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, 200))]);
    job.throwIfCancelled();
    tick();
  }
  return done;
}

function sameLayers(a: IndexHeader['layers'], b: IndexHeader['layers']): boolean {
  return a.length === b.length && a.every((l, i) => l.index === b[i].index && l.nodes === b[i].nodes && l.offset === b[i].offset);
}

/**
 * Scans the test split of a lens file's dataset with its model (see `scanDataset`), using helper processes
 * when the machine has more cores and the backend is not native TensorFlow (parallelScan.ts).
 */
export async function scanLens(lensPath: string, storageDir: string, metric: ScoreMetric, k: number, job: Job, parallel?: Partial<ParallelOptions>): Promise<ScanSummary> {
  checkMetric(metric);
  const lens = await readLens(lensPath);
  const { network: model, info } = await loadLensModel(lens);
  const ds = await openDataset(lens, 'test');
  const workers = parallel?.workers ?? scanWorkers();
  const enginePath = parallel?.enginePath ?? helperEnginePath();
  const par = workers > 1 && enginePath ? { workers, enginePath, lensPath: lens.path, minImages: parallel?.minImages, coldStartSeconds: parallel?.coldStartSeconds } : undefined;
  const r = await scanDataset(model, info.weightsHash, ds, storageDir, k, job, { modelPath: info.path, parallel: par });
  const { stored: _stored, ...summary } = r;
  return { lens: lens.path, metric, ...summary };
}

/** Refuses a score metric that is not one of `SCORE_METRICS`, naming them. */
export function checkMetric(metric: string): asserts metric is ScoreMetric {
  check(isScoreMetric(metric), `Unknown score metric "${metric}"; use one of ${SCORE_METRICS.join(', ')}.`);
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

/** A node's list from a stored index: score descending, ties by lower image index. */
export function topFromIndex(stored: StoredIndex, layer: number, node: number, metric: ScoreMetric, labels: ArrayLike<number>): TopActivationsResult {
  const l = stored.header.layers.find((x) => x.index === layer);
  if (!l) throw new UserError('badInput', `Layer ${layer} has no top-activation list (the input layer and layers without a single output are not scanned).`);
  check(Number.isInteger(node) && node >= 0 && node < l.nodes, `Node ${node} is out of range: layer ${l.name} has ${l.nodes} nodes.`);
  const heap = stored.state.heaps[metric];
  const top: TopImage[] = heap.sorted(l.offset + node).map((e) => ({
    index: e.index,
    score: e.score,
    label: labels[e.index] ?? -1,
    ...(metric === 'max' ? { location: [Math.floor(e.location / l.spatial[1]), e.location % l.spatial[1]] as [number, number] } : {}),
  }));
  return { layer, node, metric, top };
}

/** A node's top images from the stored index, or null when there is no complete index for the current model and dataset. */
export async function readTopActivations(lensPath: string, storageDir: string, layer: number, node: number, metric: ScoreMetric): Promise<TopActivationsResult | null> {
  checkMetric(metric);
  const lens = await readLens(lensPath);
  const { info } = await loadLensModel(lens);
  check(Number.isInteger(layer) && layer >= 0 && layer < info.layers.length, `Layer ${layer} is out of range: ${info.path} has ${info.layers.length} layers.`, lens.path);
  const ds = await openDataset(lens, 'test');
  const stored = await findIndex(storageDir, info.weightsHash, ds);
  if (!stored) return null;
  return topFromIndex(stored, layer, node, metric, ds.labels);
}
