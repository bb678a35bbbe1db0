/**
 * Lens files (`*.lens.json`): a model, a dataset and optionally a training recipe, paths relative to the
 * lens file. Schema: `schemas/lens.schema.json`.
 *
 * ```json
 * { "name": "MNIST", "description": "...", "model": "model/model.json",
 *   "dataset": { "format": "idx", "train": {"images": "...", "labels": "..."}, "test": {...}, "classes": [...] },
 *   "training": { ... see recipes.ts ... } }
 * ```
 * Dataset formats: `idx` (MNIST files, gzipped or not), `npy`, `imageFolder` (one subfolder per class),
 * `efl` (the seed's generated letters), parsed and opened by lensDatasets.ts. Every mistake is one `badInput` error naming the lens file and field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LensInfo, Split, TrainResult } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import { EFL_CLASSES } from '../datasets/efl';
import { Fields } from '../datasets/fields';
import { FileCache } from '../runtime/fileCache';
import { UserError } from '../runtime/errors';
import { checkInputFile, readInputText } from '../runtime/fsutil';
import { modelWeightsHash } from '../models/layersModelJson';
import { datasetPaths, openSpec, parseDataset, type DatasetSpec } from './lensDatasets';
import { parseRecipe, type Recipe } from '../training/recipes';
import type { PreprocessSpec } from '../models/preprocess';

/** A parsed lens file with absolute paths. */
export interface Lens {
  path: string;
  name: string;
  description?: string;
  /** The model.json the lens inspects and training writes. */
  model: string;
  /** Class names in label order (from the lens, the folder names, or `0..max` of the labels). */
  classes: string[];
  dataset: DatasetSpec;
  training?: Recipe;
  /** Input preprocessing (`preprocess` in the lens file), applied as the network's first op. */
  preprocess?: PreprocessSpec;
  /** `<stem>.training.json` beside the lens file, written by training. */
  results: string;
  /** A pattern of the user's checkpoint model files, absolute (methods/checkpoints.ts). */
  checkpoints?: string;
  [key: string]: unknown;
}

/** How lens files are read: a lens file is a few hundred bytes of JSON. */
export const LENS_FILE = { what: 'lens file', maxBytes: 16 * 2 ** 20 };
/** How training results are read (a long run's history is a few hundred KB). */
const RESULTS_FILE = { what: 'training results file', maxBytes: 64 * 2 ** 20 };

const lensCache = new FileCache<Lens>();

/** Reads, checks and resolves a lens file; opens its test split to learn the class names. Cached while the file keeps its time and size. */
export async function readLens(lensPath: string): Promise<Lens> {
  const file = path.resolve(lensPath);
  const { stat } = await checkInputFile(file, LENS_FILE);
  const hit = lensCache.get(file, stat);
  if (hit) return hit;
  const lens = await readLensJson(file);
  lens.classes = (await openDataset(lens, 'test')).classes;
  lensCache.set(file, stat, lens);
  return lens;
}

/** Reads and checks a lens file's JSON without opening its dataset (the classes are those the spec names). */
async function readLensJson(file: string): Promise<Lens> {
  const text = await readInputText(file, LENS_FILE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError('badInput', `is not valid JSON (${(e as Error).message}).`, file);
  }
  return parseLens(json, file);
}

/** Checks a lens file's JSON (no file access); `classes` is filled from the spec when it names them. */
export function parseLens(json: unknown, file: string): Lens {
  const dir = path.dirname(file);
  const f = new Fields(json, '', file);
  f.raw('$schema');
  const name = f.str('name');
  const description = f.str('description', false);
  const modelRel = f.str('model');
  const checkpoints = f.str('checkpoints', false);
  const dataset = parseDataset(f.sub('dataset')!, dir);
  const pf = f.sub('preprocess', false);
  const preprocess = pf ? parsePreprocess(pf) : undefined;
  const t = f.sub('training', false);
  const training = t ? parseRecipe(t, (df) => parseDataset(df, dir)) : undefined;
  f.done();
  const stem = path
    .basename(file)
    .replace(/\.lens\.json$/i, '')
    .replace(/\.json$/i, '');
  return {
    path: file,
    name,
    ...(description !== undefined ? { description } : {}),
    model: path.resolve(dir, modelRel),
    classes: dataset.format === 'efl' ? [...EFL_CLASSES] : ((dataset as { classes?: string[] }).classes ?? []),
    dataset,
    ...(training ? { training } : {}),
    ...(preprocess ? { preprocess } : {}),
    results: path.join(dir, `${stem}.training.json`),
    ...(checkpoints ? { checkpoints: path.resolve(dir, checkpoints) } : {}),
  };
}

/** Parses a `preprocess` object: finite numbers, mean/std of one value or one per channel, std > 0. */
function parsePreprocess(f: Fields): PreprocessSpec {
  const scale = f.num('scale', { def: 1 / 255 });
  const list = (key: string, def: number): number[] => {
    if (!f.has(key)) return [def];
    const v = f.raw(key);
    if (!Array.isArray(v) || v.length < 1 || v.length > 4 || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      f.fail(f.path(key), 'must be a list of 1 to 4 finite numbers (one value, or one per channel)');
    }
    return v as number[];
  };
  const mean = list('mean', 0);
  const std = list('std', 1);
  if (std.some((s) => s <= 0)) f.fail(f.path('std'), 'must be greater than 0');
  if (mean.length !== 1 && std.length !== 1 && mean.length !== std.length) f.fail(f.path('std'), 'must have as many values as mean (or one)');
  const order = f.has('order') ? String(f.raw('order')).toLowerCase() : 'rgb';
  if (order !== 'rgb' && order !== 'bgr') f.fail(f.path('order'), 'must be "RGB" or "BGR"');
  f.done();
  return { scale, mean, std, order };
}

/** Opens one split of the lens's dataset. */
export async function openDataset(lens: Lens, split: Split): Promise<Dataset> {
  return openSpec(lens.dataset, split, lens.path);
}

/**
 * The absolute paths a lens names, without duplicates: its own file, the model and its folder, the training
 * results, every dataset file or folder and those of its cross tests (`LensInfo.paths`).
 */
export function lensFilePaths(lens: Lens): string[] {
  const extra = (lens.training?.crossTests ?? []).flatMap((c) => datasetPaths(c.dataset as DatasetSpec));
  // a checkpoint pattern reads whatever it matches under its folder before the first wildcard
  const parts = lens.checkpoints?.split(path.sep) ?? [];
  const wild = parts.findIndex((p) => /[*?]/.test(p));
  const ckpt = lens.checkpoints ? [(wild < 0 ? lens.checkpoints : parts.slice(0, wild).join(path.sep)) || path.sep] : [];
  return [...new Set([lens.path, lens.model, path.dirname(lens.model), lens.results, ...datasetPaths(lens.dataset), ...extra, ...ckpt])];
}

/**
 * A lens's training results file (`<name>.training.json`): whether it exists, and its results when it is a
 * Feature Lens training result (a malformed or foreign file exists without `result`). Read within a size bound.
 */
export async function readResultsFile(lens: Lens): Promise<{ exists: boolean; result?: TrainResult }> {
  let text: string;
  try {
    text = await readInputText(lens.results, RESULTS_FILE);
  } catch (e) {
    if (e instanceof UserError && e.code === 'notFound') return { exists: false }; // never trained
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return isTrainResult(parsed) ? { exists: true, result: parsed } : { exists: true };
}

/** The lens as the Models view shows it, with the last training results when there are any. */
export async function lensInfo(lensPath: string): Promise<LensInfo> {
  let lens: Lens;
  let data: { classes: string[]; shape: number[]; train: number; test: number };
  let datasetError: LensInfo['datasetError'];
  try {
    lens = await readLens(lensPath);
    const train = await openDataset(lens, 'train');
    const test = await openDataset(lens, 'test');
    data = { classes: test.classes, shape: [...test.shape], train: train.size, test: test.size };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // A lens file that itself is wrong fails here again; one whose dataset cannot be opened still names a
    // model, which opens without the data (the dataset's problem is reported beside it).
    lens = await readLensJson(path.resolve(lensPath));
    datasetError = datasetProblem(lens, e);
    data = { classes: lens.classes, shape: [], train: 0, test: 0 };
  }
  let lastTraining: TrainResult | undefined;
  let trainingNote: string | undefined;
  const results = await readResultsFile(lens);
  if (results.exists) {
    const parsed = results.result;
    if (!parsed) trainingNote = `${lens.results} is not a Feature Lens training result; training will not overwrite it: move it away, then train.`;
    else if (parsed.weightsHash !== undefined && parsed.weightsHash !== (await modelWeightsHash(lens.model))) {
      // Written for other weights: a run killed between saving the model and its results, or a model replaced since.
      trainingNote = `${lens.results} belongs to other weights than ${lens.model} (a training run was interrupted or the model was replaced); train again for its results.`;
    } else lastTraining = parsed;
  }
  return {
    path: lens.path,
    name: lens.name,
    ...(lens.description !== undefined ? { description: lens.description } : {}),
    model: lens.model,
    modelExists: fs.existsSync(lens.model),
    paths: lensFilePaths(lens),
    classes: data.classes,
    imageShape: data.shape,
    datasetFormat: lens.dataset.format,
    splits: { train: data.train, test: data.test },
    ...(datasetError ? { datasetError } : {}),
    hasTraining: !!lens.training,
    ...(lens.preprocess ? { preprocess: lens.preprocess } : {}),
    ...(lastTraining ? { lastTraining } : {}),
    ...(trainingNote ? { trainingNote } : {}),
  };
}

/** The lens fields that name dataset files, with the paths they resolve to. */
function datasetFields(spec: DatasetSpec): [string, string][] {
  if (spec.format === 'idx' || spec.format === 'npy') {
    return (['train', 'test'] as const).flatMap((split) =>
      (['images', 'labels'] as const).map((k): [string, string] => [`dataset.${split}.${k}`, spec[split][k]]),
    );
  }
  if (spec.format === 'imageFolder') return [['dataset.root', spec.root]];
  return [];
}

/** Why a lens's dataset did not open: the field naming the first missing file, in a short message, else the error itself. */
function datasetProblem(lens: Lens, e: UserError): { message: string; field: string } {
  const dir = path.dirname(lens.path);
  for (const [field, p] of datasetFields(lens.dataset)) {
    if (!fs.existsSync(p)) {
      const rel = path.relative(dir, p);
      return { message: `Dataset file ${rel.startsWith('..') || path.isAbsolute(rel) ? p : rel} does not exist (the lens file's "${field}").`, field };
    }
  }
  const prefix = `${lens.path}: `;
  return { message: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message, field: 'dataset' };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a parsed `<name>.training.json` has every field the model page reads (an old or hand-edited file may not). */
export function isTrainResult(v: unknown): v is TrainResult {
  if (!isObj(v)) return false;
  if (![v.epochs, v.testAccuracy, v.testError, v.trainAccuracy, v.seconds].every(isNum) || typeof v.backend !== 'string') return false;
  if (!Array.isArray(v.classes) || !v.classes.every((c) => typeof c === 'string')) return false;
  if (!Array.isArray(v.confusion) || !v.confusion.every((r) => Array.isArray(r) && r.every(isNum))) return false;
  // A diverged epoch's NaN loss is written as null by JSON.stringify; the charts skip it.
  const value = (x: unknown) => x === null || isNum(x);
  if (
    !Array.isArray(v.history) ||
    !v.history.every(
      (h) =>
        isObj(h) &&
        isNum(h.epoch) &&
        value(h.loss) &&
        value(h.accuracy) &&
        (h.testLoss === undefined || value(h.testLoss)) &&
        (h.testAccuracy === undefined || value(h.testAccuracy)),
    )
  )
    return false;
  if (
    v.crossTests !== undefined &&
    !(Array.isArray(v.crossTests) && v.crossTests.every((c) => isObj(c) && typeof c.name === 'string' && isNum(c.accuracy) && isNum(c.error)))
  )
    return false;
  return true;
}
