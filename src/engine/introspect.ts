import type { LayerInfo, LayerKind } from '../shared/protocol';
import { activationName, modelGraph, outputShapeOf } from './graph';
import * as tf from './tf';

const KINDS: Record<string, LayerKind> = {
  InputLayer: 'input',
  Dense: 'dense',
  Conv2D: 'conv',
  DepthwiseConv2D: 'depthwiseConv',
  SeparableConv2D: 'conv',
  MaxPooling2D: 'pool',
  AveragePooling2D: 'pool',
  GlobalAveragePooling2D: 'pool',
  GlobalMaxPooling2D: 'pool',
  Activation: 'activation',
  ReLU: 'activation',
  LeakyReLU: 'activation',
  Softmax: 'activation',
  BatchNormalization: 'normalization',
  Add: 'merge',
  Concatenate: 'merge',
  Multiply: 'merge',
  Average: 'merge',
  Maximum: 'merge',
  Minimum: 'merge',
  Flatten: 'reshape',
  Reshape: 'reshape',
  Dropout: 'other',
};

/** Layers whose kernel `layerWeights` (weights.ts) shows as images. */
export const WEIGHT_LAYERS = new Set(['Dense', 'Conv2D', 'DepthwiseConv2D']);

/** The output shape of a layer without the batch dimension (first output for multi-output layers). */
function layerOutputShape(layer: tf.layers.Layer): number[] {
  return outputShapeOf(layer);
}

/**
 * Lists a model's layers as the views show them (plain data), in `model.layers` order (a functional model's
 * InputLayer included, a Sequential model's not). `inbound` names every layer feeding this one within this
 * model, in call order (two or more for merges; the input layer's name for the first layer of a Sequential).
 */
export function describeLayers(model: tf.LayersModel): LayerInfo[] {
  let sources: ReturnType<typeof modelGraph>['sources'] | null = null;
  try {
    sources = modelGraph(model).sources;
  } catch {
    // several inputs or shared layers: fall back to the layers' own first call below
  }
  const inputName = model.inputs[0]?.sourceLayer?.name ?? 'input';
  return model.layers.map((layer, index) => {
    const className = layer.getClassName();
    const outputShape = layerOutputShape(layer);
    const activation = activationName(layer) ?? (className === 'ReLU' ? 'relu' : undefined);
    let inbound: string[];
    if (sources) {
      inbound = sources[index].map((s) => (s.kind === 'input' ? inputName : model.layers[s.layer].name));
    } else {
      const node = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes[0];
      inbound = node ? node.inboundLayers.map((l) => l.name) : [];
    }
    return {
      index,
      name: layer.name,
      className,
      kind: KINDS[className] ?? 'other',
      outputShape,
      nodes: outputShape.length ? outputShape[outputShape.length - 1] : 1,
      params: layer.countParams(),
      ...(activation ? { activation } : {}),
      hasWeights: WEIGHT_LAYERS.has(className) && layer.getWeights().length > 0,
      inbound,
    };
  });
}
