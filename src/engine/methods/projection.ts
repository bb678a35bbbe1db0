import { isProjectionMethod, PROJECTION_METHODS, type FloatArray, type ProjectionMethod, type ProjectionResult } from '../../shared/protocol';
import { deconvolve } from './deconv';
import { check } from '../runtime/errors';
import { gradcam } from './gradcam';
import { imageTensor, range, toFloatArray } from '../models/layerAccess';
import { guidedBackprop } from './guidedBackprop';
import type { Network } from '../models/network';
import { saliency } from './saliency';
import * as tf from '../runtime/tf';

/** The methods and their names live in shared/protocol.ts (one list for the engine and the webview). */

/**
 * Projects node `node` of layer `layer` to pixel space for a batch `images` `[b, h, w, c]` with `method`.
 * Returns `[b, h, w, c]` (`[b, h, w, 1]` for Grad-CAM); the caller disposes it.
 */
export function projectBatch(model: Network, layer: number, node: number, images: tf.Tensor, method: ProjectionMethod, maxOnly = false): tf.Tensor {
  switch (method) {
    case 'deconv':
      return deconvolve(model, layer, node, images, { switches: true, maxOnly });
    case 'deconvNoSwitches':
      return deconvolve(model, layer, node, images, { switches: false, maxOnly });
    case 'guided':
      return guidedBackprop(model, layer, node, images, maxOnly);
    case 'saliency':
      return saliency(model, layer, node, images, maxOnly);
    case 'gradcam':
      return gradcam(model, layer, node, images, maxOnly);
  }
  check(false, `Unknown projection method "${String(method)}"; use one of ${PROJECTION_METHODS.join(', ')}.`);
}

/** One image `[h, w, c]` projected with `method` (see `projectBatch`), with its value range. */
export function project(model: Network, layer: number, node: number, image: FloatArray, method: ProjectionMethod, maxOnly = false): ProjectionResult {
  check(isProjectionMethod(method), `Unknown projection method "${String(method)}"; use one of ${PROJECTION_METHODS.join(', ')}.`);
  const x = imageTensor(model, image);
  try {
    const out = projectBatch(model, layer, node, x, method, maxOnly);
    const projection = toFloatArray(out);
    out.dispose();
    return { method, layer, node, projection, ...range(projection.data) };
  } finally {
    x.dispose();
  }
}
