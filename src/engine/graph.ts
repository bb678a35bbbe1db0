/**
 * Walking a Layers model layer by layer: which layers feed which, every layer's output in one forward pass
 * (`activationModel`, `layerOutputs`), and an explicit forward pass built from plain tf ops
 * (`runLayers`) that the gradient methods differentiate and whose ReLUs they can replace.
 *
 * Indices are always indices into `model.layers` (a Sequential model's list has no InputLayer; a functional
 * model's does). Images are `[batch, h, w, c]` float32.
 */
import type { FloatArray } from '../shared/protocol';
import { check, UserError } from './errors';
import * as tf from './tf';

type AnyLayer = tf.layers.Layer & Record<string, unknown>;

/** Where a layer's input comes from: the model's input, or output `tensor` of layer `layer`. */
export type Source = { kind: 'input' } | { kind: 'layer'; layer: number; tensor: number };

/** A model's wiring: for each layer, its sources (in call order). */
export interface Graph {
  model: tf.LayersModel;
  inputShape: number[];
  sources: Source[][];
  /** Index of the layer whose output is the model's output. */
  outputLayer: number;
}

interface InboundNode {
  inboundLayers: tf.layers.Layer[];
  nodeIndices: number[];
  tensorIndices: number[];
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}

const graphs = new WeakMap<tf.LayersModel, Graph>();
const activationModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

/** The inbound node through which `layer` belongs to `model` (a shared layer has several). */
function modelNode(model: tf.LayersModel, layer: tf.layers.Layer): InboundNode {
  const nodes = (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes;
  if (nodes.length === 1) return nodes[0];
  const inner = (model as unknown as { model?: tf.LayersModel }).model;
  for (const m of [model, inner]) {
    const keys = (m as unknown as { containerNodes?: Set<string> } | undefined)?.containerNodes;
    if (!keys) continue;
    for (let i = 0; i < nodes.length; i++) if (keys.has(`${layer.name}_ib-${i}`)) return nodes[i];
  }
  throw new UserError('unsupported', `Layer ${layer.name} is used more than once in the model (a shared layer); Feature Lens inspects models in which each layer is called once.`);
}

/** The model's wiring, cached per model. Throws `unsupported` for models with several inputs. */
export function modelGraph(model: tf.LayersModel): Graph {
  const hit = graphs.get(model);
  if (hit) return hit;
  if (model.inputs.length !== 1) {
    throw new UserError('unsupported', `Model ${model.name} has ${model.inputs.length} inputs; Feature Lens inspects models with one image input.`);
  }
  const input = model.inputs[0];
  const index = new Map(model.layers.map((l, i) => [l, i]));
  const sources = model.layers.map((layer) => {
    if (layer.getClassName() === 'InputLayer') return [];
    const node = modelNode(model, layer);
    return node.inputTensors.map((t, k): Source => {
      const from = node.inboundLayers[k];
      if (t === input || !index.has(from)) return { kind: 'input' };
      return { kind: 'layer', layer: index.get(from)!, tensor: node.tensorIndices[k] ?? 0 };
    });
  });
  const out = model.outputs[0];
  let outputLayer = model.layers.length - 1;
  model.layers.forEach((l, i) => {
    if (l === out.sourceLayer) outputLayer = i;
  });
  const g: Graph = { model, inputShape: (input.shape as (number | null)[]).slice(1).map((d) => d ?? -1), sources, outputLayer };
  graphs.set(model, g);
  return g;
}

/** Range-checks a layer index and returns the layer. */
export function checkLayer(model: tf.LayersModel, layer: number): AnyLayer {
  check(Number.isInteger(layer) && layer >= 0 && layer < model.layers.length, `Layer ${layer} is out of range: model ${model.name} has ${model.layers.length} layers (0 to ${model.layers.length - 1}).`);
  return model.layers[layer] as AnyLayer;
}

/** Number of nodes of a layer: the last dimension of its output. */
export function nodeCount(model: tf.LayersModel, layer: number): number {
  const shape = outputShapeOf(model.layers[layer]);
  return shape.length ? shape[shape.length - 1] : 1;
}

/** Range-checks a node index of a layer. */
export function checkNode(model: tf.LayersModel, layer: number, node: number): void {
  const n = nodeCount(model, layer);
  check(Number.isInteger(node) && node >= 0 && node < n, `Node ${node} is out of range: layer ${layer} (${model.layers[layer].name}) has ${n} nodes (0 to ${n - 1}).`);
}

/** A layer's output shape without the batch dimension (first output of a multi-output layer). */
export function outputShapeOf(layer: tf.layers.Layer): number[] {
  let shape = layer.outputShape as (number | null)[] | (number | null)[][];
  if (Array.isArray(shape[0])) shape = shape[0] as (number | null)[];
  return (shape as (number | null)[]).slice(1).map((d) => (d == null ? -1 : d));
}

/** Checks one image `[h, w, c]` against the model's input shape; returns it as a `[1, h, w, c]` tensor. */
export function imageTensor(model: tf.LayersModel, image: FloatArray): tf.Tensor {
  const expected = modelGraph(model).inputShape;
  const given = image.shape;
  const same = given.length === expected.length && given.every((d, i) => expected[i] === -1 || expected[i] === d);
  check(same, `The image has shape [${given.join(', ')}] but model ${model.name} expects [${expected.map((d) => (d < 0 ? '?' : d)).join(', ')}].`);
  check(image.data.length === given.reduce((a, b) => a * b, 1), `The image data has ${image.data.length} values but its shape [${given.join(', ')}] needs ${given.reduce((a, b) => a * b, 1)}.`);
  return tf.tensor(image.data, [1, ...given]);
}

/**
 * A model with the same input whose outputs are every layer's output, in `model.layers` order
 * (cached per model; it shares the model's weights, so it needs no disposal of its own).
 */
function activationModel(model: tf.LayersModel): tf.LayersModel {
  const hit = activationModels.get(model);
  if (hit) return hit;
  modelGraph(model);
  const outputs = model.layers.map((layer) => modelNode(model, layer).outputTensors[0]);
  const act = tf.model({ inputs: model.inputs, outputs, name: `${model.name}_activations` });
  activationModels.set(model, act);
  return act;
}

/**
 * Every layer's output for a batch, in `model.layers` order: `[batch, ...outputShape]` float32.
 * One forward pass; the caller owns (and disposes) the returned tensors.
 */
export function layerOutputs(model: tf.LayersModel, images: tf.Tensor): tf.Tensor[] {
  const out = activationModel(model).predict(images) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/** The layers on the single path from `layer` back to the input, `layer` first; throws when a layer on it has several inputs. */
export function pathToInput(model: tf.LayersModel, layer: number, method: string): number[] {
  const g = modelGraph(model);
  const path: number[] = [];
  let at: number | null = layer;
  while (at !== null) {
    const l = model.layers[at];
    if (l.getClassName() === 'InputLayer') break;
    const src: Source[] = g.sources[at];
    if (src.length !== 1) throw new UserError('unsupported', `${method} cannot pass through ${l.getClassName()} layer ${l.name}: it merges ${src.length} inputs.`);
    path.push(at);
    const s: Source = src[0];
    at = s.kind === 'input' ? null : s.layer;
  }
  return path;
}

/** The forward input of layer `index` given all layers' outputs (`outputs[i]`) and the model input `x`. */
export function inputOf(model: tf.LayersModel, index: number, x: tf.Tensor, outputs: (tf.Tensor | undefined)[]): tf.Tensor {
  const s = modelGraph(model).sources[index][0];
  if (!s || s.kind === 'input') return x;
  const t = outputs[s.layer];
  if (!t) throw new Error(`internal: output of layer ${s.layer} was not computed`);
  return t;
}

export interface RunOptions {
  /** Stop after this layer (default: the last). */
  until?: number;
  /** Replaces every ReLU (layer activations and ReLU layers); guided backpropagation passes its own. */
  relu?: (x: tf.Tensor) => tf.Tensor;
  /** Use this tensor as the output of layer `layer` instead of computing it (Grad-CAM differentiates there). */
  substitute?: { layer: number; value: tf.Tensor };
}

/**
 * Runs the model on `x` layer by layer with explicit tf ops (inference mode: dropout off, batch norm with
 * its moving statistics) and returns each computed layer's output. Unlike `predict`, the convolutions are
 * unfused, so an input gradient never asks for a filter gradient (which wasm lacks), and ReLUs can be
 * swapped. Layers it does not know are run with `layer.apply`. Call inside `tf.tidy`.
 */
export function runLayers(model: tf.LayersModel, x: tf.Tensor, opts: RunOptions = {}): tf.Tensor[] {
  const g = modelGraph(model);
  const until = opts.until ?? model.layers.length - 1;
  const outputs: tf.Tensor[] = [];
  for (let i = 0; i <= until; i++) {
    if (opts.substitute && opts.substitute.layer === i) {
      outputs[i] = opts.substitute.value;
      continue;
    }
    const inputs = g.sources[i].map((s) => (s.kind === 'input' ? x : outputs[s.layer]));
    outputs[i] = model.layers[i].getClassName() === 'InputLayer' ? x : forwardLayer(model.layers[i] as AnyLayer, inputs, opts.relu ?? tf.relu);
  }
  return outputs;
}

function read(layer: AnyLayer, name: string): tf.Tensor | null {
  const v = layer[name] as { read(): tf.Tensor } | null | undefined;
  return v ? v.read() : null;
}

/** The name of a layer's activation (`relu`, `linear`, ...), or undefined when it has none. */
export function activationName(layer: tf.layers.Layer): string | undefined {
  const a = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof a === 'string' ? a : undefined;
}

/** Whether the layer is (or ends in) a plain ReLU. */
export function endsInRelu(layer: tf.layers.Layer): boolean {
  const cls = layer.getClassName();
  if (cls === 'ReLU') {
    const c = layer.getConfig() as { maxValue?: number | null };
    return c.maxValue == null;
  }
  return activationName(layer) === 'relu';
}

function activate(layer: AnyLayer, y: tf.Tensor, relu: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const name = activationName(layer);
  if (!name || name === 'linear') return y;
  if (name === 'relu') return relu(y);
  return (layer.activation as { apply(t: tf.Tensor): tf.Tensor }).apply(y);
}

type Pair = [number, number];
const pair = (v: unknown): Pair => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v as number, v as number]);

function forwardLayer(layer: AnyLayer, inputs: tf.Tensor[], relu: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  const x = inputs[0];
  const channelsLast = cfg.dataFormat === undefined || cfg.dataFormat === 'channelsLast';
  switch (cls) {
    case 'Conv2D':
      if (!channelsLast) break;
      return activate(layer, addBias(tf.conv2d(x as tf.Tensor4D, read(layer, 'kernel') as tf.Tensor4D, pair(cfg.strides), cfg.padding as 'valid' | 'same', 'NHWC', pair(cfg.dilationRate)), read(layer, 'bias')), relu);
    case 'DepthwiseConv2D':
      if (!channelsLast) break;
      return activate(layer, addBias(tf.depthwiseConv2d(x as tf.Tensor4D, read(layer, 'depthwiseKernel') as tf.Tensor4D, pair(cfg.strides), cfg.padding as 'valid' | 'same', 'NHWC', pair(cfg.dilationRate)), read(layer, 'bias')), relu);
    case 'Dense': {
      const kernel = read(layer, 'kernel') as tf.Tensor2D;
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, x.shape[x.rank - 1]]);
      let y: tf.Tensor = addBias(tf.matMul(flat as tf.Tensor2D, kernel), read(layer, 'bias'));
      if (x.rank !== 2) y = tf.reshape(y, [...x.shape.slice(0, -1), kernel.shape[1]]);
      return activate(layer, y, relu);
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      if (!channelsLast) break;
      const size = pair(cfg.poolSize);
      const strides = cfg.strides == null ? size : pair(cfg.strides);
      const f = cls === 'MaxPooling2D' ? tf.maxPool : tf.avgPool;
      return f(x as tf.Tensor4D, size, strides, cfg.padding as 'valid' | 'same');
    }
    case 'GlobalAveragePooling2D':
      if (!channelsLast) break;
      return tf.mean(x, [1, 2]);
    case 'GlobalMaxPooling2D':
      if (!channelsLast) break;
      return tf.max(x, [1, 2]);
    case 'BatchNormalization': {
      const axis = cfg.axis as number | number[];
      const a = Array.isArray(axis) ? axis[0] : axis;
      if (a !== -1 && a !== x.rank - 1) break;
      return tf.batchNorm(x, read(layer, 'movingMean')!, read(layer, 'movingVariance')!, read(layer, 'beta') ?? undefined, read(layer, 'gamma') ?? undefined, cfg.epsilon as number);
    }
    case 'Activation':
      return activate(layer, x, relu);
    case 'ReLU':
      if (endsInRelu(layer)) return relu(x);
      break;
    case 'Flatten':
      return tf.reshape(x, [x.shape[0], -1]);
    case 'Dropout':
    case 'SpatialDropout1D':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return x;
    case 'Add':
      return inputs.length === 1 ? x : tf.addN(inputs);
    case 'Concatenate': {
      const axis = (cfg.axis as number) ?? -1;
      return tf.concat(inputs, axis < 0 ? x.rank + axis : axis);
    }
  }
  return layer.apply(inputs.length === 1 ? x : inputs, { training: false }) as tf.Tensor;
}

function addBias(y: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  return bias ? tf.add(y, bias) : y;
}

/** A tensor's values as a `FloatArray` without the batch dimension when `dropBatch` (copies). */
export function toFloatArray(t: tf.Tensor, dropBatch = true): FloatArray {
  return { shape: dropBatch ? t.shape.slice(1) : [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
}

/** Min and max of an array (0, 0 when empty). */
export function range(data: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return data.length ? { min, max } : { min: 0, max: 0 };
}
