import { UserError } from './errors';
import { checkLayer, checkNode, endsInRelu, inputOf, layerOutputs, pathToInput } from './graph';
import * as tf from './tf';

/** How a deconvolution unpools max-pooling layers. */
export interface DeconvOptions {
  /** true: put the signal where the forward pass found each window's maximum (Zeiler & Fergus, exact);
   *  false: copy it to the whole pooling window (the seed's variant without switches). */
  switches: boolean;
  /** Keep only the largest value of the node's map instead of the whole map. */
  maxOnly: boolean;
}

const IDENTITY = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/**
 * Deconvolutional projection (Zeiler & Fergus 2013; docs/architecture.md). Keeps only node `node`'s map of layer
 * `layer` (after its activation; with `maxOnly`, only its largest value, the first in row-major order), zeroes
 * every other node, and walks back to pixel space one layer at a time:
 * - MaxPooling2D: unpool with the switches recorded in the forward pass (a window's first maximum), or without
 *   them, the value copied to every position of its window; overlapping windows add up.
 * - ReLU (a layer's activation, an Activation('relu') or a ReLU layer): ReLU applied to the backward signal
 *   (not gated by the forward activation). Other activations (sigmoid, softmax, ...) are passed through.
 * - Conv2D: convolution with the transposed filters (`conv2dTranspose` with the layer's kernel);
 *   DepthwiseConv2D the same with its per-channel filters. Dense: multiplication by Wᵀ.
 * - AveragePooling2D and global pooling: their transpose (the value spread evenly over the window).
 * - Flatten/Reshape: reshape; Dropout and noise layers: identity; BatchNormalization: scaled by
 *   gamma / sqrt(movingVariance + epsilon). Biases are ignored on the way back.
 * Merges (Add, Concatenate, ...) and other layers throw `unsupported`.
 *
 * `images` is `[b, h, w, c]` float32; returns the projections `[b, h, w, c]` (the caller disposes them).
 * Built from forward ops only (no gradients), so it runs on any backend.
 */
export function deconvolve(model: tf.LayersModel, layer: number, node: number, images: tf.Tensor, opts: DeconvOptions, forward?: tf.Tensor[]): tf.Tensor {
  checkLayer(model, layer);
  checkNode(model, layer, node);
  const path = pathToInput(model, layer, 'Deconvolution');
  for (const i of path) checkSupported(model.layers[i]);
  // `forward`: every layer's output for `images` (graph.ts layerOutputs) when the caller has it already
  const outputs = forward ?? layerOutputs(model, images);
  try {
    return tf.tidy(() => {
      let signal = keepNode(outputs[layer], node, opts.maxOnly);
      for (const i of path) signal = backward(model.layers[i], signal, inputOf(model, i, images, outputs), opts.switches);
      return signal;
    });
  } finally {
    if (!forward) tf.dispose(outputs);
  }
}

const SUPPORTED = new Set([
  'Conv2D', 'DepthwiseConv2D', 'Dense', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D',
  'BatchNormalization', 'Activation', 'ReLU', 'Flatten', 'Reshape', ...IDENTITY,
]);

function checkSupported(layer: tf.layers.Layer): void {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as { dataFormat?: string; dilationRate?: number | number[]; axis?: number | number[] };
  if (!SUPPORTED.has(cls)) throw new UserError('unsupported', `Deconvolution cannot pass through ${cls} layer ${layer.name}.`);
  if (cfg.dataFormat === 'channelsFirst') throw new UserError('unsupported', `Deconvolution cannot pass through ${cls} layer ${layer.name}: it is channels-first.`);
  const d = cfg.dilationRate;
  if (d !== undefined && (Array.isArray(d) ? d.some((v) => v !== 1) : d !== 1)) {
    throw new UserError('unsupported', `Deconvolution cannot pass through ${cls} layer ${layer.name}: it is dilated.`);
  }
  if (cls === 'BatchNormalization') {
    const a = Array.isArray(cfg.axis) ? cfg.axis[0] : cfg.axis;
    if (a !== -1 && a !== (layer.outputShape as number[]).length - 1) throw new UserError('unsupported', `Deconvolution cannot pass through ${cls} layer ${layer.name}: it normalises axis ${a}, not the channels.`);
  }
}

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
const pair = (v: unknown): Pair => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v as number, v as number]);

/** The signal at `layer`'s output to the signal at its input (`input` is the forward input). */
function backward(layer: tf.layers.Layer, signal: tf.Tensor, input: tf.Tensor, switches: boolean): tf.Tensor {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  const w = (name: string) => ((layer as unknown as Record<string, { read(): tf.Tensor }>)[name]?.read() ?? null) as tf.Tensor;
  const s = endsInRelu(layer) ? tf.relu(signal) : signal;
  switch (cls) {
    case 'Conv2D':
      return tf.conv2dTranspose(s as tf.Tensor4D, w('kernel') as tf.Tensor4D, input.shape as [number, number, number, number], pair(cfg.strides), cfg.padding as 'valid' | 'same');
    case 'DepthwiseConv2D':
      return tf.conv2dTranspose(s as tf.Tensor4D, blockDiagonal(w('depthwiseKernel')), input.shape as [number, number, number, number], pair(cfg.strides), cfg.padding as 'valid' | 'same');
    case 'Dense': {
      const kernel = w('kernel');
      const flat = s.rank === 2 ? s : tf.reshape(s, [-1, s.shape[s.rank - 1]]);
      return tf.reshape(tf.matMul(flat as tf.Tensor2D, tf.transpose(kernel) as tf.Tensor2D), input.shape);
    }
    case 'BatchNormalization': {
      const gamma = w('gamma');
      const scale = tf.rsqrt(tf.add(w('movingVariance'), cfg.epsilon as number));
      return tf.mul(s, gamma ? tf.mul(gamma, scale) : scale);
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const size = pair(cfg.poolSize);
      const strides = cfg.strides == null ? size : pair(cfg.strides);
      return unpool(s, input, size, strides, cfg.padding === 'same', cls === 'AveragePooling2D' ? 'average' : switches ? 'switches' : 'copy');
    }
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D': {
      const [, h, wd, c] = input.shape;
      return unpool(tf.reshape(s, [-1, 1, 1, c]), input, [h, wd], [h, wd], false, cls === 'GlobalAveragePooling2D' ? 'average' : switches ? 'switches' : 'copy');
    }
    case 'Flatten':
    case 'Reshape':
      return tf.reshape(s, input.shape);
    default:
      // Activation, ReLU (already rectified above), dropout and noise layers
      return s;
  }
}

/** A depthwise kernel `[kh, kw, cin, m]` as the equivalent full conv kernel `[kh, kw, cin, cin * m]`. */
function blockDiagonal(k: tf.Tensor): tf.Tensor4D {
  const [kh, kw, cin, m] = k.shape;
  const src = k.dataSync() as Float32Array;
  const out = new Float32Array(kh * kw * cin * cin * m);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < cin; c++) for (let j = 0; j < m; j++) out[(p * cin + c) * cin * m + c * m + j] = src[(p * cin + c) * m + j];
  }
  return tf.tensor4d(out, [kh, kw, cin, cin * m]);
}

/**
 * The transpose of a pooling layer for `signal` `[b, oh, ow, c]` back to `input`'s shape `[b, h, w, c]`.
 * `switches`: each value to its window's first maximum in `input`; `copy`: to every position of the window;
 * `average`: spread over the window's positions inside the image (as the forward average counts them).
 */
export function unpool(signal: tf.Tensor, input: tf.Tensor, size: Pair, strides: Pair, same: boolean, mode: 'switches' | 'copy' | 'average'): tf.Tensor {
  const [b, h, w, c] = input.shape;
  const [, oh, ow] = signal.shape;
  const [kh, kw] = size;
  const [sh, sw] = strides;
  const padTop = same ? Math.floor(Math.max((oh - 1) * sh + kh - h, 0) / 2) : 0;
  const padLeft = same ? Math.floor(Math.max((ow - 1) * sw + kw - w, 0) / 2) : 0;
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
