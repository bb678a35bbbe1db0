import type { LayerInfo } from '../../shared/protocol';
import type { Network, Op } from './network';
import type * as tf from '../runtime/tf';

/** Op kinds whose kernel `layerWeights` (weights.ts) shows as images. */
export const WEIGHT_KINDS = new Set(['dense', 'conv2d', 'depthwiseConv2d']);

/** Number of weight values of an op. */
function paramsOf(op: Op): number {
  return Object.values(op.weights as Record<string, tf.Tensor | undefined>).reduce((a, w) => a + (w ? w.size : 0), 0);
}

/** The activation an op applies (its fused activation, or an activation op's function), if any. */
export function activationOf(op: Op): string | undefined {
  if (op.kind === 'prelu') return 'prelu';
  const a = 'activation' in op ? op.activation : undefined;
  if (!a || a.fn === 'linear') return undefined;
  if (a.fn === 'clip' && a.min === 0 && a.max === 6) return 'relu6';
  return a.fn;
}

/**
 * Lists a network's inspectable layers as the views show them (plain data), in `net.layers` order (the input
 * and ops that only move data are not listed). `inbound` names the values each layer's op reads (an op,
 * the network input, or a constant), in order; two or more for merges.
 */
export function describeLayers(net: Network): LayerInfo[] {
  return net.layers.map((layer, index) => {
    const op = net.ops[layer.op];
    const activation = activationOf(op);
    return {
      index,
      name: layer.name,
      className: op.source,
      kind: layer.kind,
      outputShape: [...layer.shape],
      nodes: layer.nodes,
      params: paramsOf(op),
      ...(activation ? { activation } : {}),
      hasWeights: WEIGHT_KINDS.has(op.kind) && 'kernel' in op.weights,
      inbound: [...op.inputs],
    };
  });
}

/** Total weight values of a network. */
export function totalParams(net: Network): number {
  return net.ops.reduce((a, op) => a + paramsOf(op), 0);
}
