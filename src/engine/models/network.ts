/**
 * The network representation: the one shape of a model that every inspection method walks, whatever file it
 * came from. Importers (one per format, in this folder: `layers.ts` for TF.js Layers, `onnx.ts`) turn a file into
 * a `Network`; methods (weights, featureMaps, the scan, deconv, saliency, guidedBackprop, gradcam, maximize,
 * inspectNode, render in src/engine) never look at the format. `forward.ts` runs it (one forward rule per op
 * kind); `deconv.ts` walks it back (one backward rule per op kind, in its `BACKWARD` table). Adding an op kind
 * is one member of `OpSpec` below, one forward rule and one backward rule (or a refusal saying why).
 * A TF.js Layers model keeps its `tf.LayersModel` beside the network for training (`fit`) and evaluation; the
 * network shares its weights.
 *
 * Contract:
 * - `ops` are in topological order: an op reads only the network input, constants, or outputs of ops before it.
 * - Every op has exactly one output value, named `op.name` (unique within the network). Values are addressed
 *   by name: the network input (`input.name`), an op's name, or a constant's name (`constants`).
 * - Layout: images are NHWC float32 `[batch, height, width, channels]` everywhere. An importer of an NCHW
 *   format (ONNX) converts once, at import: weights are transposed to the layouts below and axis attributes
 *   are remapped, so no op here ever sees NCHW. The batch dimension is always dynamic.
 * - Shapes (`op.shape`, `input.shape`) are without the batch dimension and fully known (the importer infers
 *   them from the fixed input shape; `-1` is not allowed).
 * - Weights are tf tensors owned by the network (`dispose` frees them); methods read them, never change them.
 *   Kernel layouts: conv2d `[kh, kw, cin / groups, cout]`, depthwiseConv2d `[kh, kw, cin, multiplier]`,
 *   convTranspose2d `[kh, kw, cout, cin]` (tf.conv2dTranspose's), dense `[in, out]`.
 * - Paddings are explicit `[top, bottom, left, right]` (importers resolve `same`, `auto_pad` and `ceil_mode`).
 * - `activation` on an op is applied to its output (Keras layers carry one; ONNX activations are their own ops).
 * - An inspectable layer (`layers`) is an op output with nodes: the last axis of a rank-2 (`[units]`) or
 *   rank-4 (`[h, w, channels]`) output. Ops that only move data (pad, flatten, reshape, transpose, identity)
 *   are not listed, nor is the input (`inspectableLayers` below). `LayerInfo.index` in the protocol, and the
 *   `layer` every method takes, is an index into `layers`.
 */
import type { LayerKind } from '../../shared/protocol';
import type * as tf from '../runtime/tf';

/** The file formats an importer exists for. */
export type ModelFormat = 'tfjs-layers' | 'onnx' | 'keras-h5' | 'keras' | 'tfjs-graph';

/** A pointwise nonlinearity, as an op's fused `activation` or as an `activation` op's `fn`. */
export type Activation =
  | { fn: 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'hardSwish' | 'softplus' | 'softsign' | 'elu' | 'selu' | 'swish' | 'gelu' | 'exp' }
  | { fn: 'clip'; min: number; max: number } // ReLU6 is clip 0..6
  | { fn: 'leakyRelu'; alpha: number }
  | { fn: 'hardSigmoid'; alpha: number; beta: number }
  | { fn: 'softmax' | 'logSoftmax'; axis: number };

type Pair = [number, number];
/** `[top, bottom, left, right]`. */
type Pads = [number, number, number, number];

/** Every op kind with its attributes and weights (by role). One forward rule and one deconvnet rule per kind. */
export type OpSpec =
  | {
      kind: 'conv2d';
      strides: Pair;
      dilations: Pair;
      pads: Pads;
      groups: number;
      activation?: Activation;
      weights: { kernel: tf.Tensor4D; bias?: tf.Tensor1D };
    }
  | { kind: 'depthwiseConv2d'; strides: Pair; dilations: Pair; pads: Pads; activation?: Activation; weights: { kernel: tf.Tensor4D; bias?: tf.Tensor1D } }
  | { kind: 'convTranspose2d'; strides: Pair; pads: Pads; outputPadding: Pair; activation?: Activation; weights: { kernel: tf.Tensor4D; bias?: tf.Tensor1D } }
  /** `y = x · kernel + bias` over the last axis. */
  | { kind: 'dense'; activation?: Activation; weights: { kernel: tf.Tensor2D; bias?: tf.Tensor1D } }
  /** Two computed inputs: `y = a · b` (batched over leading axes). */
  | { kind: 'matMul'; weights: Record<string, never> }
  | { kind: 'activation'; activation: Activation; weights: Record<string, never> }
  /** PReLU: `alpha` broadcast against the input. */
  | { kind: 'prelu'; weights: { alpha: tf.Tensor } }
  | { kind: 'maxPool' | 'avgPool'; size: Pair; strides: Pair; pads: Pads; countIncludePad: boolean; weights: Record<string, never> }
  | { kind: 'globalAvgPool' | 'globalMaxPool'; keepDims: boolean; weights: Record<string, never> }
  /** Inference-mode batch norm over the channels (last axis). */
  | { kind: 'batchNorm'; epsilon: number; weights: { mean: tf.Tensor1D; variance: tf.Tensor1D; gamma?: tf.Tensor1D; beta?: tf.Tensor1D } }
  /** `[before, after]` per axis including the batch axis; `value` for constant mode. */
  | { kind: 'pad'; pads: Pair[]; mode: 'constant' | 'reflect' | 'edge'; value: number; weights: Record<string, never> }
  /** Elementwise with broadcasting (numpy rules); inputs are values or constants. */
  | { kind: 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min'; activation?: Activation; weights: Record<string, never> }
  | { kind: 'concat'; axis: number; weights: Record<string, never> }
  /** Reduction over `axes` (of the NHWC value, batch axis 0). */
  | { kind: 'reduceMean' | 'reduceMax' | 'reduceSum'; axes: number[]; keepDims: boolean; weights: Record<string, never> }
  /**
   * To `[batch, n]`. `order: 'nchw'` flattens in channels-first order (what an NCHW framework's Flatten /
   * Reshape after a conv means): the importer states it so the dense weights that follow stay the file's.
   */
  | { kind: 'flatten'; order: 'nhwc' | 'nchw'; weights: Record<string, never> }
  /** To `[batch, ...shape]`: `shape` is without the batch dimension (as `op.shape`). */
  | { kind: 'reshape'; shape: number[]; weights: Record<string, never> }
  /** `perm` over every axis including the batch axis, which stays first (`perm[0] === 0`). */
  | { kind: 'transpose'; perm: number[]; weights: Record<string, never> }
  /** Dropout, noise layers, casts: the input unchanged. */
  | { kind: 'identity'; weights: Record<string, never> }
  /**
   * Bilinear: half-pixel centres (PyTorch's, ONNX's, TF 2's default) unless `alignCorners`, or `halfPixel: false`
   * (TensorFlow's legacy asymmetric coordinates, `half_pixel_centers=false`). Nearest: asymmetric, floor.
   */
  | { kind: 'resize'; size: Pair; method: 'nearest' | 'bilinear'; alignCorners: boolean; halfPixel?: boolean; weights: Record<string, never> };

export type OpKind = OpSpec['kind'];

/** One operation of a network. */
export type Op = OpSpec & {
  /** Unique name, as in the file (a PyTorch module path such as `layer2.0.conv1`, a Keras layer name). */
  name: string;
  /** Names of the values it reads, in order. */
  inputs: string[];
  /** Output shape without the batch dimension (NHWC for images). */
  shape: number[];
  /** What the file called it (`Conv2D`, `Conv`, `Relu`...), for display and messages. */
  source: string;
};

/** An inspectable layer: an op output with nodes. */
export interface NetworkLayer {
  /** Index into `ops`. */
  op: number;
  name: string;
  kind: LayerKind;
  /** `[h, w, channels]` or `[units]`. */
  shape: number[];
  nodes: number;
}

/** A model, whatever its format. */
export interface Network {
  /** The model's name (from the file, else the file's base name). */
  name: string;
  format: ModelFormat;
  /** Absolute path of the file it was imported from. */
  path: string;
  input: { name: string; shape: number[] };
  ops: Op[];
  /** Constant tensors addressed by name from `op.inputs` (ONNX initializers used as operands, e.g. `Mul` by a constant). */
  constants: Map<string, tf.Tensor>;
  /** The value that is the model's output (logits or probabilities). */
  output: string;
  layers: NetworkLayer[];
  /** What the import left out or changed that a user should know (e.g. a detection model's post-processing). */
  note?: string;
  /** Frees every weight and constant. */
  dispose(): void;
}

/*
 * The forward pass lives in `forward.ts` beside this file (one forward rule per op kind, plain tf ops, runs
 * inside the caller's tf.tidy):
 *
 *   forward(net: Network, x: tf.Tensor4D | tf.Tensor, opts?: ForwardOptions): tf.Tensor[]   // output of every op run, by op index
 *
 *   interface ForwardOptions {
 *     until?: number;                                   // last op index to run (default: all)
 *     relu?: (x: tf.Tensor) => tf.Tensor;               // replaces every ReLU (guided backprop passes its own)
 *     substitute?: { op: number; value: tf.Tensor };    // use `value` as op's output (Grad-CAM)
 *     fused?: boolean;                                  // forward-only: fused conv+bias+activation kernels
 *   }
 *
 * Unfused by default, so an input gradient never asks for a filter gradient (the wasm backend lacks some).
 * Also there: `predict(net, x)` (the output value), `activate(activation, y)`.
 */

const LAYER_KIND: Partial<Record<OpKind, LayerKind>> = {
  conv2d: 'conv',
  convTranspose2d: 'conv',
  depthwiseConv2d: 'depthwiseConv',
  dense: 'dense',
  matMul: 'dense',
  activation: 'activation',
  prelu: 'activation',
  maxPool: 'pool',
  avgPool: 'pool',
  globalAvgPool: 'pool',
  globalMaxPool: 'pool',
  batchNorm: 'normalization',
  add: 'merge',
  sub: 'merge',
  mul: 'merge',
  div: 'merge',
  max: 'merge',
  min: 'merge',
  concat: 'merge',
  reduceMean: 'pool',
  reduceMax: 'pool',
  reduceSum: 'pool',
  resize: 'other',
};

/**
 * The inspectable layers of `ops` (for an importer's `layers`): every op output with nodes (rank 1 or 3
 * without the batch) that computes something, in op order. Pad, flatten, reshape, transpose and identity
 * only move data and are left out.
 */
export function inspectableLayers(ops: Op[]): NetworkLayer[] {
  const layers: NetworkLayer[] = [];
  ops.forEach((op, i) => {
    const kind = LAYER_KIND[op.kind];
    if (!kind || (op.shape.length !== 1 && op.shape.length !== 3)) return;
    layers.push({ op: i, name: op.name, kind, shape: op.shape, nodes: op.shape[op.shape.length - 1] });
  });
  return layers;
}
