/**
 * `feature-lens render FILE.lens.json --layer L --node N --out DIR`: the node's figures as PNGs, headless.
 *
 * - `<layer>-<node>-weights.png`: the node's weights (when its layer has weights), one tile per input channel
 *   (or one RGB tile), diverging colour map centred on zero over the layer's ±max|w|, and a legend strip
 *   with the real range (min, 0, max) written under it.
 * - `<layer>-<node>-top.png`: the seed's layout: one column per top image (by `--metric`, Frobenius norm
 *   unless told otherwise, best first);
 *   rows: the input, the node's feature map (viridis, 0 … the largest value over the k maps), and the
 *   projection by `--method` (`deconv`, Zeiler & Fergus with switches, unless told otherwise:
 *   `deconv-noswitch`, `guided`, `saliency`, `gradcam`; diverging, each image scaled to its own ±max; grey
 *   with the reason in the JSON when the method cannot pass an op). Above each column, the image index.
 * - `<layer>-<node>-maximize.png` with `--method maximize`: the activation-maximization image (the top
 *   figure then shows deconvolutions).
 * - `layer-by-class.png`: the class × layer table of mean Frobenius norms (rows classes, columns layers, each
 *   column scaled to its maximum), class indices and model layer indices in the margins.
 * - `<layer>-<node>.json`: the numbers behind the figures (top list, ranges, norms, names).
 * Runs the top-activation scan first if no index exists for the model and dataset.
 */
import * as path from 'node:path';
import type { ProjectionMethod, ScoreMetric, TopImage } from '../../shared/protocol';
import { classTableFigure, imageFigure, topFigure, weightsFigure } from '../png/nodeFigures';
import { check } from '../runtime/errors';
import { writeFilesAtomic } from '../runtime/fsutil';
import { checkNode } from '../models/layerAccess';
import { inspectImages } from '../server/inspectNode';
import type { Job } from '../runtime/job';
import { layerByClassFromState } from '../scan/layerByClass';
import { openDataset, readLens } from '../lens/lens';
import { maximize } from '../methods/maximize';
import { loadLensModel } from '../lens/lensModel';
import { findIndex } from '../scan/indexStore';
import { checkMetric, scanDataset, topFromIndex } from '../scan/topActivations';
import { layerWeights } from '../methods/weights';

export interface NodeIndexOptions {
  lens: string;
  /** Layer name or index. */
  layer: string;
  node: number;
  storageDir: string;
  k: number;
  /** Frobenius norm unless told otherwise. */
  metric?: ScoreMetric;
}

/** `render --method`: the CLI's names of the node page's projections, and activation maximization. */
export const RENDER_METHODS: Record<string, ProjectionMethod | 'maximize'> = {
  deconv: 'deconv',
  'deconv-noswitch': 'deconvNoSwitches',
  guided: 'guided',
  saliency: 'saliency',
  gradcam: 'gradcam',
  maximize: 'maximize',
};

export interface RenderOptions extends NodeIndexOptions {
  out: string;
  /** A key of `RENDER_METHODS` (default `deconv`): the projection row of the top figure, or `maximize`. */
  method?: string;
  /** Steps of activation maximization (its default otherwise). */
  steps?: number;
}

/** The lens, model, layer, node and top-activation index for a node named on the command line (scans when there is no index). */
export async function openNodeIndex(opts: NodeIndexOptions, job: Job) {
  check(Number.isInteger(opts.k) && opts.k >= 1 && opts.k <= 100, `k must be a whole number from 1 to 100, not ${opts.k}.`);
  const metric = opts.metric ?? 'frobenius';
  checkMetric(metric);
  const lens = await readLens(opts.lens);
  const { network: model, info } = await loadLensModel(lens);
  const byName = info.layers.find((l) => l.name === opts.layer);
  const layer = byName ? byName.index : /^\d+$/.test(opts.layer) ? Number(opts.layer) : -1;
  check(
    layer >= 0 && layer < info.layers.length,
    `No layer "${opts.layer}" in ${info.path}: give a layer name (${info.layers.map((l) => l.name).join(', ')}) or an index from 0 to ${info.layers.length - 1}.`,
    lens.path,
  );
  checkNode(model, layer, opts.node);
  const ds = await openDataset(lens, 'test');
  job.progress({ message: 'finding the top-activation index' });
  // An index with fewer than k images per node would cut the list short: scan for k then.
  const found = await findIndex(opts.storageDir, info.weightsHash, ds);
  const stored =
    found && found.header.k >= opts.k
      ? found
      : (await scanDataset(model, info.weightsHash, ds, opts.storageDir, Math.max(opts.k, 9), job, { modelPath: info.path })).stored;
  job.throwIfCancelled();
  const top = topFromIndex(stored, layer, opts.node, metric, ds.labels).top.slice(0, opts.k);
  return { lens, model, info, layer, node: opts.node, metric, ds, stored, top };
}

/** `feature-lens top`: the node's top test images by `metric`, best first, with their class names. */
export async function nodeTop(
  opts: NodeIndexOptions,
  job: Job,
): Promise<{ lens: string; model: string; layer: number; layerName: string; node: number; metric: ScoreMetric; top: (TopImage & { className: string })[] }> {
  const { lens, info, layer, node, metric, ds, top } = await openNodeIndex(opts, job);
  return {
    lens: lens.path,
    model: info.path,
    layer,
    layerName: info.layers[layer].name,
    node,
    metric,
    top: top.map((t) => ({ ...t, className: ds.classes[t.label] ?? String(t.label) })),
  };
}

/** Writes the node's figures as PNGs into `out`; returns the files written. */
export async function renderNode(opts: RenderOptions, job: Job): Promise<{ files: string[]; projectionError?: string }> {
  const methodName = opts.method ?? 'deconv';
  const method = RENDER_METHODS[methodName];
  check(method !== undefined, `--method must be one of ${Object.keys(RENDER_METHODS).join(', ')}, not "${methodName}".`);
  const { lens, model, info, layer, node, metric, ds, stored, top } = await openNodeIndex(opts, job);
  const layerInfo = info.layers[layer];
  const stem = `${layerInfo.name.replace(/[^\w.-]+/g, '_')}-${node}`;
  const files: { path: string; data: Uint8Array | string }[] = [];
  const summary: Record<string, unknown> = { lens: lens.path, model: info.path, layer, layerName: layerInfo.name, node, metric, classes: ds.classes };

  if (layerInfo.hasWeights) {
    try {
      const w = layerWeights(model, layer, node);
      files.push({ path: path.join(opts.out, `${stem}-weights.png`), data: weightsFigure(w.tiles[0], w.rgb, w.min, w.max) });
      summary.weights = { min: w.min, max: w.max, tiles: w.tiles[0].map((t) => t.shape), bias: w.bias ? w.bias[0] : undefined };
    } catch (e) {
      summary.weightsError = (e as Error).message;
    }
  }

  job.progress({ message: `feature maps and ${method === 'maximize' ? 'deconvolutions' : methodName}` });
  const { items, projectionError } = await inspectImages(model, ds, layer, node, top, method === 'maximize' ? 'deconv' : method);
  files.push({
    path: path.join(opts.out, `${stem}-top.png`),
    data: topFigure(items.map((i) => ({ index: i.entry.index, image: i.image, map: i.featureMap, projection: i.projection }))),
  });
  summary.method = methodName;
  summary.top = top.map((t, i) => ({ ...t, className: items[i]?.className }));
  if (projectionError) summary.projectionError = projectionError;
  if (method === 'maximize') {
    job.progress({ message: 'activation maximization' });
    const m = await maximize(model, layer, node, opts.steps !== undefined ? { steps: opts.steps } : {}, job);
    files.push({ path: path.join(opts.out, `${stem}-maximize.png`), data: imageFigure(m.image) });
    summary.maximize = { first: m.curve[0], last: m.curve[m.curve.length - 1], steps: m.curve.length };
  }

  const table = layerByClassFromState(
    stored.state,
    ds.classes,
    stored.header.layers.map((l) => model.layers[l.index]?.name ?? l.name),
  );
  files.push({ path: path.join(opts.out, 'layer-by-class.png'), data: classTableFigure(table.norms, table.layers) });
  summary.layerByClass = { layers: table.layers, layerNames: table.layerNames, norms: table.norms };
  files.push({ path: path.join(opts.out, `${stem}.json`), data: JSON.stringify(summary, null, 1) });
  await writeFilesAtomic(files);
  return { files: files.map((f) => f.path), ...(projectionError ? { projectionError } : {}) };
}
