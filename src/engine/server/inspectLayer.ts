import * as path from 'node:path';
import type { FeatureMapsResult, FloatArray, LayerInspection, ParamsOf } from '../../shared/protocol';
import { check } from '../runtime/errors';
import { featureMaps } from '../methods/featureMaps';
import { checkLayer } from '../models/layerAccess';
import { openDataset, readLens } from '../lens/lens';
import type { Network } from '../models/network';
import { loadLensModel } from '../lens/lensModel';
import { loadModel } from '../models/modelIO';
import { nativeFeatureMaps } from '../native/featureMaps';
import { readImageFile } from './pickedImage';
import { UserError } from '../runtime/errors';
import { recordForwardPath } from '../native/forwardLayers';
import { layerWeights } from '../methods/weights';

/**
 * Everything the layer page shows, in one request: every node's weights (when the layer has weight images)
 * and, when `lens` is given and its test split has images, the layer's feature maps for test image `image`
 * (default 0, clamped to the split) with that image and its class; without a lens, those of image file `file`
 * (a picked image) when given. The model is the lens's when a lens is given, else `model`.
 */
export async function inspectLayer(p: ParamsOf<'inspectLayer'>): Promise<LayerInspection> {
  check(p.image === undefined || (Number.isInteger(p.image) && p.image >= 0), `The image index must be a whole number from 0 (got ${String(p.image)}).`);
  const lens = p.lens ? await readLens(p.lens) : undefined;
  const { network, info } = lens ? await loadLensModel(lens) : await loadModel(p.model);
  checkLayer(network, p.layer);
  const weights = info.layers[p.layer].hasWeights ? layerWeights(network, p.layer) : undefined;
  const result: LayerInspection = { model: info, layer: p.layer, ...(weights ? { weights } : {}) };
  if (!lens && p.file) return { ...result, ...(await fileFeatureMaps(network, p.layer, p.file)) };
  if (!lens) return result;
  const ds = await openDataset(lens, 'test');
  if (ds.size === 0) return result;
  const index = Math.min(p.image ?? 0, ds.size - 1);
  const b = await ds.gather([index]);
  const image = { shape: [...ds.shape], data: b.images };
  const fm = await forwardFeatureMaps(network, p.layer, image);
  const className = ds.classes[b.labels[0]] ?? String(b.labels[0]);
  return { ...result, featureMaps: { index, images: ds.size, className, image, maps: fm.maps, min: fm.min, max: fm.max } };
}

/** Without a lens file: the feature maps of an image file (a picked image), or one line on why it cannot be read. */
async function fileFeatureMaps(net: Network, layer: number, file: string): Promise<Pick<LayerInspection, 'featureMaps' | 'pickedError'>> {
  let image: FloatArray;
  try {
    image = await readImageFile(file, net);
  } catch (e) {
    if (e instanceof UserError) return { pickedError: e.message };
    throw e;
  }
  const fm = await forwardFeatureMaps(net, layer, image);
  return { featureMaps: { index: 0, images: 1, className: path.basename(file), image, maps: fm.maps, min: fm.min, max: fm.max } };
}

/** A layer's feature maps for one image: natively where the native runtime runs this network, else on tfjs (the reference). */
export async function forwardFeatureMaps(net: Network, layer: number, image: FloatArray): Promise<FeatureMapsResult> {
  const native = await nativeFeatureMaps(net, layer, image);
  if (native) return native;
  recordForwardPath('feature maps', 'tfjs');
  return featureMaps(net, layer, image);
}
