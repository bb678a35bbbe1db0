/**
 * The sanity check of projections (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018), cascading
 * randomization: the node's projections of its top images are computed again with the weights of the layers it
 * depends on re-initialized, from the top down: step 1 randomizes the highest layer with weights at or below the
 * node's layer (layers above it cannot change its projection), step 2 that one and the next lower one, and so on
 * down to the first layer. A projection that stays alike the trained one does not depend on what was learned.
 *
 * - Randomized layers: the ops with a kernel (convolutions and dense layers); their kernel and bias are drawn
 *   from the layer's own initializer (a TF.js Layers model's `kernelInitializer` / `biasInitializer`; Glorot
 *   uniform and zeros, Keras' defaults, for other formats) with the fixed seed `SANITY_SEED + op index`, so a layer
 *   gets the same random weights at every step and in every run. The model's own weights are never changed: the
 *   steps run on a copy of the network that shares every other weight.
 * - Similarity of a randomized projection to the trained one, per image, then averaged over the top images:
 *   both maps are first reduced to `[h, w]` by the sum of absolute values over channels (Adebayo et al. compare
 *   absolute-value maps); `spearmanAbs` is Spearman's rank correlation of those, `ssim` their SSIM as
 *   scikit-image computes it (similarity.ts). NaN (null in JSON) when a map is constant (e.g. all zeros).
 */
import { PREPROCESS_SOURCE } from '../models/preprocess';
import type { ProjectionMethod, SanityMaps, SanityResult, SanityStep } from '../../shared/protocol';
import { UserError } from '../runtime/errors';
import type { Job } from '../runtime/job';
import type { Network, Op } from '../models/network';
import { loadModel } from '../models/modelIO';
import { projectBatch } from '../methods/projection';
import { openNodeIndex, type NodeIndexOptions } from '../cli/figures';
import * as tf from '../runtime/tf';
import { spearman, ssim } from '../methods/similarity';

/** The seed of the randomized weights: op `i` is re-initialized with seed `SANITY_SEED + i`. */
export const SANITY_SEED = 2018;
/** The projections checked (the node page's, without the no-switches deconvolution variant). */
export const SANITY_METHODS: ProjectionMethod[] = ['deconv', 'guided', 'saliency', 'gradcam'];

const ofNaN = (v: number) => (Number.isNaN(v) ? null : v);

/** `[b, h, w, c]` projection data to b maps `[h * w]` of Σ_c |value|. */
export function absMaps(data: Float32Array, shape: number[]): Float64Array[] {
  const [b, h, w, c] = shape;
  return Array.from({ length: b }, (_, i) => {
    const m = new Float64Array(h * w);
    for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) m[p] += Math.abs(data[(i * h * w + p) * c + ch]);
    return m;
  });
}

/** A tfjs initializer from a Layers config (`{className, config}`) with our seed; undefined when unknown. */
function initializerOf(spec: unknown, seed: number): { apply(shape: number[]): tf.Tensor } | undefined {
  const s = spec as { className?: string; config?: Record<string, unknown> } | undefined;
  const cfg = { ...(s?.config ?? {}), seed } as never;
  const f = tf.initializers;
  switch (s?.className) {
    case 'GlorotUniform':
      return f.glorotUniform(cfg);
    case 'GlorotNormal':
      return f.glorotNormal(cfg);
    case 'HeUniform':
      return f.heUniform(cfg);
    case 'HeNormal':
      return f.heNormal(cfg);
    case 'LeCunUniform':
      return f.leCunUniform(cfg);
    case 'LeCunNormal':
      return f.leCunNormal(cfg);
    case 'VarianceScaling':
      return f.varianceScaling(cfg);
    case 'RandomUniform':
      return f.randomUniform(cfg);
    case 'RandomNormal':
      return f.randomNormal(cfg);
    case 'TruncatedNormal':
      return f.truncatedNormal(cfg);
    case 'Zeros':
      return f.zeros();
    case 'Ones':
      return f.ones();
    case 'Constant':
      return f.constant(s.config as never);
    default:
      return undefined;
  }
}

/** Fresh kernel and bias for op `i` (see the file comment); the caller disposes them. */
export function randomizedWeights(op: Op, i: number, layerConfig?: Record<string, unknown>): { kernel: tf.Tensor; bias?: tf.Tensor } {
  const w = op.weights as { kernel: tf.Tensor; bias?: tf.Tensor };
  const kernelInit =
    initializerOf(layerConfig?.kernelInitializer ?? layerConfig?.depthwiseInitializer, SANITY_SEED + i) ??
    tf.initializers.glorotUniform({ seed: SANITY_SEED + i });
  const biasInit = initializerOf(layerConfig?.biasInitializer, SANITY_SEED + i) ?? tf.initializers.zeros();
  return { kernel: kernelInit.apply(w.kernel.shape), ...(w.bias ? { bias: biasInit.apply(w.bias.shape) } : {}) };
}

/** The ops with a kernel that node outputs of op `top` depend on, highest first (the cascade's order). */
export function cascadeOps(net: Network, top: number): number[] {
  const out: number[] = [];
  // The lens's input preprocessing (a 1×1 conv in front) is not a layer of the model: never randomized.
  for (let i = top; i >= 0; i--) if ((net.ops[i].weights as { kernel?: tf.Tensor }).kernel && net.ops[i].source !== PREPROCESS_SOURCE) out.push(i);
  return out;
}

/** `net` with the weights of `ops` replaced by `weights` (everything else shared; the original is untouched). */
function withWeights(net: Network, replaced: Map<number, { kernel: tf.Tensor; bias?: tf.Tensor }>): Network {
  const ops = net.ops.map((op, i) => (replaced.has(i) ? ({ ...op, weights: { ...op.weights, ...replaced.get(i) } } as Op) : op));
  return { ...net, ops, dispose: () => {} };
}

/** The mean of the defined values (null when none is). */
function meanOf(v: number[]): number | null {
  const ok = v.filter((x) => !Number.isNaN(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
}

/** What every method's cascade shares: the model, the node, its top images and the randomized weights. */
interface Cascade {
  model: Network;
  layer: number;
  node: number;
  x: tf.Tensor4D;
  /** Image shape `[h, w, c]`. */
  shape: number[];
  chain: number[];
  fresh: Map<number, { kernel: tf.Tensor; bias?: tf.Tensor }>;
}

/** The node's projections by `method` with the top `s` layers of the cascade randomized (signed, `[b, h, w, c]`). */
export function cascadeProjection(c: Cascade, method: ProjectionMethod, s: number): { data: Float32Array; shape: number[] } {
  const net = s ? withWeights(c.model, new Map(c.chain.slice(0, s).map((i) => [i, c.fresh.get(i)!]))) : c.model;
  const p = projectBatch(net, c.layer, c.node, c.x, method, false);
  try {
    return { data: p.dataSync() as Float32Array, shape: p.shape };
  } finally {
    p.dispose();
  }
}

/** One method's steps `1..last` (and the maps of step `mapsAt`, if asked); progress `at(s)` per step. */
function checkMethod(
  c: Cascade,
  method: ProjectionMethod,
  last: number,
  mapsAt: number | undefined,
  job: Job,
  at: (s: number) => number,
): SanityResult['methods'][number] {
  let trained: { data: Float32Array; shape: number[] };
  try {
    trained = cascadeProjection(c, method, 0);
  } catch (e) {
    if (!(e instanceof UserError) || e.code !== 'unsupported') throw e;
    return { method, steps: [], error: e.message };
  }
  const trainedAbs = absMaps(trained.data, trained.shape);
  const [h, w] = c.shape;
  const steps: SanityStep[] = [];
  let maps: SanityMaps | undefined;
  if (mapsAt === 0) maps = { step: 0, cascade: [], shape: trained.shape, trained: trained.data, randomized: trained.data.slice() };
  for (let s = 1; s <= last; s++) {
    job.throwIfCancelled();
    job.progress({ fraction: at(s - 1), message: `${method}: randomized down to ${c.model.ops[c.chain[s - 1]].name}` });
    const random = cascadeProjection(c, method, s);
    const randomAbs = absMaps(random.data, random.shape);
    const sp = trainedAbs.map((t, k) => spearman(t, randomAbs[k]));
    const ss = trainedAbs.map((t, k) => ssim(t, randomAbs[k], [h, w, 1]));
    steps.push({
      randomized: c.chain.slice(0, s).map((i) => c.model.ops[i].name),
      spearmanAbs: meanOf(sp),
      ssim: meanOf(ss),
      perImage: { spearmanAbs: sp.map(ofNaN), ssim: ss.map(ofNaN) },
    });
    if (s === mapsAt) maps = { step: s, cascade: [], shape: trained.shape, trained: trained.data, randomized: random.data };
  }
  if (maps) maps.cascade = c.chain.map((i) => c.model.ops[i].name);
  return { method, steps, ...(maps ? { maps } : {}) };
}

/**
 * `feature-lens sanity`: the similarities per method and per cascade step (see the file comment). With `maps`,
 * steps `1..maps.step` only (default all), and each method's projections at that step (`SanityMaps`).
 */
export async function sanityCheck(opts: NodeIndexOptions & { methods?: ProjectionMethod[]; maps?: { step?: number } }, job: Job): Promise<SanityResult> {
  const { lens, model, info, layer, node, metric, ds, top } = await openNodeIndex(opts, job);
  if (!top.length) throw new UserError('badInput', `${info.layers[layer].name} node ${node} has no top images to project.`, lens.path);
  const { layersModel } = await loadModel(lens.model);
  const configOf = (name: string): Record<string, unknown> | undefined => {
    try {
      return layersModel?.getLayer(name).getConfig() as Record<string, unknown> | undefined;
    } catch {
      return undefined;
    }
  };
  const chain = cascadeOps(model, model.layers[layer].op);
  const mapsAt = opts.maps ? Math.max(0, Math.min(chain.length, Math.floor(opts.maps.step ?? chain.length))) : undefined;
  const last = mapsAt ?? chain.length;
  const batch = await ds.gather(top.map((t) => t.index));
  const c: Cascade = { model, layer, node, x: tf.tensor4d(batch.images, [top.length, ...ds.shape]), shape: ds.shape, chain, fresh: new Map() };
  const methods: SanityResult['methods'] = [];
  try {
    for (const i of chain.slice(0, last)) c.fresh.set(i, randomizedWeights(model.ops[i], i, configOf(model.ops[i].name)));
    const list = opts.methods ?? SANITY_METHODS;
    for (const [mi, method] of list.entries())
      methods.push(checkMethod(c, method, last, mapsAt, job, (s) => (mi * last + s) / (list.length * Math.max(1, last))));
  } finally {
    c.x.dispose();
    for (const t of c.fresh.values()) tf.dispose([t.kernel, ...(t.bias ? [t.bias] : [])]);
  }
  return {
    lens: lens.path,
    model: info.path,
    layer,
    layerName: info.layers[layer].name,
    node,
    metric,
    images: top.map((t) => t.index),
    seed: SANITY_SEED,
    methods,
  };
}

/** The result as a table: one line per method and step. */
export function formatSanity(r: SanityResult): string {
  const f = (v: number | null) => (v === null ? '  n/a' : v.toFixed(3).padStart(6));
  const lines = [
    `${r.layerName} node ${r.node}, ${r.images.length} top images; similarity to the trained projection (|map| summed over channels): Spearman, SSIM`,
  ];
  for (const m of r.methods) {
    if (m.error) {
      lines.push(`${m.method}: ${m.error}`);
      continue;
    }
    for (const s of m.steps)
      lines.push(`${m.method.padEnd(9)} randomized down to ${s.randomized[s.randomized.length - 1].padEnd(12)} ${f(s.spearmanAbs)} ${f(s.ssim)}`);
  }
  return lines.join('\n');
}
