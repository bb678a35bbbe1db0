/**
 * `feature-lens render MODEL --layer L --node N --image FILE --out F.png [--method M]`: a node seen through one
 * image file, headless and without a lens file: the figure of the node page's top images with one column
 * (the image as the model reads it, the node's feature map, its projection by `--method`; see figures.ts).
 * MODEL may be any model file or a lens file (its model is used; its dataset is not read).
 */
import { loadModelFor } from '../lens/lensModel';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProjectionMethod } from '../../shared/protocol';
import { check, UserError } from '../runtime/errors';
import { writeFileAtomic } from '../runtime/fsutil';
import type { Job } from '../runtime/job';
import { readLens } from '../lens/lens';
import { inspectImageFile } from '../server/pickedImage';
import { topFigure } from '../png/nodeFigures';
import { RENDER_METHODS } from './figures';

export interface RenderImageOptions {
  /** A model file, or a lens file whose model is meant. */
  model: string;
  /** Layer name or index. */
  layer: string;
  node: number;
  /** The image file (PNG or JPEG). */
  image: string;
  /** A PNG file to write, or a folder to write `<layer>-<node>-<image>.png` into. */
  out: string;
  /** A key of `RENDER_METHODS` other than `maximize` (default `deconv`). */
  method?: string;
}

export async function renderImage(opts: RenderImageOptions, job: Job): Promise<{ files: string[]; score: number; projectionError?: string }> {
  const methodName = opts.method ?? 'deconv';
  const method = RENDER_METHODS[methodName];
  check(
    method !== undefined && method !== 'maximize',
    `--method with --image must be one of ${Object.keys(RENDER_METHODS)
      .filter((m) => m !== 'maximize')
      .join(', ')}, not "${methodName}" (activation maximization reads no image: drop --image).`,
  );
  // A lens file: its model behind its preprocess (as every command given a lens runs it).
  const lens = opts.model.endsWith('.lens.json') ? path.resolve(opts.model) : undefined;
  const model = lens ? (await readLens(lens)).model : opts.model;
  const { info } = await loadModelFor({ model, lens });
  const byName = info.layers.find((l) => l.name === opts.layer);
  const layer = byName ? byName.index : /^\d+$/.test(opts.layer) ? Number(opts.layer) : -1;
  check(
    layer >= 0 && layer < info.layers.length,
    `No layer "${opts.layer}" in ${info.path}: give a layer name (${info.layers.map((l) => l.name).join(', ')}) or an index from 0 to ${info.layers.length - 1}.`,
    info.path,
  );
  job.progress({ message: `feature map and ${methodName} of ${path.basename(opts.image)}` });
  const r = await inspectImageFile({ model, ...(lens ? { lens } : {}), file: opts.image, layer, node: opts.node, method: method as ProjectionMethod });
  const st = await fs.promises.stat(opts.out).catch(() => undefined);
  let out = opts.out;
  if (st?.isDirectory() || !/\.png$/i.test(out)) {
    if (!st) throw new UserError('badInput', `--out ${out} is neither a .png file to write nor an existing folder.`);
    const stem = `${info.layers[layer].name}-${opts.node}-${path.basename(opts.image).replace(/\.[^.]*$/, '')}`.replace(/[^\w.-]+/g, '_');
    out = path.join(out, `${stem}.png`);
  }
  await writeFileAtomic(out, topFigure([{ index: 0, image: r.image, map: r.featureMap, projection: r.projection }]));
  return { files: [out], score: r.score, ...(r.projectionError ? { projectionError: r.projectionError } : {}) };
}
