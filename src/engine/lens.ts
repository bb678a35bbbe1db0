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
 * `efl` (the seed's generated letters). Every mistake is one `badInput` error naming the lens file and field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LensInfo, Split, TrainResult } from '../shared/protocol';
import type { Dataset } from './datasets/dataset';
import { EFL_CLASSES, EFL_DEFAULTS, EflDataset, type EflOptions } from './datasets/efl';
import { Fields } from './datasets/fields';
import { openIdxDataset } from './datasets/idx';
import { ImageFolderDataset, type ImageFolderOptions } from './datasets/imageFolder';
import { openNpyDataset } from './datasets/npy';
import { FileCache } from './fileCache';
import { UserError } from './errors';
import { checkInputFile, readInputText } from './fsutil';
import { modelWeightsHash } from './modelIO';
import { parseRecipe, type Recipe } from './recipes';
import type { PreprocessSpec } from './models/preprocess';

const DATASET_FORMATS = ['idx', 'npy', 'imageFolder', 'efl'] as const;

/** A dataset spec with absolute paths. */
export type DatasetSpec =
  | { format: 'idx' | 'npy'; train: { images: string; labels: string }; test: { images: string; labels: string }; classes?: string[] }
  | ({ format: 'imageFolder' } & ImageFolderOptions)
  | ({ format: 'efl' } & EflOptions);

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
  const dataset = parseDataset(f.sub('dataset')!, dir);
  const pf = f.sub('preprocess', false);
  const preprocess = pf ? parsePreprocess(pf) : undefined;
  const t = f.sub('training', false);
  const training = t ? parseRecipe(t, (df) => parseDataset(df, dir)) : undefined;
  f.done();
  const stem = path.basename(file).replace(/\.lens\.json$/i, '').replace(/\.json$/i, '');
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

/** Parses a `dataset` object, resolving paths against `dir`. */
export function parseDataset(f: Fields, dir: string): DatasetSpec {
  const format = f.oneOf('format', DATASET_FORMATS);
  let spec: DatasetSpec;
  if (format === 'idx' || format === 'npy') {
    const pair = (split: Split) => {
      const s = f.sub(split)!;
      const r = { images: path.resolve(dir, s.str('images')), labels: path.resolve(dir, s.str('labels')) };
      s.done();
      return r;
    };
    const classes = f.strings('classes');
    spec = { format, train: pair('train'), test: pair('test'), ...(classes ? { classes } : {}) };
  } else if (format === 'imageFolder') {
    const classes = f.strings('classes');
    spec = {
      format,
      root: path.resolve(dir, f.str('root')),
      size: f.size('size'),
      channels: f.oneOf('channels', [1, 3] as unknown as readonly string[]) as unknown as 1 | 3,
      testFraction: f.num('testFraction', { min: 0, max: 0.9, def: 0.2 }),
      seed: f.num('seed', { int: true, min: 0, def: 1 }),
      fit: f.oneOf('fit', ['contain', 'stretch'] as const, 'contain'),
      ...(classes ? { classes } : {}),
    };
  } else {
    const d = EFL_DEFAULTS;
    spec = {
      format,
      size: f.size('size', d.size),
      trainPerClass: f.num('trainPerClass', { int: true, min: 1, max: 1e6, def: d.trainPerClass }),
      testPerClass: f.num('testPerClass', { int: true, min: 1, max: 1e6, def: d.testPerClass }),
      noise: f.num('noise', { min: 0, max: 10, def: d.noise }),
      negative: f.bool('negative', d.negative),
      seed: f.num('seed', { int: true, min: 0, def: d.seed }),
      jitter: f.num('jitter', { int: true, min: 0, max: 64, def: d.jitter }),
    };
    if (spec.size[0] < 8 || spec.size[1] < 8) f.fail(f.path('size'), 'must be at least [8, 8] for letters to be drawn');
  }
  f.done();
  return spec;
}

/** The files and folders a dataset spec reads. */
export function datasetPaths(spec: DatasetSpec): string[] {
  if (spec.format === 'idx' || spec.format === 'npy') return [spec.train.images, spec.train.labels, spec.test.images, spec.test.labels];
  if (spec.format === 'imageFolder') return [spec.root];
  return [];
}

const datasetCache = new Map<string, Dataset>();
const MAX_CACHED = 12;

/**
 * Whether the lens is one of the samples of a Feature Lens checkout (`samples/<name>/<name>.lens.json` beside
 * `scripts/prepare-samples.mjs`): only then is running that script a useful hint (it is not in the VSIX).
 */
function preparesSamples(lensFile: string): boolean {
  const samples = path.dirname(path.dirname(lensFile));
  return path.basename(samples) === 'samples' && fs.existsSync(path.join(path.dirname(samples), 'scripts', 'prepare-samples.mjs'));
}

/** Opens one split of a dataset spec; cached while the files (and folder listings) keep their mtimes. */
export async function openSpec(spec: DatasetSpec, split: Split, lensFile: string): Promise<Dataset> {
  const stamps: string[] = [];
  for (const p of datasetPaths(spec)) {
    try {
      const st = await fs.promises.stat(p);
      stamps.push(`${st.mtimeMs}:${st.size}`);
      if (spec.format === 'imageFolder' && st.isDirectory()) {
        for (const d of await fs.promises.readdir(p, { withFileTypes: true })) {
          if (d.isDirectory()) stamps.push(`${d.name}:${(await fs.promises.stat(path.join(p, d.name))).mtimeMs}`);
        }
      }
    } catch {
      const hint = spec.format !== 'efl' && preparesSamples(lensFile) ? ' Run `node scripts/prepare-samples.mjs` in the Feature Lens checkout to prepare the sample data.' : '';
      throw new UserError('notFound', `${p.length > 200 ? `${p.slice(0, 199)}…` : p} (named in the lens file's dataset) does not exist.${hint}`, lensFile);
    }
  }
  const key = JSON.stringify([spec, split, stamps]);
  const hit = datasetCache.get(key);
  if (hit) {
    datasetCache.delete(key);
    datasetCache.set(key, hit);
    return hit;
  }
  let ds: Dataset;
  switch (spec.format) {
    case 'idx':
      ds = await openIdxDataset(spec[split].images, spec[split].labels, split, spec.classes);
      break;
    case 'npy':
      ds = await openNpyDataset(spec[split].images, spec[split].labels, split, spec.classes);
      break;
    case 'imageFolder':
      ds = await ImageFolderDataset.open(spec, split);
      break;
    case 'efl':
      ds = new EflDataset(spec, split);
      break;
  }
  if (ds.size === 0) throw new UserError('badInput', `the ${split} split of ${ds.source} has no images.`, lensFile);
  datasetCache.set(key, ds);
  while (datasetCache.size > MAX_CACHED) datasetCache.delete(datasetCache.keys().next().value!);
  return ds;
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
  return [...new Set([lens.path, lens.model, path.dirname(lens.model), lens.results, ...datasetPaths(lens.dataset), ...extra])];
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
    return (['train', 'test'] as const).flatMap((split) => (['images', 'labels'] as const).map((k): [string, string] => [`dataset.${split}.${k}`, spec[split][k]]));
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
  if (!Array.isArray(v.history) || !v.history.every((h) => isObj(h) && isNum(h.epoch) && value(h.loss) && value(h.accuracy) && (h.testLoss === undefined || value(h.testLoss)) && (h.testAccuracy === undefined || value(h.testAccuracy)))) return false;
  if (v.crossTests !== undefined && !(Array.isArray(v.crossTests) && v.crossTests.every((c) => isObj(c) && typeof c.name === 'string' && isNum(c.accuracy) && isNum(c.error)))) return false;
  return true;
}
