import { UserError } from '../runtime/errors';
import { checkLayer, checkNode } from '../models/layerAccess';
import { explicitPads, forward, resizeAdjoint } from '../models/forward';
import type { Activation, Network, Op, OpKind, OpSpec } from '../models/network';
import * as tf from '../runtime/tf';

/** How a deconvolution unpools max-pooling layers. */
export interface DeconvOptions {
  /** true: put the signal where the forward pass found each window's maximum (Zeiler & Fergus, exact);
   *  false: copy it to the whole pooling window (the seed's variant without switches). */
  switches: boolean;
  /** Keep only the largest value of the node's map instead of the whole map. */
  maxOnly: boolean;
}

/**
 * Deconvolutional projection (Zeiler & Fergus 2013; docs/architecture.md), on any network. Keeps only node `node`'s map
 * of layer `layer` (after its activation; with `maxOnly`, only its largest value, the first in row-major
 * order), zeroes every other node, and walks the ops back to pixel space in reverse topological order. Each op
 * turns the signal at its output into a signal for each of its inputs; where branches meet (an op output
 * read by several ops) their signals add up. The rules, one per op kind (`BACKWARD` below):
 * - ReLU, clip from 0 (ReLU6), leaky ReLU and PReLU, as an op or an op's fused activation: ReLU applied to the
 *   backward signal (not gated by the forward activation). Other activations (sigmoid, softmax, ...) pass it
 *   through unchanged.
 * - Convolution: convolution with the transposed filters; depthwise and grouped convolutions transposed per
 *   group; transposed convolution: the forward convolution. Dense: multiplication by Wᵀ. Biases are ignored.
 * - Batch normalization: scaled per channel by gamma / sqrt(variance + epsilon) (the shift is ignored).
 * - Max pooling: unpooled with the switches recorded in the forward pass (each window's first maximum), or
 *   without them, the value copied to every position of its window; overlapping windows add up. Global max
 *   pooling likewise over the whole map.
 * - Average pooling, global average pooling, mean and sum reductions: the signal spread evenly over the
 *   window (over the positions the forward pass averaged).
 * - Padding: the signal cropped back to the unpadded size.
 * - Residual add (and sub): the signal goes back into every branch (negated into a subtrahend).
 * - Mul / div by a constant: scaled by the constant. Concat: split per input.
 * - Flatten, reshape, transpose: their inverse; resize: its adjoint (each input pixel gets the output
 *   pixels it contributed to, by the same interpolation weights);
 *   identity (dropout, noise): unchanged.
 * No rule: matMul and mul/div/max/min of two computed values (gates, attention): the projection refuses with
 * the op's name and why; the other methods still run.
 *
 * The linear parts are transposed as the vector-Jacobian product of the op's own forward rule without bias
 * and activation (`tf.grad`), which is exact for a linear map. `images` is `[b, h, w, c]` float32; returns
 * the projections `[b, h, w, c]` (the caller disposes them).
 */
export function deconvolve(net: Network, layer: number, node: number, images: tf.Tensor, opts: DeconvOptions): tf.Tensor {
  checkLayer(net, layer);
  checkNode(net, layer, node);
  const target = net.layers[layer].op;
  const index = new Map(net.ops.map((o, i) => [o.name, i]));
  const needed = ancestors(net, target, index);
  for (const i of needed) refusal(net.ops[i], net.ops[i].inputs.filter((n) => !net.constants.has(n)).length);
  return tf.tidy(() => {
    const outputs = forward(net, images, { until: target, fused: true }); // only read: fused kernels are fine
    const valueOf = (name: string) => (name === net.input.name ? images : index.has(name) ? outputs[index.get(name)!] : net.constants.get(name)!);
    const signals = new Map<string, tf.Tensor>();
    const add = (name: string, s: tf.Tensor) => {
      const had = signals.get(name);
      signals.set(name, had ? tf.add(had, s) : s);
    };
    add(net.ops[target].name, keepNode(outputs[target], node, opts.maxOnly));
    for (let i = target; i >= 0; i--) {
      const op = net.ops[i];
      const s = signals.get(op.name);
      if (!s) continue;
      signals.delete(op.name);
      const inputs = op.inputs.map(valueOf);
      const back = (BACKWARD[op.kind] as Backward<OpKind>).rule(op as never, rectified(op, s), inputs, outputs[i], opts.switches);
      op.inputs.forEach((name, k) => {
        if (back[k] && (name === net.input.name || index.has(name))) add(name, back[k]!);
      });
    }
    return signals.get(net.input.name) ?? tf.zerosLike(images);
  });
}

/** The ops `target` depends on (itself included), by index. */
function ancestors(net: Network, target: number, index: Map<string, number>): number[] {
  const seen = new Set<number>([target]);
  const stack = [target];
  while (stack.length) {
    for (const name of net.ops[stack.pop()!].inputs) {
      const i = index.get(name);
      if (i !== undefined && !seen.has(i)) (seen.add(i), stack.push(i));
    }
  }
  return [...seen].sort((a, b) => b - a);
}

/** Throws `unsupported` naming the op and why when the deconvnet has no rule for it. */
function refusal(op: Op, computed: number): void {
  const why = (BACKWARD[op.kind] as Backward<OpKind>).refuse?.(op as never, computed);
  if (why) throw new UserError('unsupported', `Deconvolution cannot pass through ${op.source} ${op.name}: ${why}.`);
}

const RECTIFIED = new Set<Activation['fn']>(['relu', 'clip', 'leakyRelu']);

/** The signal at an op's output after its (fused or own) activation's rule. */
function rectified(op: Op, s: tf.Tensor): tf.Tensor {
  const a = 'activation' in op ? op.activation : undefined;
  if (op.kind === 'prelu' || (a && RECTIFIED.has(a.fn) && (a.fn !== 'clip' || a.min >= 0))) return tf.relu(s);
  return s;
}

type SpecOf<S, K> = S extends { kind: infer L } ? (K extends L ? Omit<S, 'kind'> & { kind: K } : never) : never;
type OpOf<K extends OpKind> = SpecOf<OpSpec, K> & Op;
/** A backward rule: the (already rectified) signal at the op's output → a signal per input (undefined: none). */
interface Backward<K extends OpKind> {
  rule: (op: OpOf<K>, s: tf.Tensor, inputs: tf.Tensor[], output: tf.Tensor, switches: boolean) => (tf.Tensor | undefined)[];
  /** Why the rule cannot handle this op with `computed` inputs that are not constants (undefined: it can). */
  refuse?: (op: OpOf<K>, computed: number) => string | undefined;
}

/** The transpose of a linear map `f` of input `k` (others fixed), applied to `s`: the vector-Jacobian product. */
function transpose(f: (xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], k: number, s: tf.Tensor): tf.Tensor {
  return tf.grad((x: tf.Tensor) => f(inputs.map((v, i) => (i === k ? x : v))))(inputs[k], s);
}

/** The op's forward rule without bias and activation, as a function of its inputs (a linear map of input 0 for convs and dense). */
function linearPart(op: Op): (xs: tf.Tensor[]) => tf.Tensor {
  const w = op.weights as Record<string, tf.Tensor | undefined>;
  const names = op.inputs.map((_, i) => `in${i}`);
  const bare = { ...op, activation: undefined, weights: { ...w, bias: undefined }, inputs: names } as Op;
  return (xs) => {
    // a one-op network; its further inputs are passed as constants
    const net: Network = {
      name: op.name,
      format: 'tfjs-layers',
      path: '',
      input: { name: names[0], shape: op.shape },
      ops: [bare],
      constants: new Map(names.slice(1).map((n, i) => [n, xs[i + 1]])),
      output: op.name,
      layers: [],
      dispose() {},
    };
    return forward(net, xs[0])[0];
  };
}

/** The VJP rule for every input of a linear op (signals into constants are dropped by the walk). */
const linear = <K extends OpKind>(): Backward<K> => ({
  rule: (op, s, inputs) => {
    const f = linearPart(op);
    return inputs.map((_, k) => transpose(f, inputs, k, s));
  },
});

const computedPair = (computed: number, what: string) => (computed > 1 ? `it ${what} two computed values, which has no deconvolution rule` : undefined);

/** One backward rule per op kind. */
const BACKWARD: { [K in OpKind]: Backward<K> } = {
  conv2d: {
    // an ungrouped conv's transpose directly (the VJP would run the forward conv again first)
    rule: (op, s, inputs) =>
      op.groups === 1
        ? [tf.conv2dTranspose(s as tf.Tensor4D, op.weights.kernel, inputs[0].shape as [number, number, number, number], op.strides, explicitPads(op.pads))]
        : linear<'conv2d'>().rule(op, s, inputs, s, false),
    refuse: (op) => (op.dilations.some((d) => d !== 1) ? 'it is dilated (tfjs has no transposed dilated convolution)' : undefined),
  },
  depthwiseConv2d: {
    ...linear<'depthwiseConv2d'>(),
    refuse: (op) => (op.dilations.some((d) => d !== 1) ? 'it is dilated (tfjs has no transposed dilated convolution)' : undefined),
  },
  convTranspose2d: linear<'convTranspose2d'>(),
  dense: {
    rule: (op, s, [x]) => {
      const k = op.weights.kernel;
      const flat = (s.rank === 2 ? s : tf.reshape(s, [-1, k.shape[1]])) as tf.Tensor2D;
      // Wᵀ materialised: wasm's matMul with transposeB leaves XNNPACK for a naive loop
      return [tf.reshape(tf.matMul(flat, tf.transpose(k) as tf.Tensor2D), x.shape)];
    },
  },
  matMul: { rule: () => [], refuse: () => 'it multiplies two computed values, which has no deconvolution rule' },
  activation: { rule: (_op, s) => [s] },
  prelu: { rule: (_op, s) => [s] },
  maxPool: {
    rule: (op, s, [x], _out, switches) => {
      const [t, , l] = op.pads;
      return [unpool(s, x, op.size, op.strides, [t, l], switches ? 'switches' : 'copy')];
    },
  },
  avgPool: linear<'avgPool'>(),
  globalAvgPool: linear<'globalAvgPool'>(),
  globalMaxPool: {
    rule: (_op, s, [x], _out, switches) => {
      const [, h, w, c] = x.shape;
      return [unpool(tf.reshape(s, [-1, 1, 1, c]), x, [h, w], [h, w], [0, 0], switches ? 'switches' : 'copy')];
    },
  },
  batchNorm: {
    rule: (op, s) => {
      const { variance, gamma } = op.weights;
      const scale = tf.rsqrt(tf.add(variance, op.epsilon));
      return [tf.mul(s, gamma ? tf.mul(gamma, scale) : scale)];
    },
  },
  pad: {
    rule: (op, s, [x]) => [
      tf.slice(
        s,
        op.pads.map(([before]) => before),
        x.shape,
      ),
    ],
  },
  add: linear<'add'>(),
  sub: linear<'sub'>(),
  mul: { ...linear<'mul'>(), refuse: (_op, computed) => computedPair(computed, 'multiplies') },
  div: { ...linear<'div'>(), refuse: (_op, computed) => computedPair(computed, 'divides') },
  max: { rule: (_op, s) => [s], refuse: (_op, computed) => computedPair(computed, 'takes the maximum of') },
  min: { rule: (_op, s) => [s], refuse: (_op, computed) => computedPair(computed, 'takes the minimum of') },
  concat: linear<'concat'>(),
  reduceMean: linear<'reduceMean'>(),
  reduceSum: linear<'reduceSum'>(),
  reduceMax: {
    rule: (op, s, [x], out) => {
      // switches of a reduction: the signal to where the maximum was (first in row-major order, like max pooling)
      const o = op.keepDims
        ? out
        : tf.reshape(
            out,
            x.shape.map((d, i) => (op.axes.map((a) => (a < 0 ? x.rank + a : a)).includes(i) ? 1 : d)),
          );
      const sig = tf.reshape(s, o.shape);
      return [tf.mul(tf.cast(tf.equal(x, o), 'float32'), sig)];
    },
  },
  flatten: linear<'flatten'>(),
  reshape: linear<'reshape'>(),
  transpose: linear<'transpose'>(),
  identity: { rule: (_op, s) => [s] },
  resize: { rule: (op, s, [x]) => [resizeAdjoint(op, s, x.shape)] },
};

/** Node `node`'s values of `t` ([b, ..., nodes]), every other node zero; with `maxOnly` only each image's largest. */
function keepNode(t: tf.Tensor, node: number, maxOnly: boolean): tf.Tensor {
  const data = t.dataSync() as Float32Array;
  const n = t.shape[t.rank - 1];
  const perImage = data.length / t.shape[0];
  const out = new Float32Array(data.length);
  for (let b = 0; b < t.shape[0]; b++) {
    let best = -1;
    for (let p = b * perImage + node; p < (b + 1) * perImage; p += n) {
      if (!maxOnly) out[p] = data[p];
      else if (best < 0 || data[p] > data[best]) best = p;
    }
    if (maxOnly) out[best] = data[best];
  }
  return tf.tensor(out, t.shape);
}

type Pair = [number, number];

/**
 * The transpose of a pooling op for `signal` `[b, oh, ow, c]` back to `input`'s shape `[b, h, w, c]`, the
 * windows starting at `-pad` (`[top, left]`). `switches`: each value to its window's first maximum in
 * `input`; `copy`: to every position of the window inside the image; `average`: spread over those positions.
 */
export function unpool(signal: tf.Tensor, input: tf.Tensor, size: Pair, strides: Pair, pad: Pair, mode: 'switches' | 'copy' | 'average'): tf.Tensor {
  const [b, h, w, c] = input.shape;
  const [, oh, ow] = signal.shape;
  const [kh, kw] = size;
  const [sh, sw] = strides;
  const [padTop, padLeft] = pad;
  const s = signal.dataSync() as Float32Array;
  const x = mode === 'switches' ? (input.dataSync() as Float32Array) : null;
  const out = new Float32Array(b * h * w * c);
  for (let n = 0; n < b; n++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = Math.max(oy * sh - padTop, 0);
      const y1 = Math.min(oy * sh - padTop + kh, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = Math.max(ox * sw - padLeft, 0);
        const x1 = Math.min(ox * sw - padLeft + kw, w);
        const count = (y1 - y0) * (x1 - x0);
        for (let ch = 0; ch < c; ch++) {
          const v = s[((n * oh + oy) * ow + ox) * c + ch];
          if (v === 0 || count <= 0) continue;
          if (x) {
            let best = -1;
            for (let y = y0; y < y1; y++) {
              for (let xx = x0; xx < x1; xx++) {
                const p = ((n * h + y) * w + xx) * c + ch;
                if (best < 0 || x[p] > x[best]) best = p;
              }
            }
            out[best] += v;
          } else {
            const share = mode === 'average' ? v / count : v;
            for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) out[((n * h + y) * w + xx) * c + ch] += share;
          }
        }
      }
    }
  }
  return tf.tensor(out, input.shape);
}
