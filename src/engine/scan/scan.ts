/**
 * The streaming scan behind the top-activation index and the layer-by-class table (docs/architecture.md, "Node score",
 * "Top-k images", "Layer activation by class").
 *
 * For image j and node i of layer l, with the node's map m = a_l(x_j)[..., i] flattened to S spatial values:
 *   frobenius z = sqrt(Σ_s m_s²)   (the seed's score ||δ_j^{l-1} * w_i^l||_F)
 *   max       z = max_s m_s, with the location argmax_s as [y, x]
 *   mean      z = Σ_s m_s / S
 * All three are computed on the backend in one `tf.tidy`; only `[batch, nodes]` scores and argmax locations
 * are downloaded. A bounded heap per node per metric keeps the top k; per-class sums for the layer table are
 * accumulated from the same scores. `scanRange` covers `[start, end)` of a dataset and its state merges with
 * other ranges' (`mergeScanStates`), so ranges can be scanned by separate processes.
 *
 * A batch is scored natively (native/nativeScores.ts) or on tfjs (batchScores.ts); the scheduler and the index
 * are elsewhere (scanScheduler.ts, scanIndex.ts, topActivations.ts).
 */
import type { ScoreMetric } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import { check, UserError } from '../runtime/errors';
import { yieldToEvents, type Job } from '../runtime/job';
import { ScoreHeaps } from './scoreHeap';
import type { Network } from '../models/network';
import { recordForwardPath } from '../native/forwardLayers';
import { nativeBatchScores, nativeScanBatchSize, ScoreBuffers } from '../native/nativeScores';
import { nativeRuntime } from '../native/runtime';
import * as tf from '../runtime/tf';
import { batchScores, type BatchScores, multiOutputModel } from './batchScores';

export { batchScores, type BatchScores, multiOutputModel, type MultiOutput } from './batchScores';

/** One scanned layer: its index in `net.layers` and where its nodes sit in the flat node axis. */
export interface ScanLayer {
  index: number;
  name: string;
  /** First flat node of this layer. */
  offset: number;
  nodes: number;
  /** Spatial size of one node's map, `[height, width]` (`[1, 1]` for dense outputs). */
  spatial: [number, number];
}

/** Heaps and per-class sums of a scan over part of a dataset; everything in it adds up across ranges. */
export interface ScanState {
  layers: ScanLayer[];
  /** Total flat nodes (Σ layers' nodes). */
  nodes: number;
  k: number;
  classes: number;
  heaps: Record<ScoreMetric, ScoreHeaps>;
  /** `classSums[node * classes + c]`: Σ over images of class c of the node's Frobenius score. */
  classSums: Float64Array;
  /** `deadCounts[node]`: images on which the node's map is all zero. */
  deadCounts: Float64Array;
  /** `layerNormSums[layer * classes + c]`: Σ over images of class c of the whole layer's Frobenius norm. */
  layerNormSums: Float64Array;
  /** Images per class seen. */
  classCounts: Float64Array;
  /** Images scanned. */
  images: number;
}

export const METRIC_ORDER: readonly ScoreMetric[] = ['frobenius', 'max', 'mean'];

/** The layers a scan covers: every inspectable layer of the network (`net.layers`). */
export function scanLayers(net: Network): ScanLayer[] {
  const out: ScanLayer[] = [];
  let offset = 0;
  net.layers.forEach((layer, index) => {
    const d = layer.shape;
    const nodes = layer.nodes;
    const mid = d.slice(0, -1);
    const spatial: [number, number] =
      mid.length === 0 ? [1, 1] : mid.length === 1 ? [1, mid[0]] : [mid.slice(0, -1).reduce((a, b) => a * b, 1), mid[mid.length - 1]];
    out.push({ index, name: layer.name, offset, nodes, spatial });
    offset += nodes;
  });
  return out;
}

/**
 * A state with no images yet. `floors` (the `scanFloors` of the state this one will merge into) lets its heaps
 * skip scores that could never enter the merged top k.
 */
export function emptyScanState(layers: ScanLayer[], k: number, classes: number, floors?: Float32Array): ScanState {
  const nodes = layers.reduce((a, l) => a + l.nodes, 0);
  const state = makeEmptyState(layers, nodes, k, classes);
  if (floors) METRIC_ORDER.forEach((m, i) => state.heaps[m].setFloors(floors.subarray(i * nodes, (i + 1) * nodes)));
  return state;
}

/** Each metric's heap thresholds, in METRIC_ORDER: what a chunk scanned elsewhere must reach to matter. */
export function scanFloors(state: ScanState): Float32Array {
  const out = new Float32Array(3 * state.nodes);
  METRIC_ORDER.forEach((m, i) => out.set(state.heaps[m].thresholds, i * state.nodes));
  return out;
}

function makeEmptyState(layers: ScanLayer[], nodes: number, k: number, classes: number): ScanState {
  return {
    layers,
    nodes,
    k,
    classes,
    heaps: { frobenius: new ScoreHeaps(nodes, k), max: new ScoreHeaps(nodes, k), mean: new ScoreHeaps(nodes, k) },
    classSums: new Float64Array(nodes * classes),
    deadCounts: new Float64Array(nodes),
    layerNormSums: new Float64Array(layers.length * classes),
    classCounts: new Float64Array(classes),
    images: 0,
  };
}

export function accumulate(state: ScanState, scores: BatchScores, indices: Int32Array, labels: Int32Array): void {
  const N = state.nodes;
  const C = state.classes;
  const b = indices.length;
  // Metric by metric, so the hot loop touches one score array and one heap.
  for (const metric of METRIC_ORDER) {
    const heaps = state.heaps[metric];
    const s = scores[metric];
    const at = metric === 'max' ? scores.argmax : null;
    const threshold = heaps.thresholds;
    for (let r = 0; r < b; r++) {
      const img = indices[r];
      const row = r * N;
      for (let i = 0; i < N; i++) {
        const v = s[row + i];
        // Fast reject: below a full heap's worst entry (ties go to push, which keeps the lower index).
        if (v < threshold[i]) continue;
        heaps.push(i, v, img, at ? at[row + i] : 0);
      }
    }
  }
  // Dead counts, per-class sums of each node's score and of each layer's norm, in one pass over the rows. The
  // class sums gather in a [class, node] scratch (contiguous writes), added to the [node, class] state after,
  // for the classes the batch holds only.
  const frob = scores.frobenius;
  const dead = state.deadCounts;
  const layers = state.layers;
  const byClass = classScratch(C * N);
  const present = new Set<number>();
  for (let r = 0; r < b; r++) {
    const label = labels[r];
    const row = r * N;
    const inClass = label >= 0 && label < C;
    if (!inClass) {
      // No class to add to (a label outside the class list): only the dead counts.
      for (let i = 0; i < N; i++) if (frob[row + i] === 0) dead[i]++;
      continue;
    }
    const base = label * N;
    present.add(label);
    for (let li = 0; li < layers.length; li++) {
      const from = layers[li].offset;
      const end = from + layers[li].nodes;
      let sq = 0;
      for (let i = from; i < end; i++) {
        const v = frob[row + i];
        // All zero ⇔ the sum of squares is zero.
        if (v === 0) dead[i]++;
        byClass[base + i] += v;
        sq += v * v;
      }
      // The layer's whole Frobenius norm from its nodes': ||A||_F² = Σ_i ||A_i||_F².
      state.layerNormSums[li * C + label] += Math.sqrt(sq);
    }
    state.classCounts[label]++;
  }
  const sums = state.classSums;
  for (const c of present) {
    const base = c * N;
    for (let i = 0; i < N; i++) sums[i * C + c] += byClass[base + i];
    byClass.fill(0, base, base + N);
  }
  state.images += b;
}

let scratch = new Float64Array(0);
/** `n` zeros, reused between batches: whoever writes a row zeroes it again after use. */
function classScratch(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  return scratch.subarray(0, n);
}

/** Adds `other` (a disjoint range of the same model and dataset) into `into`. */
export function mergeScanStates(into: ScanState, other: ScanState): void {
  check(into.nodes === other.nodes && into.k === other.k && into.classes === other.classes, 'Cannot merge scans of different models.');
  for (const m of METRIC_ORDER) into.heaps[m].mergeFrom(other.heaps[m]);
  const add = (a: Float64Array, b: Float64Array) => {
    for (let i = 0; i < a.length; i++) a[i] += b[i];
  };
  add(into.classSums, other.classSums);
  add(into.deadCounts, other.deadCounts);
  add(into.layerNormSums, other.layerNormSums);
  add(into.classCounts, other.classCounts);
  into.images += other.images;
}

/** A batch size that keeps one batch's activations of every layer near `budget` floats. */
export function scanBatchSize(layers: ScanLayer[], budget = 16 * 2 ** 20): number {
  const perImage = layers.reduce((a, l) => a + l.nodes * l.spatial[0] * l.spatial[1], 0);
  return Math.max(1, Math.min(256, Math.floor(budget / Math.max(1, perImage))));
}

/**
 * The shape one image takes as the model's input: the dataset's `[h, w, c]`, or the model's own input
 * shape when it holds as many values (e.g. `[784]` for a dense network on 28×28 images).
 */
export function modelInputShape(model: Network, ds: Dataset): number[] {
  const want: (number | null)[] = model.input.shape;
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  if (want.length === 3 && want.every((d, i) => d == null || d === ds.shape[i])) return [...ds.shape];
  if (want.every((d) => d != null) && (want as number[]).reduce((a, b) => a * b, 1) === per) return want as number[];
  throw new UserError(
    'badInput',
    `The dataset's images are [${ds.shape.join(', ')}] but model ${model.name} expects [${want.map((d) => d ?? '?').join(', ')}].`,
    ds.source,
  );
}

export interface ScanRangeOptions {
  batchSize?: number;
  /** Called after every batch with the position reached (the next image to scan); may await (checkpoints). */
  onBatch?: (next: number, state: ScanState) => Promise<void> | void;
}

/**
 * Scans images `[start, end)` of `ds` into `state` (a fresh or resumed state). Cancellable between batches;
 * `state` then holds everything before the position last passed to `onBatch`.
 */
export async function scanRange(
  model: Network,
  ds: Dataset,
  start: number,
  end: number,
  state: ScanState,
  job: Job,
  opts: ScanRangeOptions = {},
): Promise<ScanState> {
  const multi = multiOutputModel(model, state.layers);
  // Natively where onnxruntime-node loads and the network exports (native/), else on tfjs below.
  const native = state.layers.map((l) => ({ op: model.layers[l.index].op, offset: l.offset, nodes: l.nodes, positions: l.spatial[0] * l.spatial[1] }));
  const buffers = new ScoreBuffers();
  const batchSize = opts.batchSize ?? (nativeRuntime().ok ? nativeScanBatchSize(native) : scanBatchSize(state.layers));
  const inputShape = modelInputShape(model, ds);
  let next = start;
  for await (const batch of ds.batches(batchSize, start, end)) {
    job.throwIfCancelled();
    let scores: BatchScores | null = await nativeBatchScores(model, native, batch.images, batch.count, buffers);
    recordForwardPath('scan', scores ? 'onnxruntime' : 'tfjs');
    if (!scores) {
      const x = tf.tensor(batch.images, [batch.count, ...inputShape]);
      try {
        scores = await batchScores(multi, state.layers, x, (node) => state.heaps.max.threshold(node));
      } finally {
        x.dispose();
      }
    }
    accumulate(state, scores, batch.indices, batch.labels);
    next = batch.indices[batch.count - 1] + 1;
    if (opts.onBatch) await opts.onBatch(next, state);
    job.progress({ fraction: (next - start) / Math.max(1, end - start), message: `${next - start} of ${end - start} images` });
    await yieldToEvents();
  }
  return state;
}
