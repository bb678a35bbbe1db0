/**
 * Training a lens file's recipe (`training` in the lens, see recipes.ts): builds the model, trains it with a
 * batch loop that reports progress per batch and honours cancellation between batches, evaluates it on the
 * test split (and any cross tests), then writes the model (`lens.model`) and `<stem>.training.json` beside
 * the lens file, atomically. A cancelled or failed run writes nothing: the previous files stay as they were.
 * The batch loop is trainLoop.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainResult } from '../../shared/protocol';
import { currentBackend } from '../runtime/backend';
import type { Dataset } from '../datasets/dataset';
import { checkFitsModel } from '../datasets/fit';
import { UserError } from '../runtime/errors';
import type * as tf from '../runtime/tf';
import { evaluate } from './evaluate';
import { isInside, writeFileAtomic } from '../runtime/fsutil';
import type { Job } from '../runtime/job';
import { openDataset, readLens, readResultsFile, type Lens } from '../lens/lens';
import { datasetPaths, openSpec, type DatasetSpec } from '../lens/lensDatasets';
import { madeByFeatureLens, saveModel, sweepTemps } from '../models/modelIO';
import { CheckpointWriter, checkpointEpochs } from './checkpoints';
import { preprocessMismatch } from '../models/preprocess';
import { buildModel, makeOptimizer } from './recipeModel';
import type { Recipe } from './recipes';
import { fit } from './trainLoop';

/** A train split up to this size (as float32) is read into memory once; larger ones are read in blocks. */
const PRELOAD_BYTES = 768 * 2 ** 20;

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
  const { train, test, classes, crossSets } = await openTrainingSets(lens, recipe.crossTests);

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
      const crossTests = await runCrossTests(model, crossSets, classes.length, job, pre);
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
      await saveTrained(lens, model, result, seed, checkpoints);
      return result;
    } finally {
      model.dispose();
      optimizer.dispose();
      await checkpoints?.discard(); // a dropped, failed or cancelled attempt's (a committed run's folder has moved)
    }
  }
}

/** The accuracy and error of the trained model on each cross test of the recipe. */
async function runCrossTests(model: tf.LayersModel, crossSets: { name: string; ds: Dataset }[], nClasses: number, job: Job, pre: Lens['preprocess']) {
  const crossTests = [];
  for (const c of crossSets) {
    const e = await evaluate(model, c.ds, nClasses, job, undefined, pre);
    crossTests.push({ name: c.name, accuracy: e.accuracy, error: 1 - e.accuracy });
  }
  return crossTests;
}

/**
 * Writes the trained model (`lens.model`), its kept checkpoints and then `result` (`lens.results`), which gets the
 * weights' hash. The model first, then its results naming the weights they were measured on: a kill in between
 * leaves results whose hash is not the model's, which the loader refuses as stale (lens.ts lensInfo).
 */
async function saveTrained(lens: Lens, model: tf.LayersModel, result: TrainResult, seed: number, checkpoints: CheckpointWriter | undefined): Promise<void> {
  await checkTrainingTargets(lens); // again: either file may have appeared while training ran
  const { classes, testAccuracy } = result;
  const { weightsHash } = await saveModel(model, lens.model, {
    featureLens: { lens: path.basename(lens.path), classes, testAccuracy, seed, trainedAt: new Date().toISOString() },
  });
  result.weightsHash = weightsHash;
  if (checkpoints) result.checkpoints = await checkpoints.commit();
  await writeFileAtomic(lens.results, JSON.stringify(result, null, 2) + '\n');
  await sweepTemps(path.dirname(lens.results), [path.basename(lens.results)]);
}

/** The lens's train and test splits and its recipe's cross tests, opened and checked to hold images of one shape. */
async function openTrainingSets(lens: Lens, crossTests: Recipe['crossTests']) {
  const train = await openDataset(lens, 'train');
  const test = await openDataset(lens, 'test');
  const classes = train.classes.length >= test.classes.length ? train.classes : test.classes;
  if (train.shape.join() !== test.shape.join()) {
    throw new UserError('badInput', `the train images are ${train.shape.join('×')} but the test images are ${test.shape.join('×')}.`, lens.path);
  }
  const crossSets: { name: string; ds: Dataset }[] = [];
  for (const c of crossTests) {
    const ds = await openSpec(c.dataset as DatasetSpec, 'test', lens.path);
    if (ds.shape.join() !== train.shape.join())
      throw new UserError('badInput', `cross test "${c.name}" has ${ds.shape.join('×')} images but the model reads ${train.shape.join('×')}.`, lens.path);
    crossSets.push({ name: c.name, ds });
  }
  return { train, test, classes, crossSets };
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
