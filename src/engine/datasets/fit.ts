import { UserError } from '../runtime/errors';
import type * as tf from '../runtime/tf';
import type { Dataset } from './dataset';

/**
 * Checks that a dataset's images fit a model's input (`[h, w, c]`, unknown dims accepted) and, when the
 * model ends in one unit per class, that the class counts agree. Throws one `badInput` error naming `file`
 * (the lens file that pairs them).
 */
export function checkFitsModel(dataset: Dataset, model: tf.LayersModel, file: string): void {
  const input = (model.inputs[0].shape as (number | null)[]).slice(1);
  const want = input.map((d) => (d == null || d < 0 ? '?' : String(d))).join('×');
  const have = dataset.shape.join('×');
  const dims = input.length === 3 ? input : input.length === 2 ? [...input, 1] : undefined;
  const fits = !!dims && dims.every((d, i) => d == null || d < 0 || d === dataset.shape[i]);
  if (!fits) {
    throw new UserError(
      'badInput',
      `the dataset's images (${dataset.source}) are ${have} (height×width×channels) but the model expects ${want}. Change the dataset's size/channels or the model's input.`,
      file,
    );
  }
  const out = (model.outputs[0].shape as (number | null)[]).slice(1);
  const units = out[out.length - 1];
  if (out.length === 1 && units != null && dataset.classes.length > 1 && units !== dataset.classes.length && units !== 1) {
    throw new UserError(
      'badInput',
      `the dataset has ${dataset.classes.length} classes (${dataset.classes.slice(0, 12).join(', ')}) but the model's output has ${units} units.`,
      file,
    );
  }
}
