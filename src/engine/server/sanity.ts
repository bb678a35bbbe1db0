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
import type { ProjectionMethod, SanityResult, SanityStep } from '../../shared/protocol';
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

/** `feature-lens sanity`: the similarities per method and per cascade step (see the file comment). */
export async function sanityCheck(opts: NodeIndexOptions & { methods?: ProjectionMethod[] }, job: Job): Promise<SanityResult> {
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
  const batch = await ds.gather(top.map((t) => t.index));
  const x = tf.tensor4d(batch.images, [top.length, ...ds.shape]);
  const fresh = new Map<number, { kernel: tf.Tensor; bias?: tf.Tensor }>();
  const methods: SanityResult['methods'] = [];
  try {
    for (const i of chain) fresh.set(i, randomizedWeights(model.ops[i], i, configOf(model.ops[i].name)));
    const project = (net: Network, method: ProjectionMethod) => {
      const p = projectBatch(net, layer, node, x, method, false);
      try {
        return absMaps(p.dataSync() as Float32Array, p.shape);
      } finally {
        p.dispose();
      }
    };
    const list = opts.methods ?? SANITY_METHODS;
    for (const [mi, method] of list.entries()) {
      let trained: Float64Array[];
      try {
        trained = project(model, method);
      } catch (e) {
        if (!(e instanceof UserError) || e.code !== 'unsupported') throw e;
        methods.push({ method, steps: [], error: e.message });
        continue;
      }
      const [h, w] = ds.shape;
      const steps: SanityStep[] = [];
      for (let s = 0; s < chain.length; s++) {
        job.throwIfCancelled();
        job.progress({
          fraction: (mi * chain.length + s) / (list.length * chain.length),
          message: `${method}: randomized down to ${model.ops[chain[s]].name}`,
        });
        const net = withWeights(model, new Map(chain.slice(0, s + 1).map((i) => [i, fresh.get(i)!])));
        const random = project(net, method);
        const sp = trained.map((t, k) => spearman(t, random[k]));
        const ss = trained.map((t, k) => ssim(t, random[k], [h, w, 1]));
        const mean = (v: number[]) => {
          const ok = v.filter((x) => !Number.isNaN(x));
          return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
        };
        steps.push({
          randomized: chain.slice(0, s + 1).map((i) => model.ops[i].name),
          spearmanAbs: mean(sp),
          ssim: mean(ss),
          perImage: { spearmanAbs: sp.map(ofNaN), ssim: ss.map(ofNaN) },
        });
      }
      methods.push({ method, steps });
    }
  } finally {
    x.dispose();
    for (const t of fresh.values()) tf.dispose([t.kernel, ...(t.bias ? [t.bias] : [])]);
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
