/**
 * Activation maximization (Olah, Mordvintsev & Schubert 2017, "Feature Visualization", Distill): gradient
 * ascent on an input image for a node's mean activation
 *
 *   objective(x) = mean over the node's map of a_l(T(x))[..., i] − l2 · mean((x − ½)²) − tv · TV(x)
 *
 * with x = the image parameterization (imageParam.ts: Fourier basis by default, else pixels; sigmoid into
 * [0, 1]), T a random robust view each step (pad, scale, rotate, jitter), TV(x) the mean absolute difference
 * of neighbouring pixels, Adam on the parameters. During the first `warmup` steps every ReLU passes
 * gradients that would switch it on even when it is off (Lucid's "redirected ReLU"), so a node that is dead
 * at the start can still be reached. For a softmax layer the node's pre-softmax logit is maximized (the
 * probability saturates; the logit is what Simonyan et al. and Olah et al. use).
 *
 * The forward pass is the unfused one of models/forward.ts, so only input gradients are
 * computed. Returns the image `[H, W, C]` in [0, 1], the objective at every step, and the model's output
 * for the final image.
 */
import type { MaximizeOptions, MaximizeResult } from '../../shared/protocol';
import { Random } from '../datasets/random';
import { check, UserError } from '../runtime/errors';
import { checkLayer, checkNode } from '../models/layerAccess';
import { defaultTransforms, fourierImage, pixelImage, randomView, type ImageParam } from './imageParam';
import { yieldToEvents, type Job } from '../runtime/job';
import { forward, predict } from '../models/forward';
import type { Network, Op } from '../models/network';
import * as tf from '../runtime/tf';

/** Defaults for every option (Olah et al. use Adam at 0.05 on the spectrum). */
const MAXIMIZE_DEFAULTS: Required<MaximizeOptions> = { steps: 256, learningRate: 0.05, fourier: true, transforms: true, warmup: 16, l2: 0, tv: 0, seed: 1 };

/** ReLU whose gradient also flows where x ≤ 0 when it pushes x up (towards switching the unit on). */
const redirectedRelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  (args[1] as tf.GradSaveFunc)([x]);
  return {
    value: tf.relu(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      // dy is the gradient of the minimized loss (−objective): a negative dy pushes x up.
      [tf.where(tf.logicalOr(tf.greater(saved[0], 0), tf.less(dy, 0)), dy, tf.zerosLike(dy))],
  };
}) as (x: tf.Tensor) => tf.Tensor;

/** The network with the softmax of `op` (fused or its own) removed: the logits. Same network when it has none. */
function logitsOf(net: Network, op: number): Network {
  const o = net.ops[op];
  const a = 'activation' in o ? o.activation : undefined;
  if (!a || (a.fn !== 'softmax' && a.fn !== 'logSoftmax')) return net;
  const bare = (o.kind === 'activation' ? { ...o, activation: { fn: 'linear' } } : { ...o, activation: undefined }) as Op;
  return { ...net, ops: net.ops.map((x, i) => (i === op ? bare : x)) };
}

/** The node's activation (pre-softmax for a softmax layer), averaged over its map; `x` is `[1, H, W, C]`. */
function nodeObjective(net: Network, layer: number, node: number, x: tf.Tensor, warm: boolean): tf.Scalar {
  const op = net.layers[layer].op;
  const out = forward(net, x, { until: op, relu: warm ? redirectedRelu : undefined })[op];
  const n = out.shape[out.rank - 1]!;
  const flat = tf.reshape(out, [-1, n]);
  return tf.mean(tf.slice(flat, [0, node], [flat.shape[0], 1])) as tf.Scalar;
}

/** Total variation: mean absolute difference between vertical and horizontal neighbours of `[H, W, C]`. */
function totalVariation(img: tf.Tensor3D): tf.Scalar {
  const [H, W, C] = img.shape;
  const dy = H > 1 ? tf.mean(tf.abs(tf.sub(tf.slice(img, [1, 0, 0], [H - 1, W, C]), tf.slice(img, [0, 0, 0], [H - 1, W, C])))) : tf.scalar(0);
  const dx = W > 1 ? tf.mean(tf.abs(tf.sub(tf.slice(img, [0, 1, 0], [H, W - 1, C]), tf.slice(img, [0, 0, 0], [H, W - 1, C])))) : tf.scalar(0);
  return tf.add(dy, dx) as tf.Scalar;
}

export async function maximize(model: Network, layer: number, node: number, options: MaximizeOptions, job: Job): Promise<MaximizeResult> {
  checkLayer(model, layer);
  checkNode(model, layer, node);
  const logits = logitsOf(model, model.layers[layer].op);
  const o = { ...MAXIMIZE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<MaximizeOptions>;
  check(Number.isInteger(o.steps) && o.steps >= 1 && o.steps <= 100000, `steps must be a whole number from 1 to 100000, not ${o.steps}.`);
  check(o.learningRate > 0 && Number.isFinite(o.learningRate), `learningRate must be positive, not ${o.learningRate}.`);
  check(o.l2 >= 0 && o.tv >= 0 && o.warmup >= 0, 'l2, tv and warmup must not be negative.');
  const shape = model.input.shape;
  if (shape.length !== 3 || shape.some((d) => d <= 0)) {
    throw new UserError(
      'unsupported',
      `Activation maximization needs an image input [height, width, channels]; model ${model.name} takes [${shape.join(', ')}].`,
    );
  }
  const [H, W, C] = shape;
  const param: ImageParam = o.fourier ? fourierImage(H, W, C, o.seed) : pixelImage(H, W, C, o.seed);
  const optimizer = tf.train.adam(o.learningRate);
  const random = new Random(o.seed);
  const rand = (): number => random.next();
  const ranges = defaultTransforms(H, W);
  const curve: number[] = [];
  try {
    for (let step = 0; step < o.steps; step++) {
      job.throwIfCancelled();
      const warm = step < o.warmup;
      const cost = optimizer.minimize(
        () =>
          tf.tidy(() => {
            const img = param.image();
            const view = o.transforms ? randomView(img, ranges, rand) : img;
            const objective = nodeObjective(logits, layer, node, tf.expandDims(view, 0), warm);
            let loss: tf.Tensor = tf.neg(objective);
            if (o.l2 > 0) loss = tf.add(loss, tf.mul(o.l2, tf.mean(tf.square(tf.sub(img, 0.5)))));
            if (o.tv > 0) loss = tf.add(loss, tf.mul(o.tv, totalVariation(img)));
            return loss as tf.Scalar;
          }),
        true,
        param.variables,
      );
      const value = -(await cost!.data())[0];
      cost!.dispose();
      curve.push(value);
      job.progress({
        fraction: (step + 1) / o.steps,
        message: `step ${step + 1} of ${o.steps}`,
        objective: value,
        count: { done: step + 1, total: o.steps, unit: 'steps' },
      });
      await yieldToEvents();
    }
    const image = tf.tidy(() => param.image());
    try {
      const output = tf.tidy(() => predict(model, tf.expandDims(image, 0)));
      const data = (await output.data()) as Float32Array;
      output.dispose();
      return {
        layer,
        node,
        image: { shape: [H, W, C], data: Float32Array.from((await image.data()) as Float32Array) },
        curve,
        output: Float32Array.from(data),
      };
    } finally {
      image.dispose();
    }
  } finally {
    param.dispose();
    optimizer.dispose();
  }
}
