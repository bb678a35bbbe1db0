// The TF.js Layers importer's table (layers.ts): the op of each Keras layer class, one function per family. A
// class no family knows is an identity (Dropout and noise layers) or an `unsupported` error naming it.
import type { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import type { Activation, OpSpec } from './network';

export type AnyLayer = tf.layers.Layer & Record<string, unknown>;
type Pair = [number, number];
type Pads = [number, number, number, number];
/** The op of a layer; null when its ops were emitted by the family (a layer that becomes two ops); undefined for a class of another family. */
type Family = (c: LayerContext) => OpSpec | null | undefined;

/** What converting one layer needs: the layer, its config and shapes, and the converter's helpers. */
export interface LayerContext {
  layer: AnyLayer;
  cls: string;
  cfg: Record<string, unknown>;
  /** The first input's shape without the batch dimension. */
  x: number[];
  /** The layer's output shape without the batch dimension. */
  shape: number[];
  inputs: string[];
  constants: Map<string, tf.Tensor>;
  /** A weight of the layer by its property name. */
  w: (name: string) => tf.Tensor | undefined;
  /** The layer's fused activation (undefined for linear). */
  act: () => Activation | undefined;
  /** Appends an op (the layer's by default) and returns its value name. */
  emit: (spec: OpSpec, name?: string, opInputs?: string[], opShape?: number[]) => string;
  unknown: (layer: tf.layers.Layer, why?: string) => UserError;
}

const pair = (v: unknown): Pair => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v as number, v as number]);

/** Explicit pads `[top, bottom, left, right]` of a Keras `padding` ('valid' | 'same') for a window. */
function padsOf(padding: unknown, inHW: number[], size: Pair, strides: Pair, dilations: Pair = [1, 1]): Pads {
  if (padding !== 'same') return [0, 0, 0, 0];
  const along = (i: number) => {
    const out = Math.ceil(inHW[i] / strides[i]);
    const eff = (size[i] - 1) * dilations[i] + 1;
    return Math.max((out - 1) * strides[i] + eff - inHW[i], 0);
  };
  const h = along(0);
  const w = along(1);
  return [Math.floor(h / 2), h - Math.floor(h / 2), Math.floor(w / 2), w - Math.floor(w / 2)];
}

const SIMPLE: Record<string, Activation['fn']> = {
  linear: 'linear',
  relu: 'relu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softplus: 'softplus',
  softsign: 'softsign',
  elu: 'elu',
  selu: 'selu',
  swish: 'swish',
  gelu: 'gelu',
};

/** A Keras activation name as an `Activation` (null when the network representation has none for it). */
export function activationOf(name: unknown): Activation | null {
  if (name === undefined || name === null) return { fn: 'linear' };
  if (typeof name !== 'string') return null;
  if (SIMPLE[name]) return { fn: SIMPLE[name] } as Activation;
  if (name === 'relu6') return { fn: 'clip', min: 0, max: 6 };
  if (name === 'hardSigmoid' || name === 'hard_sigmoid') return { fn: 'hardSigmoid', alpha: 0.2, beta: 0.5 };
  if (name === 'softmax') return { fn: 'softmax', axis: -1 };
  if (name === 'logSoftmax') return { fn: 'logSoftmax', axis: -1 };
  return null;
}

const NONE = {} as Record<string, never>;
const IDENTITY = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

const FAMILIES: readonly Family[] = [convolutionSpec, denseAndPoolingSpec, activationSpec, mergeSpec, shapeSpec];

/** The op of one layer, null when its ops were emitted here; throws `unsupported` for a class the table lacks. */
export function layerSpec(c: LayerContext): OpSpec | null {
  for (const family of FAMILIES) {
    const spec = family(c);
    if (spec !== undefined) return spec;
  }
  if (IDENTITY.has(c.cls)) return { kind: 'identity', weights: NONE };
  throw c.unknown(c.layer);
}

/** Conv2D, DepthwiseConv2D, SeparableConv2D (two ops: null) and Conv2DTranspose. */
function convolutionSpec(c: LayerContext): OpSpec | null | undefined {
  const { cls, cfg, x, w, act } = c;
  switch (cls) {
    case 'Conv2D': {
      const strides = pair(cfg.strides);
      const dilations = pair(cfg.dilationRate ?? 1);
      const kernel = w('kernel') as tf.Tensor4D;
      return {
        kind: 'conv2d',
        strides,
        dilations,
        pads: padsOf(cfg.padding, x, [kernel.shape[0], kernel.shape[1]], strides, dilations),
        groups: 1,
        activation: act(),
        weights: { kernel, bias: w('bias') as tf.Tensor1D | undefined },
      };
    }
    case 'DepthwiseConv2D':
    case 'SeparableConv2D':
      return depthwiseSpec(c);
    case 'Conv2DTranspose':
      return convTransposeSpec(c);
    default:
      return undefined;
  }
}

/** A DepthwiseConv2D, or a SeparableConv2D emitted as its depthwise part and the 1×1 conv (null). */
function depthwiseSpec(c: LayerContext): OpSpec | null {
  const { layer, cls, cfg, x, shape, inputs, w, act, emit } = c;
  const strides = pair(cfg.strides);
  const dilations = pair(cfg.dilationRate ?? 1);
  const kernel = w('depthwiseKernel') as tf.Tensor4D;
  const pads = padsOf(cfg.padding, x, [kernel.shape[0], kernel.shape[1]], strides, dilations);
  if (cls === 'DepthwiseConv2D')
    return { kind: 'depthwiseConv2d', strides, dilations, pads, activation: act(), weights: { kernel, bias: w('bias') as tf.Tensor1D | undefined } };
  const pointwise = w('pointwiseKernel') as tf.Tensor4D;
  const mid = [shape[0], shape[1], kernel.shape[2] * kernel.shape[3]];
  const dw = emit({ kind: 'depthwiseConv2d', strides, dilations, pads, weights: { kernel } }, `${layer.name}/depthwise`, inputs, mid);
  emit(
    {
      kind: 'conv2d',
      strides: [1, 1],
      dilations: [1, 1],
      pads: [0, 0, 0, 0],
      groups: 1,
      activation: act(),
      weights: { kernel: pointwise, bias: w('bias') as tf.Tensor1D | undefined },
    },
    layer.name,
    [dw],
  );
  return null;
}

/** A Conv2DTranspose, its Keras padding as the pads and output padding of the transposed convolution. */
function convTransposeSpec(c: LayerContext): OpSpec {
  const { cfg, x, shape, w, act } = c;
  const strides = pair(cfg.strides);
  const kernel = w('kernel') as tf.Tensor4D; // [kh, kw, filters, in]: tf.conv2dTranspose's layout
  const full = [0, 1].map((i) => (x[i] - 1) * strides[i] + kernel.shape[i]);
  const extra = [0, 1].map((i) => full[i] - shape[i]);
  const pads: Pads = [
    Math.max(Math.floor(extra[0] / 2), 0),
    Math.max(extra[0] - Math.floor(extra[0] / 2), 0),
    Math.max(Math.floor(extra[1] / 2), 0),
    Math.max(extra[1] - Math.floor(extra[1] / 2), 0),
  ];
  return {
    kind: 'convTranspose2d',
    strides,
    pads,
    outputPadding: [Math.max(-extra[0], 0), Math.max(-extra[1], 0)],
    activation: act(),
    weights: { kernel, bias: w('bias') as tf.Tensor1D | undefined },
  };
}

/** Dense, and the local and global pooling layers. */
function denseAndPoolingSpec(c: LayerContext): OpSpec | undefined {
  const { cls, cfg, x, w, act } = c;
  switch (cls) {
    case 'Dense':
      return { kind: 'dense', activation: act(), weights: { kernel: w('kernel') as tf.Tensor2D, bias: w('bias') as tf.Tensor1D | undefined } };
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const size = pair(cfg.poolSize);
      const strides = cfg.strides == null ? size : pair(cfg.strides);
      return {
        kind: cls === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
        size,
        strides,
        pads: padsOf(cfg.padding, x, size, strides),
        countIncludePad: false,
        weights: NONE,
      };
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return { kind: cls === 'GlobalMaxPooling2D' ? 'globalMaxPool' : 'globalAvgPool', keepDims: !!cfg.keepDims, weights: NONE };
    default:
      return undefined;
  }
}

/** BatchNormalization and the activation layers. */
function activationSpec(c: LayerContext): OpSpec | undefined {
  const { layer, cls, cfg, x, w, unknown } = c;
  switch (cls) {
    case 'BatchNormalization': {
      const axis = Array.isArray(cfg.axis) ? (cfg.axis as number[])[0] : (cfg.axis as number);
      if (axis !== -1 && axis !== x.length) throw unknown(layer, `it normalizes axis ${axis}, not the channels`);
      return {
        kind: 'batchNorm',
        epsilon: cfg.epsilon as number,
        weights: {
          mean: w('movingMean') as tf.Tensor1D,
          variance: w('movingVariance') as tf.Tensor1D,
          gamma: w('gamma') as tf.Tensor1D | undefined,
          beta: w('beta') as tf.Tensor1D | undefined,
        },
      };
    }
    case 'Activation': {
      const a = activationOf(cfg.activation);
      if (!a) throw unknown(layer, `activation ${String(cfg.activation)}`);
      return { kind: 'activation', activation: a, weights: NONE };
    }
    case 'ReLU': {
      const max = cfg.maxValue as number | null | undefined;
      return { kind: 'activation', activation: max == null ? { fn: 'relu' } : { fn: 'clip', min: 0, max }, weights: NONE };
    }
    case 'LeakyReLU':
      return { kind: 'activation', activation: { fn: 'leakyRelu', alpha: (cfg.alpha as number) ?? 0.3 }, weights: NONE };
    case 'ELU':
      if (((cfg.alpha as number) ?? 1) !== 1) throw unknown(layer, `alpha ${String(cfg.alpha)}`);
      return { kind: 'activation', activation: { fn: 'elu' }, weights: NONE };
    case 'Softmax':
      return { kind: 'activation', activation: { fn: 'softmax', axis: (cfg.axis as number) ?? -1 }, weights: NONE };
    case 'PReLU':
      return { kind: 'prelu', weights: { alpha: w('alpha')! } };
    default:
      return undefined;
  }
}

/** The merge layers; Average is emitted as a sum and a scale (null). */
function mergeSpec(c: LayerContext): OpSpec | null | undefined {
  const { layer, cls, cfg, inputs, constants, emit } = c;
  switch (cls) {
    case 'Add':
    case 'Subtract':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum': {
      const kinds = { Add: 'add', Subtract: 'sub', Multiply: 'mul', Maximum: 'max', Minimum: 'min' } as const;
      return { kind: kinds[cls], weights: NONE };
    }
    case 'Average': {
      const sum = emit({ kind: 'add', weights: NONE }, `${layer.name}/sum`);
      const scale = `${layer.name}/scale`;
      constants.set(scale, tf.scalar(1 / inputs.length));
      emit({ kind: 'mul', weights: NONE }, layer.name, [sum, scale]);
      return null;
    }
    case 'Concatenate':
      return { kind: 'concat', axis: (cfg.axis as number) ?? -1, weights: NONE };
    default:
      return undefined;
  }
}

/** Padding, resizing and the layers that only move values: Flatten, Reshape, Permute. */
function shapeSpec(c: LayerContext): OpSpec | undefined {
  const { cls, cfg, shape } = c;
  switch (cls) {
    case 'ZeroPadding2D': {
      const p = cfg.padding as unknown;
      const [[t, b], [l, r]] = Array.isArray(p) ? (p as unknown[]).map((v) => pair(v)) : [pair(p), pair(p)];
      return {
        kind: 'pad',
        pads: [
          [0, 0],
          [t, b],
          [l, r],
          [0, 0],
        ],
        mode: 'constant',
        value: 0,
        weights: NONE,
      };
    }
    case 'UpSampling2D':
      return {
        kind: 'resize',
        size: [shape[0], shape[1]],
        method: cfg.interpolation === 'bilinear' ? 'bilinear' : 'nearest',
        alignCorners: false,
        weights: NONE,
      };
    case 'Flatten':
      return { kind: 'flatten', order: 'nhwc', weights: NONE };
    case 'Reshape':
      return { kind: 'reshape', shape, weights: NONE };
    case 'Permute':
      return { kind: 'transpose', perm: [0, ...(cfg.dims as number[])], weights: NONE };
    default:
      return undefined;
  }
}
