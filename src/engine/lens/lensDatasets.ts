/**
 * The `dataset` object of a lens file: its formats (`idx`, `npy`, `imageFolder`, `efl`), parsed with absolute
 * paths, the files it reads, and its splits opened (cached while the files keep their times and sizes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Split } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import { EFL_DEFAULTS, EflDataset, type EflOptions } from '../datasets/efl';
import type { Fields } from '../datasets/fields';
import { openIdxDataset } from '../datasets/idx';
import { ImageFolderDataset, type ImageFolderOptions } from '../datasets/imageFolder';
import { openNpyDataset } from '../datasets/npy';
import { UserError } from '../runtime/errors';

export const DATASET_FORMATS = ['idx', 'npy', 'imageFolder', 'efl'] as const;

/** A dataset spec with absolute paths. */
export type DatasetSpec =
  | { format: 'idx' | 'npy'; train: { images: string; labels: string }; test: { images: string; labels: string }; classes?: string[] }
  | ({ format: 'imageFolder' } & ImageFolderOptions)
  | ({ format: 'efl' } & EflOptions);

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
      const hint =
        spec.format !== 'efl' && preparesSamples(lensFile)
          ? ' Run `node scripts/prepare-samples.mjs` in the Feature Lens checkout to prepare the sample data.'
          : '';
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
