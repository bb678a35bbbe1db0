/**
 * Training a lens file's recipe (`training` in the lens, see recipes.ts): builds the model, trains it with a
 * batch loop that reports progress per batch and honours cancellation between batches, evaluates it on the
 * test split (and any cross tests), then writes the model (`lens.model`) and `<stem>.training.json` beside
 * the lens file, atomically. A cancelled or failed run writes nothing: the previous files stay as they were.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EpochRecord, TrainResult } from '../../shared/protocol';
import { currentBackend } from '../runtime/backend';
import { augmentBatch } from '../datasets/augment';
import type { Batch, Dataset } from '../datasets/dataset';
import { checkFitsModel } from '../datasets/fit';
import { Random } from '../datasets/random';
import { UserError } from '../runtime/errors';
import { evaluate } from './evaluate';
import { isInside, writeFileAtomic } from '../runtime/fsutil';
import { yieldToEvents, type Job } from '../runtime/job';
import { openDataset, readLens, readResultsFile, type Lens } from '../lens/lens';
import { datasetPaths, openSpec, type DatasetSpec } from '../lens/lensDatasets';
import { madeByFeatureLens, saveModel, sweepTemps } from '../models/modelIO';
import { CheckpointWriter, checkpointEpochs } from './checkpoints';
import { preprocessImages, preprocessMismatch, type PreprocessSpec } from '../models/preprocess';
import { buildModel, makeOptimizer } from './recipeModel';
import type { Recipe } from './recipes';
import * as tf from '../runtime/tf';

/** A train split up to this size (as float32) is read into memory once; larger ones are read in blocks. */
const PRELOAD_BYTES = 768 * 2 ** 20;
/** Images per block when the train split is too large to preload: blocks are shuffled, then images within. */
const BLOCK = 4096;

/** Trains the model a lens file's recipe describes and writes it, its history and metrics beside the lens. */
export async function trainLens(lensPath: string, job: Job): Promise<TrainResult> {
  const lens = await readLens(lensPath);
  const recipe = lens.training;
  if (!recipe)
    throw new UserError(
      'badInput',
      'has no "training" recipe, so Feature Lens cannot train its model (it can still inspect an existing model.json).',
      lens.path,
    );
  await checkTrainingTargets(lens);
  const train = await openDataset(lens, 'train');
  const test = await openDataset(lens, 'test');
  const classes = train.classes.length >= test.classes.length ? train.classes : test.classes;
  if (train.shape.join() !== test.shape.join()) {
    throw new UserError('badInput', `the train images are ${train.shape.join('×')} but the test images are ${test.shape.join('×')}.`, lens.path);
  }
  const crossSets: { name: string; ds: Dataset }[] = [];
  for (const c of recipe.crossTests) {
    const ds = await openSpec(c.dataset as DatasetSpec, 'test', lens.path);
    if (ds.shape.join() !== train.shape.join())
      throw new UserError('badInput', `cross test "${c.name}" has ${ds.shape.join('×')} images but the model reads ${train.shape.join('×')}.`, lens.path);
    crossSets.push({ name: c.name, ds });
  }

  const started = performance.now();
  const modelName = path.basename(lens.model, '.json') === 'model' ? lens.name : path.basename(lens.model, '.json');
  const { attempts } = recipe.restarts;
  const [h, w, c] = train.shape;
  // The lens's preprocess is applied to every batch as the inspection methods apply it in front of the model.
  const pre = lens.preprocess;
  const mismatch = pre && preprocessMismatch(pre, c);
  if (mismatch) throw new UserError('badInput', mismatch, lens.path);
  const all = train.size * h * w * c * 4 <= PRELOAD_BYTES ? await train.gather(Int32Array.from({ length: train.size }, (_, i) => i)) : undefined;
  const checkpoints = recipe.checkpoints ? new CheckpointWriter(lens.model, checkpointEpochs(recipe)) : undefined;
  for (let attempt = 1; ; attempt++) {
    const seed = recipe.seed + attempt - 1;
    const model = buildModel({ ...recipe, seed }, train.shape, classes.length, modelName, lens.path);
    const optimizer = makeOptimizer(recipe.optimizer);
    try {
      checkFitsModel(train, model, lens.path);
      model.compile({ optimizer, loss: recipe.loss, metrics: ['accuracy'] });
      await checkpoints?.reset();
      const onEpoch = checkpoints && ((epoch: number) => checkpoints.epochEnd(model, epoch));
      const run = await fit(
        model,
        { ...recipe, seed },
        train,
        all,
        test,
        classes.length,
        job,
        attempt < attempts ? attempt : 0,
        attempts,
        lens.path,
        onEpoch,
        pre,
      );
      if (!run) continue;
      const { history, trainSeconds, trainAccuracy, last } = run;
      const crossTests = [];
      for (const c of crossSets) {
        const e = await evaluate(model, c.ds, classes.length, job, undefined, pre);
        crossTests.push({ name: c.name, accuracy: e.accuracy, error: 1 - e.accuracy });
      }
      job.throwIfCancelled();
      const seconds = (performance.now() - started) / 1000;
      const result: TrainResult = {
        lens: lens.path,
        model: lens.model,
        backend: currentBackend(),
        epochs: recipe.epochs,
        trainImages: train.size,
        testImages: test.size,
        testAccuracy: last.accuracy,
        testError: 1 - last.accuracy,
        trainAccuracy,
        confusion: last.confusion,
        classes,
        history,
        seconds,
        imagesPerSecond: (train.size * recipe.epochs) / trainSeconds,
        ...(crossTests.length ? { crossTests } : {}),
        ...(attempts > 1 ? { attempts: attempt, seed } : {}),
      };
      job.progress({ fraction: 1, message: 'Saving the model' });
      await checkTrainingTargets(lens); // again: either file may have appeared while training ran
      // The model first, then its results naming the weights they were measured on: a kill in between leaves
      // results whose hash is not the model's, which the loader refuses as stale (lens.ts lensInfo).
      const { weightsHash } = await saveModel(model, lens.model, {
        featureLens: { lens: path.basename(lens.path), classes, testAccuracy: last.accuracy, seed, trainedAt: new Date().toISOString() },
      });
      result.weightsHash = weightsHash;
      if (checkpoints) result.checkpoints = await checkpoints.commit();
      await writeFileAtomic(lens.results, JSON.stringify(result, null, 2) + '\n');
      await sweepTemps(path.dirname(lens.results), [path.basename(lens.results)]);
      return result;
    } finally {
      model.dispose();
      optimizer.dispose();
      await checkpoints?.discard(); // a dropped, failed or cancelled attempt's (a committed run's folder has moved)
    }
  }
}

/**
 * Refuses to train when training would write over a file it did not make: `model` naming the lens file, its
 * training results or a dataset file, or an existing file that is not a model.json Feature Lens wrote; or a
 * results file that is not Feature Lens training results. Each refusal names the file.
 */
export async function checkTrainingTargets(lens: Lens): Promise<void> {
  const real = async (p: string) => fs.promises.realpath(p).catch(() => path.resolve(p));
  const model = await real(lens.model);
  const named = (what: string) =>
    new UserError(
      'badInput',
      `"model" names ${lens.model}, which is ${what}; training writes the model there and would overwrite it. Name a model.json of its own, e.g. "model/model.json".`,
      lens.path,
    );
  if (model === (await real(lens.path))) throw named('this lens file itself');
  if (model === (await real(lens.results))) throw named('the training results file of this lens');
  const data = [...datasetPaths(lens.dataset), ...(lens.training?.crossTests ?? []).flatMap((c) => datasetPaths(c.dataset as DatasetSpec))];
  for (const d of data) {
    const rd = await real(d);
    if (model === rd || isInside(model, rd)) throw named('a file of its dataset');
  }
  if (!/\.json$/i.test(lens.model))
    throw new UserError('badInput', `"model" names ${lens.model}; a TF.js Layers model is a .json file (e.g. "model/model.json").`, lens.path);
  if ((await madeByFeatureLens(lens.model)) === false) {
    throw new UserError(
      'badInput',
      `${lens.model} exists and is not a model Feature Lens trained; training would overwrite it. Move it away, or name another file in the lens file's "model".`,
      lens.path,
    );
  }
  let results: Awaited<ReturnType<typeof readResultsFile>>;
  try {
    results = await readResultsFile(lens);
  } catch (e) {
    throw new UserError('badInput', `${lens.results} cannot be replaced by new training results: ${(e as Error).message}`, lens.path);
  }
  if (results.exists && !results.result) {
    throw new UserError(
      'badInput',
      `${lens.results} exists and is not Feature Lens training results; training would overwrite it. Move it away to train.`,
      lens.path,
    );
  }
}

/**
 * The batch loop. Train accuracy is the running accuracy over the last epoch (with dropout active).
 * `attempt` > 0 means a restart is still possible: the run returns undefined when it falls short of
 * `recipe.restarts` (see recipes.ts).
 */
async function fit(
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
  const [h, w, c] = train.shape;
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
    for await (const { images, labels, count } of shuffled(train, all, bs, rnd)) {
      job.throwIfCancelled();
      if (recipe.augment.flip || recipe.augment.rotate > 0) augmentBatch(images, count, train.shape, recipe.augment, augRnd);
      if (pre) preprocessImages(images, count, train.shape, pre);
      const x = tf.tensor4d(images, [count, h, w, c]);
      const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32'));
      let out: number | number[];
      try {
        out = await model.trainOnBatch(x, y);
      } finally {
        x.dispose();
        y.dispose();
      }
      const [loss, acc] = Array.isArray(out) ? out : [out, NaN];
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
