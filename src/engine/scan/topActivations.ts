/**
 * Top-k images of every node (docs/architecture.md, "Top-k images"): argmax_j z(l, i, j) over the test split, for the
 * three scores at once (frobenius, max, mean; see scan.ts), in one streaming pass, stored as an index under
 * `storageDir` keyed by the weights, the dataset and k. A complete index is reused until either changes; a
 * cancelled scan leaves a checkpoint (every 10 s and on cancel) that the next scan resumes from. On a
 * machine with several cores a long scan shares its chunks with helper engine processes and merges their
 * heaps in order (the scheduler, scanScheduler.ts; the helpers, parallelScan.ts).
 */
import type { ScanSummary, ScoreMetric, TopActivationsResult, TopImage } from '../../shared/protocol';
import { isScoreMetric, SCORE_METRICS } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import { CancelledError, check, UserError } from '../runtime/errors';
import type { Job } from '../runtime/job';
import { openDataset, readLens } from '../lens/lens';
import type { Network } from '../models/network';
import { loadLensModel } from '../lens/lensModel';
import { scoresRunNatively } from '../native/forwardLayers';
import { helperEnginePath, scanWorkers } from './parallelScan';
import { emptyScanState, modelInputShape, scanBatchSize, scanLayers, type ScanState } from './scan';
import { indexPath, markIndexUsed, readIndex, type IndexHeader, type StoredIndex } from './scanIndex';
import { checkpointWriter, findIndex, removeEarlierIndexes } from './indexStore';
import { runScan, type ParallelOptions } from './scanScheduler';

export type { ParallelOptions };

export interface ScanDatasetOptions {
  batchSize?: number;
  /** Seconds between checkpoints of a running scan (default 10). */
  checkpointSeconds?: number;
  /** The model file, recorded in the index for messages. */
  modelPath?: string;
  /** Split the remaining images among helper engine processes (parallelScan.ts). */
  parallel?: ParallelOptions;
}

/** A scan's result plus the index it wrote or reused. */
export interface ScanOutcome extends Omit<ScanSummary, 'lens' | 'metric'> {
  stored: StoredIndex;
}

/** The parts of a reused index's outcome that are the same for every reuse. */
const REUSED = { imagesPerSecond: 0, reused: true, resumed: false, helperImages: 0, removedIndexes: 0 } as const;

/**
 * Scans `ds` with `model` (whose weights hash to `weightsHash`) into an index under `storageDir`, reusing a
 * complete index and resuming a checkpoint. On cancel, the position reached is checkpointed before the
 * cancellation propagates.
 */
export async function scanDataset(
  model: Network,
  weightsHash: string,
  ds: Dataset,
  storageDir: string,
  k: number,
  job: Job,
  opts: ScanDatasetOptions = {},
): Promise<ScanOutcome> {
  check(Number.isInteger(k) && k >= 1 && k <= 1000, `k must be a whole number from 1 to 1000, not ${k}.`);
  check(ds.size > 0, `The ${ds.split} split of ${ds.source} has no images to scan.`);
  const file = indexPath(storageDir, weightsHash, ds.hash, k);
  const layers = scanLayers(model);
  check(layers.length > 0, 'The model has no layers whose outputs can be scanned.');
  modelInputShape(model, ds); // throws when the images do not fit the model
  const t0 = Date.now();
  const existing = await readIndex(file);
  const matches =
    existing &&
    existing.header.weightsHash === weightsHash &&
    existing.header.datasetHash === ds.hash &&
    existing.header.total === ds.size &&
    sameLayers(existing.header.layers, layers);
  if (matches && existing.header.complete) {
    await markIndexUsed(file);
    return { index: file, k, images: ds.size, seconds: (Date.now() - t0) / 1000, ...REUSED, stored: existing };
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
  const { helperImages } = await scanWithCheckpoints({ model, weightsHash, ds, layers, k, job, opts, file, header, state, start });
  job.progress({ fraction: 1, message: `${ds.size} of ${ds.size} images`, count: { done: ds.size, total: ds.size, unit: 'images' } });
  const seconds = (Date.now() - t0) / 1000;
  const scanned = ds.size - start;
  const removedIndexes = await removeEarlierIndexes(storageDir, file, header);
  return {
    index: file,
    k,
    images: ds.size,
    seconds,
    imagesPerSecond: scanned / Math.max(seconds, 1e-9),
    reused: false,
    resumed,
    helperImages,
    removedIndexes,
    stored: { header, state },
  };
}

/** What `scanWithCheckpoints` scans and where it writes: `state` holds the images before `start`. */
interface CheckpointedScan {
  model: Network;
  weightsHash: string;
  ds: Dataset;
  layers: IndexHeader['layers'];
  k: number;
  job: Job;
  opts: ScanDatasetOptions;
  file: string;
  header: IndexHeader;
  state: ScanState;
  start: number;
}

/**
 * Scans the images from `start` on into `state` (with helper processes when `opts.parallel` allows), writing a
 * checkpoint every `opts.checkpointSeconds` and on cancel, and the complete index at the end.
 */
async function scanWithCheckpoints({ model, weightsHash, ds, layers, k, job, opts, file, header, state, start }: CheckpointedScan) {
  const everyMs = (opts.checkpointSeconds ?? 10) * 1000;
  const cursor = { next: start };
  const checkpoint = checkpointWriter(file, header, state, cursor);
  const batchSize = opts.batchSize ?? scanBatchSize(layers);
  // Helper processes only on the tfjs path: a native scan's runtime already uses every core (forwardLayers.ts).
  const native = opts.parallel
    ? await scoresRunNatively(
        model,
        layers.map((l) => model.layers[l.index].op),
      )
    : false;
  const { helperImages } = await runScan({
    model,
    weightsHash,
    ds,
    layers,
    k,
    batchSize,
    state,
    cursor,
    job,
    parallel: native ? undefined : opts.parallel,
    onAdvance: async () => {
      if (checkpoint.msSinceLast() >= everyMs && cursor.next < ds.size) await checkpoint.write();
    },
    onFailure: async (e) => {
      // Only the prefix [0, next) is in `state`: that is what the checkpoint records.
      if (e instanceof CancelledError && cursor.next > start) await checkpoint.write();
    },
  });
  header.complete = true;
  await checkpoint.write();
  return { helperImages };
}

function sameLayers(a: IndexHeader['layers'], b: IndexHeader['layers']): boolean {
  return a.length === b.length && a.every((l, i) => l.index === b[i].index && l.nodes === b[i].nodes && l.offset === b[i].offset);
}

/**
 * Scans the test split of a lens file's dataset with its model (see `scanDataset`), using helper processes
 * when the machine has more cores and the backend is not native TensorFlow (parallelScan.ts).
 */
export async function scanLens(
  lensPath: string,
  storageDir: string,
  metric: ScoreMetric,
  k: number,
  job: Job,
  parallel?: Partial<ParallelOptions>,
): Promise<ScanSummary> {
  checkMetric(metric);
  const lens = await readLens(lensPath);
  const { network: model, info } = await loadLensModel(lens);
  const ds = await openDataset(lens, 'test');
  const workers = parallel?.workers ?? scanWorkers();
  const enginePath = parallel?.enginePath ?? helperEnginePath();
  const par =
    workers > 1 && enginePath
      ? { workers, enginePath, lensPath: lens.path, minImages: parallel?.minImages, coldStartSeconds: parallel?.coldStartSeconds }
      : undefined;
  const r = await scanDataset(model, info.weightsHash, ds, storageDir, k, job, { modelPath: info.path, parallel: par });
  const { stored: _stored, ...summary } = r;
  return { lens: lens.path, metric, ...summary };
}

/** Refuses a score metric that is not one of `SCORE_METRICS`, naming them. */
export function checkMetric(metric: string): asserts metric is ScoreMetric {
  check(isScoreMetric(metric), `Unknown score metric "${metric}"; use one of ${SCORE_METRICS.join(', ')}.`);
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
export async function readTopActivations(
  lensPath: string,
  storageDir: string,
  layer: number,
  node: number,
  metric: ScoreMetric,
): Promise<TopActivationsResult | null> {
  checkMetric(metric);
  const lens = await readLens(lensPath);
  const { info } = await loadLensModel(lens);
  check(
    Number.isInteger(layer) && layer >= 0 && layer < info.layers.length,
    `Layer ${layer} is out of range: ${info.path} has ${info.layers.length} layers.`,
    lens.path,
  );
  const ds = await openDataset(lens, 'test');
  const stored = await findIndex(storageDir, info.weightsHash, ds);
  if (!stored) return null;
  return topFromIndex(stored, layer, node, metric, ds.labels);
}
