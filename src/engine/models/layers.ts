/**
 * The TF.js Layers importer: a loaded `tf.LayersModel` → `Network` (network.ts), one op per Keras layer with
 * its fused activation (a SeparableConv2D is two: its depthwise part `<name>/depthwise` and the 1×1 conv).
 * The InputLayer is the network input; ZeroPadding2D is a `pad`, ReLU(maxValue) a `clip`, Dropout and noise
 * layers `identity`, Flatten a `flatten` in NHWC order.
 *
 * Weights are shared with the LayersModel (the network's tensors are the model's variables), so training the
 * model with `fit` changes what the network computes. The LayersModel keeps owning them: the network's
 * `dispose` frees only its own constants, and whoever loaded the model disposes the model.
 *
 * Over 300 lines on purpose: it is one table, a rule per Keras layer class (`convolutionSpec`, `otherSpec`),
 * that splitting would only scatter.
 */
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import { inspectableLayers, type Activation, type Network, type Op, type OpSpec } from './network';

type AnyLayer = tf.layers.Layer & Record<string, unknown>;
type Pair = [number, number];
type Pads = [number, number, number, number];

interface InboundNode {
  inboundLayers: tf.layers.Layer[];
  tensorIndices: number[];
  inputTensors: tf.SymbolicTensor[];
}

/** The inbound node through which `layer` belongs to `model` (a shared layer has several). */
function modelNode(model: tf.LayersModel, layer: tf.layers.Layer, file: string): InboundNode {
  const nodes = (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes;
  if (nodes.length === 1) return nodes[0];
  const inner = (model as unknown as { model?: tf.LayersModel }).model;
  for (const m of [model, inner]) {
    const keys = (m as unknown as { containerNodes?: Set<string> } | undefined)?.containerNodes;
    if (!keys) continue;
    for (let i = 0; i < nodes.length; i++) if (keys.has(`${layer.name}_ib-${i}`)) return nodes[i];
  }
  throw new UserError(
    'unsupported',
    `uses layer ${layer.name} more than once (a shared layer); Feature Lens inspects models in which each layer is called once.`,
    file,
  );
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
function activationOf(name: unknown): Activation | null {
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

/**
 * The network of a Layers model (one image input; channels-last). `file` names the model in messages.
 * A layer the representation has no op for throws one line naming its class, the layer and the file.
 */
export function layersNetwork(model: tf.LayersModel, file: string): Network {
  if (model.inputs.length !== 1)
    throw new UserError('unsupported', `has ${model.inputs.length} inputs; Feature Lens inspects models with one image input.`, file);
  const inputT = model.inputs[0];
  const inputShape = (inputT.shape as (number | null)[]).slice(1);
  if (inputShape.some((d) => d == null)) {
    throw new UserError(
      'unsupported',
      `has an input of unknown size [${inputShape.map((d) => d ?? '?').join(', ')}]; Feature Lens needs a fixed input shape.`,
      file,
    );
  }
  const inputName = inputT.sourceLayer?.name ?? 'input';
  const index = new Map(model.layers.map((l, i) => [l, i]));
  /** The value name of each layer's output. */
  const valueOf = new Map<tf.layers.Layer, string>();
  const ops: Op[] = [];
  const constants = new Map<string, tf.Tensor>();
  const unknown = (layer: tf.layers.Layer, why = '') =>
    new UserError('unsupported', `uses ${layer.getClassName()} layer ${layer.name}${why ? ` (${why})` : ''}, which Feature Lens cannot inspect yet.`, file);

  for (const layer of model.layers as AnyLayer[]) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') {
      valueOf.set(layer, inputName);
      continue;
    }
    const node = modelNode(model, layer, file);
    const inputs = node.inputTensors.map((t, k) => {
      const from = node.inboundLayers[k];
      if (t === inputT || !index.has(from)) return inputName;
      if ((node.tensorIndices[k] ?? 0) !== 0) throw unknown(from, 'its second output is used');
      return valueOf.get(from)!;
    });
    const inShapes = node.inputTensors.map((t) => (t.shape as number[]).slice(1));
    const shape = outShape(layer);
    const cfg = layer.getConfig() as Record<string, unknown>;
    if (cfg.dataFormat === 'channelsFirst') throw unknown(layer, 'channels-first');
    const w = (name: string) => (layer[name] as { read(): tf.Tensor } | null | undefined)?.read() ?? undefined;
    const act = () => {
      const a = activationOf(cfg.activation);
      if (!a) throw unknown(layer, `activation ${String(cfg.activation)}`);
      return a.fn === 'linear' ? undefined : a;
    };
    const emit = (spec: OpSpec, name = layer.name, opInputs = inputs, opShape = shape) => {
      ops.push({ ...spec, name, inputs: opInputs, shape: opShape, source: cls } as Op);
      return name;
    };
    const c: LayerContext = { layer, cls, cfg, x: inShapes[0], shape, inputs, constants, w, act, emit, unknown };
    const conv = convolutionSpec(c);
    const spec = conv === undefined ? otherSpec(c) : conv;
    if (spec) emit(spec);
    valueOf.set(layer, layer.name);
  }
  const outLayer = model.outputs[0].sourceLayer;
  const output = valueOf.get(outLayer) ?? ops[ops.length - 1].name;
  return {
    name: model.name,
    format: 'tfjs-layers',
    path: file,
    input: { name: inputName, shape: inputShape as number[] },
    ops,
    constants,
    output,
    layers: inspectableLayers(ops),
    dispose() {
      for (const c of constants.values()) c.dispose();
      constants.clear();
    },
  };
}

/** What converting one layer needs: the layer, its config and shapes, and the converter's helpers. */
interface LayerContext {
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

/**
 * The op of a convolution, dense or pooling layer; null when the layer's ops were emitted here (separable
 * convolutions become two ops); undefined for any other class.
 */
function convolutionSpec(c: LayerContext): OpSpec | null | undefined {
  const { layer, cls, cfg, x, shape, inputs, w, act, emit } = c;
  let spec: OpSpec | null = null;
  switch (cls) {
    case 'Conv2D': {
      const strides = pair(cfg.strides);
      const dilations = pair(cfg.dilationRate ?? 1);
      const kernel = w('kernel') as tf.Tensor4D;
      spec = {
        kind: 'conv2d',
        strides,
        dilations,
        pads: padsOf(cfg.padding, x, [kernel.shape[0], kernel.shape[1]], strides, dilations),
        groups: 1,
        activation: act(),
        weights: { kernel, bias: w('bias') as tf.Tensor1D | undefined },
      };
      break;
    }
    case 'DepthwiseConv2D':
    case 'SeparableConv2D': {
      const strides = pair(cfg.strides);
      const dilations = pair(cfg.dilationRate ?? 1);
      const kernel = w('depthwiseKernel') as tf.Tensor4D;
      const pads = padsOf(cfg.padding, x, [kernel.shape[0], kernel.shape[1]], strides, dilations);
      if (cls === 'DepthwiseConv2D') {
        spec = { kind: 'depthwiseConv2d', strides, dilations, pads, activation: act(), weights: { kernel, bias: w('bias') as tf.Tensor1D | undefined } };
        break;
      }
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
      break;
    }
    case 'Conv2DTranspose': {
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
      spec = {
        kind: 'convTranspose2d',
        strides,
        pads,
        outputPadding: [Math.max(-extra[0], 0), Math.max(-extra[1], 0)],
        activation: act(),
        weights: { kernel, bias: w('bias') as tf.Tensor1D | undefined },
      };
      break;
    }
    case 'Dense':
      spec = { kind: 'dense', activation: act(), weights: { kernel: w('kernel') as tf.Tensor2D, bias: w('bias') as tf.Tensor1D | undefined } };
      break;
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const size = pair(cfg.poolSize);
      const strides = cfg.strides == null ? size : pair(cfg.strides);
      spec = {
        kind: cls === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
        size,
        strides,
        pads: padsOf(cfg.padding, x, size, strides),
        countIncludePad: false,
        weights: NONE,
      };
      break;
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      spec = { kind: cls === 'GlobalMaxPooling2D' ? 'globalMaxPool' : 'globalAvgPool', keepDims: !!cfg.keepDims, weights: NONE };
      break;
    default:
      return undefined;
  }
  return spec;
}

/** The op of any other layer (normalization, activations, padding, merges, reshapes), null when emitted here. */
function otherSpec(c: LayerContext): OpSpec | null {
  const { layer, cls, cfg, x, shape, inputs, constants, w, emit, unknown } = c;
  let spec: OpSpec | null = null;
  switch (cls) {
    case 'BatchNormalization': {
      const axis = Array.isArray(cfg.axis) ? (cfg.axis as number[])[0] : (cfg.axis as number);
      if (axis !== -1 && axis !== x.length) throw unknown(layer, `it normalizes axis ${axis}, not the channels`);
      spec = {
        kind: 'batchNorm',
        epsilon: cfg.epsilon as number,
        weights: {
          mean: w('movingMean') as tf.Tensor1D,
          variance: w('movingVariance') as tf.Tensor1D,
          gamma: w('gamma') as tf.Tensor1D | undefined,
          beta: w('beta') as tf.Tensor1D | undefined,
        },
      };
      break;
    }
    case 'Activation': {
      const a = activationOf(cfg.activation);
      if (!a) throw unknown(layer, `activation ${String(cfg.activation)}`);
      spec = { kind: 'activation', activation: a, weights: NONE };
      break;
    }
    case 'ReLU': {
      const max = cfg.maxValue as number | null | undefined;
      spec = { kind: 'activation', activation: max == null ? { fn: 'relu' } : { fn: 'clip', min: 0, max }, weights: NONE };
      break;
    }
    case 'LeakyReLU':
      spec = { kind: 'activation', activation: { fn: 'leakyRelu', alpha: (cfg.alpha as number) ?? 0.3 }, weights: NONE };
      break;
    case 'ELU':
      if (((cfg.alpha as number) ?? 1) !== 1) throw unknown(layer, `alpha ${String(cfg.alpha)}`);
      spec = { kind: 'activation', activation: { fn: 'elu' }, weights: NONE };
      break;
    case 'Softmax':
      spec = { kind: 'activation', activation: { fn: 'softmax', axis: (cfg.axis as number) ?? -1 }, weights: NONE };
      break;
    case 'PReLU':
      spec = { kind: 'prelu', weights: { alpha: w('alpha')! } };
      break;
    case 'ZeroPadding2D': {
      const p = cfg.padding as unknown;
      const [[t, b], [l, r]] = Array.isArray(p) ? (p as unknown[]).map((v) => pair(v)) : [pair(p), pair(p)];
      spec = {
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
      break;
    }
    case 'UpSampling2D':
      spec = {
        kind: 'resize',
        size: [shape[0], shape[1]],
        method: cfg.interpolation === 'bilinear' ? 'bilinear' : 'nearest',
        alignCorners: false,
        weights: NONE,
      };
      break;
    case 'Add':
    case 'Subtract':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum': {
      const kinds = { Add: 'add', Subtract: 'sub', Multiply: 'mul', Maximum: 'max', Minimum: 'min' } as const;
      spec = { kind: kinds[cls], weights: NONE };
      break;
    }
    case 'Average': {
      const sum = emit({ kind: 'add', weights: NONE }, `${layer.name}/sum`);
      const scale = `${layer.name}/scale`;
      constants.set(scale, tf.scalar(1 / inputs.length));
      emit({ kind: 'mul', weights: NONE }, layer.name, [sum, scale]);
      break;
    }
    case 'Concatenate':
      spec = { kind: 'concat', axis: (cfg.axis as number) ?? -1, weights: NONE };
      break;
    case 'Flatten':
      spec = { kind: 'flatten', order: 'nhwc', weights: NONE };
      break;
    case 'Reshape':
      spec = { kind: 'reshape', shape, weights: NONE };
      break;
    case 'Permute':
      spec = { kind: 'transpose', perm: [0, ...(cfg.dims as number[])], weights: NONE };
      break;
    default:
      if (IDENTITY.has(cls)) spec = { kind: 'identity', weights: NONE };
      else throw unknown(layer);
  }
  return spec;
}

/** A layer's output shape without the batch dimension. */
function outShape(layer: tf.layers.Layer): number[] {
  let s = layer.outputShape as (number | null)[] | (number | null)[][];
  if (Array.isArray(s[0])) s = s[0] as (number | null)[];
  return (s as (number | null)[]).slice(1).map((d) => d ?? -1);
}
