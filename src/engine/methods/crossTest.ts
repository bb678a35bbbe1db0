/**
 * The cross test of two (or more) models: each model on each lens file's test split, as the seed's EFL
 * experiment (the net trained on the letters and the one trained on their negatives, each tested on both).
 *
 * A model's prediction for an image is the argmax of its output (the first of equal values); the error is the
 * fraction of images whose prediction is not their label, and `confusion[actual][predicted]` counts them
 * (rows: the dataset's classes, columns: the model's outputs). Labels are compared by index, so the two lens
 * files must list their classes in the same order (their names are returned to check). A model whose input
 * does not match a dataset's images has no cell there (`error: null` and the reason).
 */
import type { CrossCell, CrossTable } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import { yieldToEvents, type Job } from '../runtime/job';
import { predict } from '../models/forward';
import type { Network } from '../models/network';
import * as tf from '../runtime/tf';

/** Whether `net` reads images of `ds`'s shape; the reason when not. */
export function inputMismatch(net: Network, ds: Dataset): string | undefined {
  const s = net.input.shape;
  if (s.length === 3 && s.every((d, i) => d === ds.shape[i])) return undefined;
  return `model ${net.name} reads [${s.join(', ')}] images, the dataset has [${ds.shape.join(', ')}]`;
}

/** Error and confusion matrix of `net` over the whole of `ds`, in batches (only `[batch, outputs]` leaves the backend). */
export async function evaluateNetwork(net: Network, ds: Dataset, job?: Job, batchSize = 256): Promise<CrossCell> {
  const note = inputMismatch(net, ds);
  if (note) return { error: null, images: ds.size, note };
  const classes = ds.classes.length;
  let confusion: number[][] | undefined;
  let wrong = 0;
  for await (const b of ds.batches(batchSize)) {
    job?.throwIfCancelled();
    const x = tf.tensor4d(b.images, [b.count, ...ds.shape]);
    let out: tf.Tensor;
    try {
      out = predict(net, x);
    } finally {
      x.dispose();
    }
    const p = (await out.data()) as Float32Array;
    out.dispose();
    const k = p.length / b.count;
    confusion ??= Array.from({ length: classes }, () => new Array<number>(k).fill(0));
    for (let i = 0; i < b.count; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + best]) best = j;
      const label = b.labels[i];
      if (best !== label) wrong++;
      if (label < classes) confusion[label][best]++;
    }
    await yieldToEvents();
  }
  return { error: wrong / ds.size, images: ds.size, confusion: confusion ?? [] };
}

/** Every model on every dataset (`cells[model][dataset]`). */
export async function crossTest(models: { name: string; net: Network }[], datasets: { name: string; ds: Dataset }[], job?: Job): Promise<CrossTable> {
  const cells: CrossCell[][] = [];
  let done = 0;
  for (const m of models) {
    const row: CrossCell[] = [];
    for (const d of datasets) {
      job?.progress({ fraction: done / (models.length * datasets.length), message: `cross test: ${m.name} on ${d.name}` });
      row.push(await evaluateNetwork(m.net, d.ds, job));
      done++;
    }
    cells.push(row);
  }
  return {
    models: models.map((m) => m.name),
    datasets: datasets.map((d) => ({ name: d.name, source: d.ds.source, classes: [...d.ds.classes], images: d.ds.size })),
    cells,
  };
}
