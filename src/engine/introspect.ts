import type { LayerInfo, LayerKind } from '../shared/protocol';
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
  Flatten: 'reshape',
  Reshape: 'reshape',
  Dropout: 'other',
};

/** The output shape of a layer without the batch dimension (first output for multi-output layers). */
export function layerOutputShape(layer: tf.layers.Layer): number[] {
  let shape = layer.outputShape as (number | null)[] | (number | null)[][];
  if (Array.isArray(shape[0])) shape = shape[0] as (number | null)[];
  return (shape as (number | null)[]).slice(1).map((d) => (d == null ? -1 : d));
}

/** Lists a model's layers as the views show them (plain data). */
export function describeLayers(model: tf.LayersModel): LayerInfo[] {
  return model.layers.map((layer, index) => {
    const className = layer.getClassName();
    const outputShape = layerOutputShape(layer);
    const config = layer.getConfig() as { activation?: string };
    const inbound: string[] = [];
    for (const node of (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes ?? []) {
      for (const l of node.inboundLayers) if (!inbound.includes(l.name)) inbound.push(l.name);
    }
    return {
      index,
      name: layer.name,
      className,
      kind: KINDS[className] ?? 'other',
      outputShape,
      nodes: outputShape.length ? outputShape[outputShape.length - 1] : 1,
      params: layer.countParams(),
      ...(typeof config.activation === 'string' ? { activation: config.activation } : {}),
      hasWeights: layer.getWeights().length > 0,
      inbound,
    };
  });
}
