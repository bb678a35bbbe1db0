import type { FloatArray, NodeInspection, ParamsOf, ProjectionMethod, TopImage } from '../../shared/protocol';
import { isProjectionMethod, PROJECTION_METHODS } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import { check, UserError } from '../runtime/errors';
import { checkLayer, checkNode, layerOutputs } from '../models/layerAccess';
import type { Job } from '../runtime/job';
import { openDataset, readLens } from '../lens/lens';
import type { Network } from '../models/network';
import { loadLensModel } from '../lens/lensModel';
import { projectBatch } from '../methods/projection';
import * as tf from '../runtime/tf';
import { readTopActivations } from '../scan/topActivations';
import { layerWeights } from '../methods/weights';

/**
 * Everything the node page shows, in one request: the node's weights (when its layer has weight images), and,
 * when a top-activation index exists for the lens's model and test split, its top `k` images (default 9),
 * each with the node's feature map and its projection by `method` (default `deconv`). The k images go through
 * one forward pass. A projection the model cannot have (e.g. deconvolution through a merge) leaves
 * `projection` out and says why in `projectionError`; everything else is still returned.
 */
export async function inspectNode(p: ParamsOf<'inspectNode'>, job: Job): Promise<NodeInspection> {
  const method: ProjectionMethod = p.method ?? 'deconv';
  check(isProjectionMethod(method), `Unknown projection method "${String(method)}"; use one of ${PROJECTION_METHODS.join(', ')}.`);
  const k = p.k ?? 9;
  check(Number.isInteger(k) && k >= 1 && k <= 100, `k must be a whole number from 1 to 100 (got ${k}).`);
  const lens = await readLens(p.lens);
  const { network: model, info } = await loadLensModel(lens);
  checkLayer(model, p.layer);
  checkNode(model, p.layer, p.node);
  const weights = info.layers[p.layer].hasWeights ? layerWeights(model, p.layer, p.node) : undefined;
  const result: NodeInspection = { model: info, layer: p.layer, node: p.node, method, ...(weights ? { weights } : {}) };
  const metric = p.metric ?? 'frobenius';
  const top = await readTopActivations(lens.path, p.storageDir, p.layer, p.node, metric);
  if (!top) return result;
  job.throwIfCancelled();
  const ds = await openDataset(lens, 'test');
  const items = await inspectImages(model, ds, p.layer, p.node, top.top.slice(0, k), method);
  return { ...result, top: { metric, items: items.items }, ...(items.projectionError ? { projectionError: items.projectionError } : {}) };
}

/** The top list's images from `ds`, with node `node`'s feature map and projection for each (one forward pass). */
export async function inspectImages(
  model: Network,
  ds: Dataset,
  layer: number,
  node: number,
  entries: TopImage[],
  method: ProjectionMethod,
): Promise<{ items: NonNullable<NodeInspection['top']>['items']; projectionError?: string }> {
  const shape = model.input.shape;
  check(
    shape.length === ds.shape.length && shape.every((d, i) => d === -1 || d === ds.shape[i]),
    `The dataset's images are [${ds.shape.join(', ')}] but model ${model.name} expects [${shape.join(', ')}].`,
    ds.source,
  );
  if (!entries.length) return { items: [] };
  const batch = await ds.gather(entries.map((e) => e.index));
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const x = tf.tensor(batch.images, [entries.length, ...ds.shape]);
  let forward: tf.Tensor[] = [];
  try {
    forward = layerOutputs(model, x, [layer]);
    const maps = nodeMaps(forward[0], node);
    let projections: FloatArray[] | undefined;
    let projectionError: string | undefined;
    try {
      const proj = projectBatch(model, layer, node, x, method, false);
      const data = proj.dataSync() as Float32Array;
      const pshape = proj.shape.slice(1);
      const size = pshape.reduce((a, b) => a * b, 1);
      projections = entries.map((_, i) => ({ shape: pshape, data: data.slice(i * size, (i + 1) * size) }));
      proj.dispose();
    } catch (e) {
      if (!(e instanceof UserError) || e.code !== 'unsupported') throw e;
      projectionError = e.message;
    }
    const items = entries.map((entry, i) => ({
      entry,
      className: ds.classes[batch.labels[i]] ?? String(batch.labels[i]),
      image: { shape: [...ds.shape], data: batch.images.slice(i * per, (i + 1) * per) },
      featureMap: maps[i],
      ...(projections ? { projection: projections[i] } : {}),
    }));
    return { items, ...(projectionError ? { projectionError } : {}) };
  } finally {
    x.dispose();
    tf.dispose(forward);
  }
}

/** Node `node`'s map per image of `out` `[b, ..., nodes]`: `[h, w]` for a `[b, h, w, nodes]` output, else `[1]`-like (the value or flattened values). */
function nodeMaps(out: tf.Tensor, node: number): FloatArray[] {
  const data = out.dataSync() as Float32Array;
  const n = out.shape[out.rank - 1];
  const per = data.length / out.shape[0];
  const mapShape: number[] = out.rank === 4 ? [out.shape[1] as number, out.shape[2] as number] : out.rank === 2 ? [1] : [per / n];
  return Array.from({ length: out.shape[0] }, (_, b) => {
    const m = new Float32Array(per / n);
    for (let p = 0; p < m.length; p++) m[p] = data[b * per + p * n + node];
    return { shape: mapShape, data: m };
  });
}
