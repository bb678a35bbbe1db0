/**
 * Feature maps (featureMaps.ts) on the native forward path: the same result, computed by onnxruntime-node where
 * it runs this network; null otherwise (the caller then runs the tfjs method).
 */
import type { FeatureMapsResult, FloatArray } from '../../shared/protocol';
import { check } from '../runtime/errors';
import { checkLayer, range } from '../models/layerAccess';
import type { Network } from '../models/network';
import { nativeForward, recordForwardPath } from './forwardLayers';

export async function nativeFeatureMaps(net: Network, layer: number, image: FloatArray): Promise<FeatureMapsResult | null> {
  const l = checkLayer(net, layer);
  const shape = net.input.shape;
  check(
    image.shape.length === shape.length && image.shape.every((d, i) => d === shape[i]),
    `The image has shape [${image.shape.join(', ')}] but model ${net.name} expects [${shape.join(', ')}].`,
  );
  check(
    image.data.length === shape.reduce((a, b) => a * b, 1),
    `The image data has ${image.data.length} values but its shape [${shape.join(', ')}] needs ${shape.reduce((a, b) => a * b, 1)}.`,
  );
  const out = net.ops.findIndex((op) => op.name === net.output);
  const got = await nativeForward(net, image.data, 1, [l.op, out]);
  if (!got) return null;
  recordForwardPath('feature maps', 'onnxruntime');
  return { layer, maps: { shape: [...net.ops[l.op].shape], data: got[0] }, ...range(got[0]), output: got[1] };
}
