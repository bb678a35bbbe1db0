/**
 * Time-lapse of a node (`feature-lens timelapse`, the `timelapse` request): the node at every checkpoint of a
 * lens's series (methods/checkpoints.ts): its weights, its top-k test images (each checkpoint's top-activation
 * index is computed on demand and kept like the model's own index, keyed by that checkpoint's weights, so a
 * second run reuses it), its score at each epoch (the best and the mean of the top-k scores by `metric`) and the
 * overlap of consecutive top-k lists (|A ∩ B| / k, the images both lists hold).
 *
 * The layer is named as in the lens's model (a name, or an index into the checkpoint's layers); every checkpoint
 * must have it with the same number of nodes.
 */
import * as path from 'node:path';
import type { ProjectionMethod, ScoreMetric, TimelapseFrame, TimelapseResult } from '../../shared/protocol';
import { check, UserError } from '../runtime/errors';
import { writeFilesAtomic } from '../runtime/fsutil';
import { checkNode } from '../models/layerAccess';
import { inspectImages } from './inspectNode';
import type { Job } from '../runtime/job';
import { openDataset, readLens } from '../lens/lens';
import { unloadModels } from '../models/modelIO';
import { forgetLensModels, loadLensModel } from '../lens/lensModel';
import { topFigure, weightsFigure } from '../png/nodeFigures';
import { checkMetric, scanDataset, topFromIndex } from '../scan/topActivations';
import { layerWeights } from '../methods/weights';
import { checkpointSeries } from '../training/checkpoints';
import { resolveLayer } from './compare';

export interface TimelapseOptions {
  lens: string;
  layer: string;
  node: number;
  storageDir: string;
  k: number;
  metric?: ScoreMetric;
  /** Only the checkpoint at this position of the series (the node page computes one frame at a time). */
  checkpoint?: number;
  /** With it, each frame carries its top images with the node's feature maps and projections by this method. */
  method?: ProjectionMethod;
}

/** A lens's checkpoint series as the node page lists it (empty when the lens has none). */
export async function listCheckpoints(lensFile: string): Promise<{ epoch: number; model: string }[]> {
  const lens = await readLens(lensFile);
  if (typeof lens.checkpoints !== 'string' && !lens.training) return [];
  try {
    return (await checkpointSeries(lens)).map((c) => ({ epoch: c.epoch, model: c.model }));
  } catch (e) {
    if (e instanceof UserError && e.code === 'notFound') return [];
    throw e;
  }
}

/** The node at every checkpoint (see the file comment). */
export async function timelapse(opts: TimelapseOptions, job: Job): Promise<TimelapseResult> {
  check(Number.isInteger(opts.k) && opts.k >= 1 && opts.k <= 100, `k must be a whole number from 1 to 100, not ${opts.k}.`);
  const metric = opts.metric ?? 'frobenius';
  checkMetric(metric);
  const lens = await readLens(opts.lens);
  const series = await checkpointSeries(lens);
  const ds = await openDataset(lens, 'test');
  const frames: TimelapseFrame[] = [];
  let layerName = opts.layer;
  let nodes = -1;
  const only = opts.checkpoint;
  check(
    only === undefined || (Number.isInteger(only) && only >= 0 && only < series.length),
    `checkpoint ${only} is not one of the series' ${series.length}.`,
    lens.path,
  );
  for (const [i, c] of series.entries()) {
    if (only !== undefined && i !== only) continue;
    job.throwIfCancelled();
    const what = `checkpoint ${i + 1} of ${series.length} (epoch ${c.epoch})`;
    const share = only === undefined ? series.length : 1;
    const at = only === undefined ? i : 0;
    job.progress({ fraction: at / share, message: what });
    // Behind the lens's preprocess, as training fed it and the node page runs it.
    const { network, info } = await loadLensModel({ ...lens, model: c.model });
    try {
      const layer = resolveLayer(network, opts.layer, lens.path);
      layerName = network.layers[layer].name;
      if (nodes < 0) nodes = network.layers[layer].nodes;
      check(
        network.layers[layer].nodes === nodes,
        `Checkpoint ${c.model} has ${network.layers[layer].nodes} nodes in ${layerName}, the first one ${nodes}: a checkpoint series is of one architecture.`,
        lens.path,
      );
      checkNode(network, layer, opts.node);
      // The scan's progress (counted images: throughput and time left) under this checkpoint's name.
      const scanJob: Job = {
        get cancelled() {
          return job.cancelled;
        },
        throwIfCancelled: () => job.throwIfCancelled(),
        progress: (p) => job.progress({ ...p, fraction: (at + (p.fraction ?? 0)) / share, message: `${what}: ${p.message ?? 'scanning the test split'}` }),
      };
      const { stored } = await scanDataset(network, info.weightsHash, ds, opts.storageDir, Math.max(opts.k, 9), scanJob, { modelPath: info.path });
      const top = topFromIndex(stored, layer, opts.node, metric, ds.labels).top.slice(0, opts.k);
      const prev = frames[frames.length - 1];
      const prevSet = prev && new Set(prev.top.map((t) => t.index));
      frames.push({
        epoch: c.epoch,
        model: info.path,
        weightsHash: info.weightsHash,
        layer,
        ...(info.layers[layer].hasWeights ? { weights: layerWeights(network, layer, opts.node) } : {}),
        top,
        topScore: top[0]?.score ?? NaN,
        meanTopScore: top.reduce((a, t) => a + t.score, 0) / Math.max(1, top.length),
        ...(prevSet ? { overlapWithPrevious: top.filter((t) => prevSet.has(t.index)).length / opts.k } : {}),
        ...(opts.method ? await inspectImages(network, ds, layer, opts.node, top, opts.method) : {}),
      });
    } finally {
      if (path.resolve(c.model) !== path.resolve(lens.model)) forget(c.model); // a long series is not kept in memory
    }
  }
  return { lens: lens.path, layerName, node: opts.node, metric, k: opts.k, frames };
}

/**
 * `feature-lens timelapse --out DIR`: per checkpoint `<layer>-<node>-epoch-<n>-weights.png` (when the layer has
 * weights) and `<layer>-<node>-epoch-<n>-top.png` (the top images, feature maps and deconvolutions, as `render`
 * draws them), and `<layer>-<node>-timelapse.json` (the frames without their weight arrays). Returns the files.
 */
export async function writeTimelapse(opts: TimelapseOptions & { out: string }, job: Job): Promise<{ result: TimelapseResult; files: string[] }> {
  const result = await timelapse(opts, job);
  const lens = await readLens(opts.lens);
  const ds = await openDataset(lens, 'test');
  const stem = `${result.layerName.replace(/[^\w.-]+/g, '_')}-${result.node}`;
  const files: { path: string; data: Uint8Array | string }[] = [];
  for (const f of result.frames) {
    job.throwIfCancelled();
    if (f.weights)
      files.push({
        path: path.join(opts.out, `${stem}-epoch-${f.epoch}-weights.png`),
        data: weightsFigure(f.weights.tiles[0], f.weights.rgb, f.weights.min, f.weights.max),
      });
    if (f.top.length) {
      const { network } = await loadLensModel({ ...lens, model: f.model });
      try {
        const { items } = await inspectImages(network, ds, f.layer, result.node, f.top, 'deconv');
        files.push({
          path: path.join(opts.out, `${stem}-epoch-${f.epoch}-top.png`),
          data: topFigure(items.map((i) => ({ index: i.entry.index, image: i.image, map: i.featureMap, projection: i.projection }))),
        });
      } finally {
        if (path.resolve(f.model) !== path.resolve(lens.model)) forget(f.model);
      }
    }
  }
  const summary = {
    ...result,
    frames: result.frames.map(({ weights, ...rest }) => ({ ...rest, ...(weights ? { weightsRange: [weights.min, weights.max] } : {}) })),
  };
  files.push({ path: path.join(opts.out, `${stem}-timelapse.json`), data: JSON.stringify(summary, null, 1) });
  await writeFilesAtomic(files);
  return { result, files: files.map((f) => f.path) };
}

/** A checkpoint's model no longer kept: its prefixed network (a lens with `preprocess`) and the loaded file. */
function forget(model: string): void {
  forgetLensModels(model);
  unloadModels(model);
}
