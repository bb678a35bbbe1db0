import type { Dataset } from '../datasets/dataset';
import type { Job } from '../runtime/job';
import { yieldToEvents } from '../runtime/job';
import { preprocessImages, type PreprocessSpec } from '../models/preprocess';
import * as tf from '../runtime/tf';

export interface Evaluation {
  accuracy: number;
  /** Mean cross-entropy `-log p(label)` (probabilities clipped at 1e-7). */
  loss: number;
  /** `confusion[actual][predicted]`. */
  confusion: number[][];
  images: number;
}

/**
 * Accuracy, cross-entropy and confusion matrix of a classifier over a whole dataset split, in batches
 * (only the `[batch, classes]` outputs leave the backend); `pre`, a lens's input preprocessing, is applied to
 * each batch first (a LayersModel being trained has no prefix op).
 */
export async function evaluate(model: tf.LayersModel, ds: Dataset, classes: number, job?: Job, batchSize = 256, pre?: PreprocessSpec): Promise<Evaluation> {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let loss = 0;
  const [h, w, c] = ds.shape;
  for await (const b of ds.batches(batchSize)) {
    job?.throwIfCancelled();
    // A copy: a dataset may hand out views of the images it keeps.
    const images = pre ? b.images.slice(0, b.count * h * w * c) : b.images;
    if (pre) preprocessImages(images, b.count, ds.shape, pre);
    const probs = tf.tidy(() => model.predict(tf.tensor4d(images, [b.count, h, w, c])) as tf.Tensor);
    const p = (await probs.data()) as Float32Array;
    probs.dispose();
    const k = p.length / b.count;
    for (let i = 0; i < b.count; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + best]) best = j;
      const label = b.labels[i];
      if (best === label) correct++;
      if (label < classes && best < classes) confusion[label][best]++;
      loss -= Math.log(Math.max(1e-7, p[i * k + label] ?? 0));
    }
    await yieldToEvents();
  }
  return { accuracy: correct / ds.size, loss: loss / ds.size, confusion, images: ds.size };
}
