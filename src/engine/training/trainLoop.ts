/**
 * The training batch loop of train.ts: epochs of seeded shuffled batches (augmented, preprocessed), progress per
 * batch, cancellation between batches, the test split evaluated after each epoch, and the restart check.
 */
import type { EpochRecord } from '../../shared/protocol';
import { augmentBatch } from '../datasets/augment';
import type { Batch, Dataset } from '../datasets/dataset';
import { Random } from '../datasets/random';
import { UserError } from '../runtime/errors';
import { yieldToEvents, type Job } from '../runtime/job';
import { preprocessImages, type PreprocessSpec } from '../models/preprocess';
import * as tf from '../runtime/tf';
import { evaluate } from './evaluate';
import type { Recipe } from './recipes';

/** Images per block when the train split is too large to preload: blocks are shuffled, then images within. */
const BLOCK = 4096;

/**
 * The batch loop. Train accuracy is the running accuracy over the last epoch (with dropout active).
 * `attempt` > 0 means a restart is still possible: the run returns undefined when it falls short of
 * `recipe.restarts` (see recipes.ts).
 */
export async function fit(
  model: tf.LayersModel,
  recipe: Recipe,
  train: Dataset,
  all: Batch | undefined,
  test: Dataset,
  classes: number,
  job: Job,
  attempt: number,
  attempts: number,
  file: string,
  onEpoch?: (epoch: number) => Promise<void>,
  pre?: PreprocessSpec,
) {
  const rnd = new Random(recipe.seed);
  const augRnd = new Random(recipe.seed + 7919);
  const bs = recipe.batchSize;
  const batches = Math.ceil(train.size / bs);
  const history: EpochRecord[] = [];
  let trainSeconds = 0;
  let trainAccuracy = 0;
  let last = { accuracy: 0, loss: 0, confusion: [] as number[][] };
  let lastReport = 0;
  for (let epoch = 0; epoch < recipe.epochs; epoch++) {
    const t0 = performance.now();
    let lossSum = 0;
    let accSum = 0;
    let seen = 0;
    let b = 0;
    for await (const batch of shuffled(train, all, bs, rnd)) {
      job.throwIfCancelled();
      const { count } = batch;
      const [loss, acc] = await trainStep(model, recipe, train.shape, batch, classes, augRnd, pre);
      if (!Number.isFinite(loss)) {
        throw new UserError('badInput', `training diverged: the loss became ${loss} in epoch ${epoch + 1}. Lower "training.optimizer.learningRate".`, file);
      }
      lossSum += loss * count;
      accSum += acc * count;
      seen += count;
      b++;
      const now = performance.now();
      if (now - lastReport > 100 || b === batches) {
        lastReport = now;
        job.progress({
          fraction: (epoch + b / batches) / recipe.epochs,
          message: `${attempts > 1 ? `Attempt ${attempt || attempts}/${attempts}, e` : 'E'}poch ${epoch + 1}/${recipe.epochs}, batch ${b}/${batches}: loss ${(lossSum / seen).toFixed(4)}, accuracy ${((accSum / seen) * 100).toFixed(1)}%`,
          train: {
            epoch: epoch + 1,
            epochs: recipe.epochs,
            batch: b,
            batches,
            loss: lossSum / seen,
            accuracy: accSum / seen,
            ...(attempts > 1 ? { attempt: attempt || attempts, attempts } : {}),
          },
          count: { done: epoch * train.size + seen, total: recipe.epochs * train.size, unit: 'images' },
        });
      }
      await yieldToEvents();
    }
    trainSeconds += (performance.now() - t0) / 1000;
    trainAccuracy = accSum / seen;
    if (attempt > 0 && epoch + 1 === recipe.restarts.afterEpochs && trainAccuracy < recipe.restarts.minTrainAccuracy) {
      job.progress({
        message: `Attempt ${attempt}/${attempts}: training accuracy ${(trainAccuracy * 100).toFixed(1)}% after ${epoch + 1} epochs; restarting from seed ${recipe.seed + 1}`,
      });
      return undefined;
    }
    await onEpoch?.(epoch + 1);
    last = await evaluate(model, test, classes, job, undefined, pre);
    history.push({ epoch: epoch + 1, loss: lossSum / seen, accuracy: trainAccuracy, testLoss: last.loss, testAccuracy: last.accuracy });
  }
  return { history, trainSeconds, trainAccuracy, last };
}

/** One optimizer step on a batch, augmented and preprocessed here (in place): its loss and accuracy (NaN without the metric). */
async function trainStep(
  model: tf.LayersModel,
  recipe: Recipe,
  shape: Dataset['shape'],
  { images, labels, count }: { images: Float32Array; labels: Int32Array; count: number },
  classes: number,
  augRnd: Random,
  pre: PreprocessSpec | undefined,
): Promise<number[]> {
  const [h, w, c] = shape;
  if (recipe.augment.flip || recipe.augment.rotate > 0) augmentBatch(images, count, shape, recipe.augment, augRnd);
  if (pre) preprocessImages(images, count, shape, pre);
  const x = tf.tensor4d(images, [count, h, w, c]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32'));
  let out: number | number[];
  try {
    out = await model.trainOnBatch(x, y);
  } finally {
    x.dispose();
    y.dispose();
  }
  return Array.isArray(out) ? out : [out, NaN];
}

/**
 * One epoch's batches in a seeded random order. A preloaded split is shuffled whole; a large one is read
 * in blocks of consecutive images (cheap sequential reads), the blocks visited in random order and the
 * images shuffled within each block.
 */
async function* shuffled(ds: Dataset, all: { images: Float32Array; labels: Int32Array } | undefined, bs: number, rnd: Random) {
  const size = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const take = (src: { images: Float32Array; labels: Int32Array }, order: Int32Array, s: number, e: number) => {
    const images = new Float32Array((e - s) * size);
    const labels = new Int32Array(e - s);
    for (let i = s; i < e; i++) {
      images.set(src.images.subarray(order[i] * size, (order[i] + 1) * size), (i - s) * size);
      labels[i - s] = src.labels[order[i]];
    }
    return { images, labels, count: e - s };
  };
  if (all) {
    const order = rnd.shuffle(Int32Array.from({ length: ds.size }, (_, i) => i));
    for (let s = 0; s < ds.size; s += bs) yield take(all, order, s, Math.min(ds.size, s + bs));
    return;
  }
  const blocks = rnd.shuffle(Array.from({ length: Math.ceil(ds.size / BLOCK) }, (_, i) => i));
  for (const blk of blocks) {
    const start = blk * BLOCK;
    const end = Math.min(ds.size, start + BLOCK);
    let chunk: { images: Float32Array; labels: Int32Array } | undefined;
    for await (const b of ds.batches(end - start, start, end)) chunk = b;
    const order = rnd.shuffle(Int32Array.from({ length: end - start }, (_, i) => i));
    for (let s = 0; s < order.length; s += bs) yield take(chunk!, order, s, Math.min(order.length, s + bs));
  }
}
