/**
 * Top-k images of every node (design.md, "Top-k images"): argmax_j z(l, i, j) over the test split, for the
 * three scores at once (frobenius, max, mean; see scan.ts), in one streaming pass, stored as an index under
 * `storageDir` keyed by the weights, the dataset and k. A complete index is reused until either changes; a
 * cancelled scan leaves a checkpoint (every 10 s and on cancel) that the next scan resumes from. On a
 * single-threaded backend with several cores, a long scan hands contiguous shares of the rest to helper
 * engine processes and merges their heaps (parallelScan.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ScanSummary, ScoreMetric, TopActivationsResult, TopImage } from '../shared/protocol';
import { SCORE_METRICS } from '../shared/protocol';
import type { Dataset } from './datasets/dataset';
import { CancelledError, check, UserError } from './errors';
import type { Job } from './job';
import { openDataset, readLens } from './lens';
import { loadModel } from './modelIO';
import { forkRangeScan, helperEnginePath, scanWorkers, type RangeHelper } from './parallelScan';
import { emptyScanState, mergeScanStates, modelInputShape, scanBatchSize, scanLayers, scanRange, type ScanState } from './scan';
import { indexPath, readIndex, readIndexHeader, writeIndex, type IndexHeader, type StoredIndex } from './scanIndex';
import type * as tf from './tf';

/** About how long a helper engine process takes from fork to its first batch (measured 1–1.5 s here). */
const HELPER_START_SECONDS = 1.5;

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
  /** Fork helpers only when the rest of the scan would take longer than this in one process (default 4 s). */
  minSeconds?: number;
  /** Seconds a helper takes to start, which this process spends scanning a larger first share (default 1.5). */
  helperStartSeconds?: number;
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
export async function scanDataset(model: tf.LayersModel, weightsHash: string, ds: Dataset, storageDir: string, k: number, job: Job, opts: ScanDatasetOptions = {}): Promise<ScanOutcome> {
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
    return { index: file, k, images: ds.size, seconds: (Date.now() - t0) / 1000, imagesPerSecond: 0, reused: true, resumed: false, stored: existing };
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
  const checkpoint = async () => {
    // The state must hold exactly the images [0, next): never store an index that counts some twice or misses some.
    if (state.images !== next) throw new Error(`Internal error: the scan's state holds ${state.images} images but its position is ${next}; the index was not written.`);
    header.next = next;
    header.seconds += (Date.now() - lastCheckpoint) / 1000;
    lastCheckpoint = Date.now();
    await writeIndex(file, header, state);
  };
  // This process scans from `start`. Once its speed is known (after two batches), if the rest would take
  // longer than `minSeconds`, the remainder is split: this process keeps the first share (larger by what
  // it scans while a helper starts), helpers take the others.
  const ranges: [number, number][] = [[start, ds.size]];
  const helperDone: number[] = [0];
  const helpers: RangeHelper[] = [];
  const report = () => {
    const done = next + helperDone.reduce((a, b) => a + b, 0);
    job.progress({ fraction: done / ds.size, message: `${done} of ${ds.size} images${ranges.length > 1 ? ` (${ranges.length} processes)` : ''}` });
  };
  const split = (pos: number, rate: number) => {
    const par = opts.parallel!;
    const rest = ds.size - pos;
    const w = Math.max(1, Math.floor(par.workers));
    if (w < 2 || rest / rate < (par.minSeconds ?? 4)) return;
    const headStart = Math.round(rate * (par.helperStartSeconds ?? HELPER_START_SECONDS));
    const share = Math.ceil((rest - headStart) / w);
    if (share < 1) return;
    // On this process's batch grid, so its last batch ends exactly where the first helper starts.
    const cut = pos + Math.ceil((share + headStart) / batchSize) * batchSize;
    if (cut >= ds.size) return;
    ranges[0] = [start, cut];
    for (let s = ranges[0][1]; s < ds.size; s += share) {
      const e = Math.min(ds.size, s + share);
      const i = ranges.length;
      ranges.push([s, e]);
      helperDone.push(0);
      const h = forkRangeScan(par.enginePath, { lens: par.lensPath, weightsHash, k, start: s, end: e, batchSize }, (done) => {
        helperDone[i] = done;
      });
      // Failures are handled when the results are collected; until then keep them from being unhandled.
      h.result.catch(() => {});
      helpers.push(h);
    }
  };
  const batchSize = opts.batchSize ?? scanBatchSize(layers);
  const quiet: Job = { get cancelled() { return job.cancelled; }, throwIfCancelled: () => job.throwIfCancelled(), progress: () => {} };
  const localStart = Date.now();
  let batches = 0;
  try {
    await scanRange(model, ds, start, ds.size, state, quiet, {
      batchSize,
      stopAt: () => ranges[0][1],
      onBatch: async (pos) => {
        next = pos;
        batches++;
        if (opts.parallel && batches === 2 && ranges.length === 1) split(pos, (pos - start) / Math.max(1e-3, (Date.now() - localStart) / 1000));
        report();
        if (Date.now() - lastCheckpoint >= everyMs && pos < ds.size) await checkpoint();
      },
    });
    for (let i = 0; i < helpers.length; i++) {
      const [s, e] = ranges[i + 1];
      let part: ScanState;
      try {
        part = await whileNotCancelled(helpers[i].result, job, report);
      } catch (err) {
        if (err instanceof CancelledError) throw err;
        // A helper that failed (could not start, crashed): scan its share here.
        part = await scanRange(model, ds, s, e, emptyScanState(layers, k, ds.classes.length), quiet, { batchSize, onBatch: (pos) => { helperDone[i + 1] = pos - s; report(); } });
      }
      mergeScanStates(state, part);
      next = e;
      helperDone[i + 1] = 0;
    }
  } catch (e) {
    helpers.forEach((h) => h.stop());
    // Only the prefix [0, next) is in `state`: that is what the checkpoint records.
    if (e instanceof CancelledError && next > start) await checkpoint();
    throw e;
  }
  next = ds.size;
  header.complete = true;
  await checkpoint();
  report();
  const seconds = (Date.now() - t0) / 1000;
  const scanned = ds.size - start;
  return { index: file, k, images: ds.size, seconds, imagesPerSecond: scanned / Math.max(seconds, 1e-9), reused: false, resumed, stored: { header, state } };
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
 * when the backend is single-threaded and the machine has more cores (parallelScan.ts).
 */
export async function scanLens(lensPath: string, storageDir: string, metric: ScoreMetric, k: number, job: Job, parallel?: Partial<ParallelOptions>): Promise<ScanSummary> {
  check(SCORE_METRICS.includes(metric), `Unknown score metric "${metric}"; use one of ${SCORE_METRICS.join(', ')}.`);
  const lens = await readLens(lensPath);
  const { model, info } = await loadModel(lens.model);
  const ds = await openDataset(lens, 'test');
  const workers = parallel?.workers ?? scanWorkers();
  const enginePath = parallel?.enginePath ?? helperEnginePath();
  const par = workers > 1 && enginePath ? { workers, enginePath, lensPath: lens.path, minSeconds: parallel?.minSeconds, helperStartSeconds: parallel?.helperStartSeconds } : undefined;
  const r = await scanDataset(model, info.weightsHash, ds, storageDir, k, job, { modelPath: info.path, parallel: par });
  const { stored: _stored, ...summary } = r;
  return { lens: lens.path, metric, ...summary };
}

/** The complete index for these weights and dataset with the largest k, or null. */
export async function findIndex(storageDir: string, weightsHash: string, ds: Dataset): Promise<StoredIndex | null> {
  let best: StoredIndex | null = null;
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
    if (idx && idx.header.complete) best = idx;
  }
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
  check(SCORE_METRICS.includes(metric), `Unknown score metric "${metric}"; use one of ${SCORE_METRICS.join(', ')}.`);
  const lens = await readLens(lensPath);
  const { info } = await loadModel(lens.model);
  check(Number.isInteger(layer) && layer >= 0 && layer < info.layers.length, `Layer ${layer} is out of range: ${info.path} has ${info.layers.length} layers.`, lens.path);
  const ds = await openDataset(lens, 'test');
  const stored = await findIndex(storageDir, info.weightsHash, ds);
  if (!stored) return null;
  return topFromIndex(stored, layer, node, metric, ds.labels);
}
