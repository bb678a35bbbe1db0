import type { FloatArray, WeightsResult } from '../../shared/protocol';
import type * as tf from '../runtime/tf';
import { UserError } from '../runtime/errors';
import { checkLayer, checkNode, nodeCount, range } from '../models/layerAccess';
import { WEIGHT_KINDS } from '../models/describeLayers';
import type { Network } from '../models/network';

/** Ops that only reshape or pass values through: a dense layer behind them still sees the input's pixels. */
const PASS_THROUGH = new Set(['flatten', 'reshape', 'identity']);

/**
 * Weights (docs/architecture.md, "Weights") of layer `layer`, for every node or only `node`. `tiles[i]` holds node
 * `nodes[i]`'s incoming weights as images, each `[h, w, c]` float32 (raw values, not normalised):
 * - Dense fed by the input (directly or through Flatten/Reshape/Dropout): the unit's weight vector reshaped to
 *   the input image, one `[h, w, 3]` tile for RGB input (`rgb` true), else one `[h, w, 1]` tile per channel.
 * - Dense fed through Flatten by a layer with a `[h, w, c]` output: one `[h, w, 1]` tile per input channel
 *   (the weights on each map of the previous layer).
 * - Any other dense layer: one `[1, inputs, 1]` strip, the unit's weights in input order (no image
 *   structure to show).
 * - Conv2D: the filter `[kh, kw, 3]` when the layer reads 3 channels (`rgb` true), else one `[kh, kw, 1]` tile
 *   per input channel. DepthwiseConv2D: output channel `o` filters input channel `floor(o / multiplier)`
 *   alone: one `[kh, kw, 1]` tile.
 * `min`/`max` are over the whole layer's kernel (all nodes); `bias` holds the returned nodes' biases.
 */
export function layerWeights(model: Network, layer: number, node?: number): WeightsResult {
  const l = checkLayer(model, layer);
  if (node !== undefined) checkNode(model, layer, node);
  const op = model.ops[l.op];
  const w = op.weights as { kernel?: tf.Tensor; bias?: tf.Tensor };
  const kernelT = WEIGHT_KINDS.has(op.kind) && !(op.kind === 'conv2d' && op.groups !== 1) ? w.kernel : undefined;
  if (!kernelT) {
    throw new UserError(
      'unsupported',
      `Layer ${layer} (${l.name}, ${op.source}) has no weights that can be shown as images; weights are shown for dense, convolution and depthwise convolution layers.`,
    );
  }
  const kernel = kernelT.dataSync() as Float32Array;
  const biasT = w.bias;
  const bias = biasT ? (biasT.dataSync() as Float32Array) : null;
  const nodes = node === undefined ? Array.from({ length: nodeCount(model, layer) }, (_, i) => i) : [node];
  const shape = kernelT.shape;
  let tilesOf: (n: number) => FloatArray[];
  let rgb = false;

  if (op.kind === 'dense') {
    const [inputs, units] = shape;
    const column = (n: number) => {
      const v = new Float32Array(inputs);
      for (let k = 0; k < inputs; k++) v[k] = kernel[k * units + n];
      return v;
    };
    const imageShape = denseImageShape(model, layer, inputs);
    if (!imageShape) {
      tilesOf = (n) => [{ shape: [1, inputs, 1], data: column(n) }];
    } else {
      const [h, w, c] = imageShape;
      rgb = c === 3 && imageShape.fromInput && !imageShape.channelsFirst;
      // channels-first flatten (an NCHW file's): each channel's h·w values are contiguous
      const split = imageShape.channelsFirst
        ? (v: Float32Array) => Array.from({ length: c }, (_, ch) => ({ shape: [h, w, 1], data: v.slice(ch * h * w, (ch + 1) * h * w) }))
        : (v: Float32Array) => splitChannels(v, h, w, c);
      tilesOf = (n) => (rgb || c === 1 ? [{ shape: [h, w, c], data: column(n) }] : split(column(n)));
    }
  } else {
    const [kh, kw, cin, cout] = shape;
    if (op.kind === 'depthwiseConv2d') {
      // kernel [kh, kw, cin, multiplier]; output channel o = c * multiplier + j
      tilesOf = (n) => {
        const c = Math.floor(n / cout);
        const j = n % cout;
        const t = new Float32Array(kh * kw);
        for (let p = 0; p < kh * kw; p++) t[p] = kernel[(p * cin + c) * cout + j];
        return [{ shape: [kh, kw, 1], data: t }];
      };
    } else {
      rgb = cin === 3;
      tilesOf = (n) => {
        const t = new Float32Array(kh * kw * cin);
        for (let p = 0; p < kh * kw * cin; p++) t[p] = kernel[p * cout + n];
        return rgb ? [{ shape: [kh, kw, 3], data: t }] : splitChannels(t, kh, kw, cin);
      };
    }
  }
  const biasOut = bias ? Float32Array.from(nodes.map((n) => bias[n])) : undefined;
  return { layer, nodes, tiles: nodes.map(tilesOf), rgb, ...range(kernel), ...(biasOut ? { bias: biasOut } : {}) };
}

/** `[h, w, c]` values to c tiles `[h, w, 1]`. */
function splitChannels(v: Float32Array, h: number, w: number, c: number): FloatArray[] {
  return Array.from({ length: c }, (_, ch) => {
    const t = new Float32Array(h * w);
    for (let p = 0; p < h * w; p++) t[p] = v[p * c + ch];
    return { shape: [h, w, 1], data: t };
  });
}

/**
 * The image shape a dense layer's inputs can be laid out as: walking back through ops that only reshape
 * (which keep the row-major order of values, or with a channels-first flatten, the channel-major order), the
 * `[h, w, c]` output of the first other op, or the network input's shape when the walk reaches it; null when
 * that is not 3-D with `inputs` values.
 */
function denseImageShape(net: Network, layer: number, inputs: number): (number[] & { fromInput: boolean; channelsFirst: boolean }) | null {
  const index = new Map(net.ops.map((o, i) => [o.name, i]));
  let at = net.layers[layer].op;
  let channelsFirst = false;
  for (;;) {
    const src = net.ops[at].inputs;
    if (src.length !== 1) return null;
    const prev = index.get(src[0]);
    const fromInput = src[0] === net.input.name;
    if (!fromInput && prev === undefined) return null;
    if (fromInput || !PASS_THROUGH.has(net.ops[prev!].kind)) {
      const shape = fromInput ? net.input.shape : net.ops[prev!].shape;
      return shape.length === 3 && shape[0] * shape[1] * shape[2] === inputs ? Object.assign([...shape], { fromInput, channelsFirst }) : null;
    }
    const p = net.ops[prev!];
    if (p.kind === 'flatten' && p.order === 'nchw') channelsFirst = true;
    at = prev!;
  }
}
