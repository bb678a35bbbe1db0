/**
 * Comparing two models (`feature-lens compare A B`, the `compare` request): the cross test of both models on
 * both lens files' test splits (crossTest.ts), and node matching by activation correlation (Li et al. 2016,
 * nodeMatching.ts) between a layer of A and a layer of B, over A's test split, in one streaming pass: each batch
 * runs through both networks and only sums and cross-products are kept, never the feature maps.
 *
 * Samples (`sampling`): when both layers have `[h, w, channels]` outputs of the same height and width, one
 * sample per image and position (as Li et al. do for conv layers): `positions`; otherwise each conv node's
 * spatial mean per image (`spatialMean`), a dense node's value as it is. `sampling: 'spatialMean'` forces means.
 *
 * Default layers: each model's last hidden layer with weights: of its convolution and dense layers, the last
 * but one (the last one computes the output), or the only one.
 */
import type { CompareResult, MatchSampling, NodeMatching } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import { check } from '../runtime/errors';
import { layerOutputs } from '../models/layerAccess';
import { WEIGHT_KINDS } from '../models/describeLayers';
import { yieldToEvents, type Job } from '../runtime/job';
import { openDataset, readLens } from '../lens/lens';
import type { Network } from '../models/network';
import { loadLensModel } from '../lens/lensModel';
import * as tf from '../runtime/tf';
import { crossTest, inputMismatch } from '../methods/crossTest';
import { bestMatches, CorrelationAccumulator, oneToOneMatches } from '../methods/nodeMatching';

export interface CompareOptions {
  /** Layer of A / B: a name or an index (default: `defaultMatchLayer`). */
  layerA?: string | number;
  layerB?: string | number;
  sampling?: MatchSampling;
  batchSize?: number;
}

/** A layer named by name or index; one line naming the model's layers when there is none. */
export function resolveLayer(net: Network, spec: string | number, file: string): number {
  const byName = net.layers.findIndex((l) => l.name === String(spec));
  const index = byName >= 0 ? byName : typeof spec === 'number' || /^\d+$/.test(spec) ? Number(spec) : -1;
  check(
    index >= 0 && index < net.layers.length,
    `No layer "${spec}" in ${net.path}: give a layer name (${net.layers.map((l) => l.name).join(', ')}) or an index from 0 to ${net.layers.length - 1}.`,
    file,
  );
  return index;
}

/** The last hidden layer with weights (see the file comment); the last layer when no layer has weights. */
export function defaultMatchLayer(net: Network): number {
  const weighted = net.layers
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => WEIGHT_KINDS.has(net.ops[l.op].kind))
    .map(({ i }) => i);
  if (weighted.length >= 2) return weighted[weighted.length - 2];
  if (weighted.length === 1) return weighted[0];
  return net.layers.length - 1;
}

/**
 * Node matching between layer `layerA` of `a` and `layerB` of `b` over every image of `ds`, streamed in
 * batches (see the file comment for the samples).
 */
export async function matchNodes(
  a: Network,
  layerA: number,
  b: Network,
  layerB: number,
  ds: Dataset,
  job?: Job,
  opts: { sampling?: MatchSampling; batchSize?: number } = {},
): Promise<NodeMatching> {
  for (const net of [a, b]) {
    const why = inputMismatch(net, ds);
    check(!why, `Node matching runs both models on the same images: ${why}.`, ds.source);
  }
  const la = a.layers[layerA];
  const lb = b.layers[layerB];
  const sameGrid = la.shape.length === 3 && lb.shape.length === 3 && la.shape[0] === lb.shape[0] && la.shape[1] === lb.shape[1];
  const sampling: MatchSampling = opts.sampling ?? (sameGrid ? 'positions' : 'spatialMean');
  check(
    sampling === 'spatialMean' || sameGrid,
    `Samples per position need two layers of the same height and width (${la.name} is [${la.shape.join(', ')}], ${lb.name} is [${lb.shape.join(', ')}]).`,
  );
  const acc = new CorrelationAccumulator(la.nodes, lb.nodes);
  const bs = opts.batchSize ?? 64;
  /** A layer's output as `[samples, nodes]` rows. */
  const rows = (net: Network, layer: number, x: tf.Tensor): Float32Array => {
    const outs = layerOutputs(net, x, [layer]);
    try {
      const y = outs[0];
      if (y.rank === 4 && sampling === 'spatialMean') return tf.tidy(() => tf.mean(y, [1, 2])).dataSync() as Float32Array;
      return y.dataSync() as Float32Array;
    } finally {
      tf.dispose(outs);
    }
  };
  let seen = 0;
  for await (const batch of ds.batches(bs)) {
    job?.throwIfCancelled();
    const x = tf.tensor4d(batch.images, [batch.count, ...ds.shape]);
    let ra: Float32Array;
    let rb: Float32Array;
    try {
      ra = rows(a, layerA, x);
      rb = rows(b, layerB, x);
    } finally {
      x.dispose();
    }
    acc.add(ra, rb, ra.length / la.nodes);
    seen += batch.count;
    job?.progress({ fraction: seen / ds.size, message: `node matching: ${seen} of ${ds.size} images`, count: { done: seen, total: ds.size, unit: 'images' } });
    await yieldToEvents();
  }
  const corr = acc.correlations();
  const na = la.nodes;
  const nb = lb.nodes;
  const transposed = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) for (let j = 0; j < nb; j++) transposed[j * na + i] = corr[i * nb + j];
  const layerInfo = (net: Network, i: number): NodeMatching['layerA'] => ({
    index: i,
    name: net.layers[i].name,
    nodes: net.layers[i].nodes,
    shape: [...net.layers[i].shape],
  });
  return {
    layerA: layerInfo(a, layerA),
    layerB: layerInfo(b, layerB),
    dataset: ds.source,
    images: ds.size,
    samples: acc.samples,
    sampling,
    correlations: Array.from({ length: na }, (_, i) => Array.from(corr.subarray(i * nb, (i + 1) * nb), (v) => (Number.isNaN(v) ? null : v))),
    bestAtoB: bestMatches(corr, na, nb),
    bestBtoA: bestMatches(transposed, nb, na).map((m) => ({ a: m.b, b: m.a, correlation: m.correlation })),
    oneToOne: oneToOneMatches(corr, na, nb),
  };
}

/** The two lens files' models and test splits, each model behind its own lens's preprocess (as its node pages run it). */
async function openPair(lensA: string, lensB: string) {
  const la = await readLens(lensA);
  const lb = await readLens(lensB);
  const ma = await loadLensModel(la);
  const mb = await loadLensModel(lb);
  return { la, lb, ma, mb, dsA: await openDataset(la, 'test'), dsB: await openDataset(lb, 'test') };
}

type Pair = Awaited<ReturnType<typeof openPair>>;

/** Node matching of the pair's layers (`opts`' or the defaults) over A's test split. */
function matchPair(p: Pair, opts: CompareOptions, job?: Job): Promise<NodeMatching> {
  const layerA = opts.layerA !== undefined ? resolveLayer(p.ma.network, opts.layerA, p.la.path) : defaultMatchLayer(p.ma.network);
  const layerB = opts.layerB !== undefined ? resolveLayer(p.mb.network, opts.layerB, p.lb.path) : defaultMatchLayer(p.mb.network);
  return matchNodes(p.ma.network, layerA, p.mb.network, layerB, p.dsA, job, { sampling: opts.sampling, batchSize: opts.batchSize });
}

/** The `matchNodes` request: node matching alone (another pair of layers on the comparison page; no cross test). */
export async function matchLenses(lensA: string, lensB: string, opts: CompareOptions = {}, job?: Job): Promise<NodeMatching> {
  return matchPair(await openPair(lensA, lensB), opts, job);
}

/** `feature-lens compare A B`: the cross test and node matching of the models of two lens files. */
export async function compareLenses(lensA: string, lensB: string, opts: CompareOptions = {}, job?: Job): Promise<CompareResult> {
  const p = await openPair(lensA, lensB);
  const { la, lb, ma, mb } = p;
  const nameA = `${la.name} (${ma.info.name})`;
  const nameB = `${lb.name} (${mb.info.name})`;
  const table = await crossTest(
    [
      { name: nameA, net: ma.network },
      { name: nameB, net: mb.network },
    ],
    [
      { name: la.name, ds: p.dsA },
      { name: lb.name, ds: p.dsB },
    ],
    job,
  );
  const matching = await matchPair(p, opts, job);
  return { a: { lens: la.path, model: ma.info.path, name: nameA }, b: { lens: lb.path, model: mb.info.path, name: nameB }, crossTest: table, matching };
}

/** The result as text for a terminal: the error table, then the matches of A's nodes, best first. */
export function formatCompare(r: CompareResult): string {
  const pct = (e: number | null) => (e === null ? 'n/a' : `${(e * 100).toFixed(2)}%`);
  const t = r.crossTest;
  const w = Math.max(5, ...t.models.map((m) => m.length));
  const lines = [`error   ${''.padEnd(w - 6)}${t.datasets.map((d) => d.name.padStart(Math.max(10, d.name.length + 2))).join('')}`];
  t.models.forEach((m, i) =>
    lines.push(`${m.padEnd(w + 2)}${t.cells[i].map((c, j) => pct(c.error).padStart(Math.max(10, t.datasets[j].name.length + 2))).join('')}`),
  );
  const m = r.matching;
  lines.push('', `node matching ${m.layerA.name} (A) → ${m.layerB.name} (B), ${m.images} images, ${m.samples} samples (${m.sampling}):`);
  const sorted = [...m.bestAtoB].sort((x, y) => (Number.isNaN(y.correlation) ? -2 : y.correlation) - (Number.isNaN(x.correlation) ? -2 : x.correlation));
  for (const p of sorted) lines.push(`  A ${p.a} → B ${p.b}  r = ${Number.isNaN(p.correlation) ? 'n/a (constant node)' : p.correlation.toFixed(4)}`);
  return lines.join('\n');
}
