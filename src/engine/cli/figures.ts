/**
 * `feature-lens render FILE.lens.json --layer L --node N --out DIR`: the node's figures as PNGs, headless.
 *
 * - `<layer>-<node>-weights.png`: the node's weights (when its layer has weights), one tile per input channel
 *   (or one RGB tile), diverging colour map centred on zero over the layer's ±max|w|, and a legend strip
 *   with the real range (min, 0, max) written under it.
 * - `<layer>-<node>-top.png`: the seed's layout: one column per top image (by `--metric`, Frobenius norm
 *   unless told otherwise, best first);
 *   rows: the input, the node's feature map (viridis, 0 … the largest value over the k maps), and the
 *   projection by `--method` (`deconv`, Zeiler & Fergus with switches, unless told otherwise:
 *   `deconv-noswitch`, `guided`, `saliency`, `gradcam`; diverging, each image scaled to its own ±max; grey
 *   with the reason in the JSON when the method cannot pass an op). Above each column, the image index.
 * - `<layer>-<node>-maximize.png` with `--method maximize`: the activation-maximization image (the top
 *   figure then shows deconvolutions).
 * - `layer-by-class.png`: the class × layer table of mean Frobenius norms (rows classes, columns layers, each
 *   column scaled to its maximum), class indices and model layer indices in the margins.
 * - `<layer>-<node>.json`: the numbers behind the figures (top list, ranges, norms, names).
 * Runs the top-activation scan first if no index exists for the model and dataset.
 */
import * as path from 'node:path';
import { formatNumber } from '../../shared/colorScale';
import type { FloatArray, ProjectionMethod, ScoreMetric, TopImage } from '../../shared/protocol';
import { diverging, grey, sequential, type Rgb } from '../png/figureColors';
import { check } from '../runtime/errors';
import { writeFilesAtomic } from '../runtime/fsutil';
import { checkNode } from '../models/layerAccess';
import { inspectImages } from '../server/inspectNode';
import type { Job } from '../runtime/job';
import { layerByClassFromState } from '../scan/layerByClass';
import { openDataset, readLens } from '../lens/lens';
import { maximize } from '../methods/maximize';
import { loadLensModel } from '../lens/lensModel';
import { Canvas } from '../png/pngCanvas';
import { findIndex } from '../scan/indexStore';
import { checkMetric, scanDataset, topFromIndex } from '../scan/topActivations';
import { layerWeights } from '../methods/weights';

export interface NodeIndexOptions {
  lens: string;
  /** Layer name or index. */
  layer: string;
  node: number;
  storageDir: string;
  k: number;
  /** Frobenius norm unless told otherwise. */
  metric?: ScoreMetric;
}

/** `render --method`: the CLI's names of the node page's projections, and activation maximization. */
export const RENDER_METHODS: Record<string, ProjectionMethod | 'maximize'> = {
  deconv: 'deconv',
  'deconv-noswitch': 'deconvNoSwitches',
  guided: 'guided',
  saliency: 'saliency',
  gradcam: 'gradcam',
  maximize: 'maximize',
};

export interface RenderOptions extends NodeIndexOptions {
  out: string;
  /** A key of `RENDER_METHODS` (default `deconv`): the projection row of the top figure, or `maximize`. */
  method?: string;
  /** Steps of activation maximization (its default otherwise). */
  steps?: number;
}

/** The lens, model, layer, node and top-activation index for a node named on the command line (scans when there is no index). */
export async function openNodeIndex(opts: NodeIndexOptions, job: Job) {
  check(Number.isInteger(opts.k) && opts.k >= 1 && opts.k <= 100, `k must be a whole number from 1 to 100, not ${opts.k}.`);
  const metric = opts.metric ?? 'frobenius';
  checkMetric(metric);
  const lens = await readLens(opts.lens);
  const { network: model, info } = await loadLensModel(lens);
  const byName = info.layers.find((l) => l.name === opts.layer);
  const layer = byName ? byName.index : /^\d+$/.test(opts.layer) ? Number(opts.layer) : -1;
  check(
    layer >= 0 && layer < info.layers.length,
    `No layer "${opts.layer}" in ${info.path}: give a layer name (${info.layers.map((l) => l.name).join(', ')}) or an index from 0 to ${info.layers.length - 1}.`,
    lens.path,
  );
  checkNode(model, layer, opts.node);
  const ds = await openDataset(lens, 'test');
  job.progress({ message: 'finding the top-activation index' });
  // An index with fewer than k images per node would cut the list short: scan for k then.
  const found = await findIndex(opts.storageDir, info.weightsHash, ds);
  const stored =
    found && found.header.k >= opts.k
      ? found
      : (await scanDataset(model, info.weightsHash, ds, opts.storageDir, Math.max(opts.k, 9), job, { modelPath: info.path })).stored;
  job.throwIfCancelled();
  const top = topFromIndex(stored, layer, opts.node, metric, ds.labels).top.slice(0, opts.k);
  return { lens, model, info, layer, node: opts.node, metric, ds, stored, top };
}

/** `feature-lens top`: the node's top test images by `metric`, best first, with their class names. */
export async function nodeTop(
  opts: NodeIndexOptions,
  job: Job,
): Promise<{ lens: string; model: string; layer: number; layerName: string; node: number; metric: ScoreMetric; top: (TopImage & { className: string })[] }> {
  const { lens, info, layer, node, metric, ds, top } = await openNodeIndex(opts, job);
  return {
    lens: lens.path,
    model: info.path,
    layer,
    layerName: info.layers[layer].name,
    node,
    metric,
    top: top.map((t) => ({ ...t, className: ds.classes[t.label] ?? String(t.label) })),
  };
}

/** Writes the node's figures as PNGs into `out`; returns the files written. */
export async function renderNode(opts: RenderOptions, job: Job): Promise<{ files: string[]; projectionError?: string }> {
  const methodName = opts.method ?? 'deconv';
  const method = RENDER_METHODS[methodName];
  check(method !== undefined, `--method must be one of ${Object.keys(RENDER_METHODS).join(', ')}, not "${methodName}".`);
  const { lens, model, info, layer, node, metric, ds, stored, top } = await openNodeIndex(opts, job);
  const layerInfo = info.layers[layer];
  const stem = `${layerInfo.name.replace(/[^\w.-]+/g, '_')}-${node}`;
  const files: { path: string; data: Uint8Array | string }[] = [];
  const summary: Record<string, unknown> = { lens: lens.path, model: info.path, layer, layerName: layerInfo.name, node, metric, classes: ds.classes };

  if (layerInfo.hasWeights) {
    try {
      const w = layerWeights(model, layer, node);
      files.push({ path: path.join(opts.out, `${stem}-weights.png`), data: weightsFigure(w.tiles[0], w.rgb, w.min, w.max) });
      summary.weights = { min: w.min, max: w.max, tiles: w.tiles[0].map((t) => t.shape), bias: w.bias ? w.bias[0] : undefined };
    } catch (e) {
      summary.weightsError = (e as Error).message;
    }
  }

  job.progress({ message: `feature maps and ${method === 'maximize' ? 'deconvolutions' : methodName}` });
  const { items, projectionError } = await inspectImages(model, ds, layer, node, top, method === 'maximize' ? 'deconv' : method);
  files.push({
    path: path.join(opts.out, `${stem}-top.png`),
    data: topFigure(items.map((i) => ({ index: i.entry.index, image: i.image, map: i.featureMap, projection: i.projection }))),
  });
  summary.method = methodName;
  summary.top = top.map((t, i) => ({ ...t, className: items[i]?.className }));
  if (projectionError) summary.projectionError = projectionError;
  if (method === 'maximize') {
    job.progress({ message: 'activation maximization' });
    const m = await maximize(model, layer, node, opts.steps !== undefined ? { steps: opts.steps } : {}, job);
    files.push({ path: path.join(opts.out, `${stem}-maximize.png`), data: imageFigure(m.image) });
    summary.maximize = { first: m.curve[0], last: m.curve[m.curve.length - 1], steps: m.curve.length };
  }

  const table = layerByClassFromState(
    stored.state,
    ds.classes,
    stored.header.layers.map((l) => model.layers[l.index]?.name ?? l.name),
  );
  files.push({ path: path.join(opts.out, 'layer-by-class.png'), data: classTableFigure(table.norms, table.layers) });
  summary.layerByClass = { layers: table.layers, layerNames: table.layerNames, norms: table.norms };
  files.push({ path: path.join(opts.out, `${stem}.json`), data: JSON.stringify(summary, null, 1) });
  await writeFilesAtomic(files);
  return { files: files.map((f) => f.path), ...(projectionError ? { projectionError } : {}) };
}

const WHITE: Rgb = [255, 255, 255];
const PAD = 8;

/** Integer magnification that brings `size` pixels near `target`. */
function magnify(size: number, target: number): number {
  return Math.max(1, Math.floor(target / Math.max(1, size)));
}

/** The node's weight tiles in a grid with a legend strip (see the file comment). */
export function weightsFigure(tiles: FloatArray[], rgb: boolean, min: number, max: number): Uint8Array {
  return weightsCanvas(tiles, rgb, min, max).toPng();
}

/** `weightsFigure` as a raster (a frame of the time-lapse animation). */
export function weightsCanvas(tiles: FloatArray[], rgb: boolean, min: number, max: number): Canvas {
  const maxAbs = Math.max(Math.abs(min), Math.abs(max)) || 1;
  const [th, tw] = tiles[0].shape;
  const scale = tw > 4 * th ? magnify(tw, 512) : magnify(Math.max(th, tw), 96);
  const cols = Math.ceil(Math.sqrt(tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const cellW = tw * scale + PAD;
  const cellH = th * scale + PAD;
  const legendW = Math.max(160, cols * cellW - PAD);
  const width = Math.max(cols * cellW + PAD, legendW + 2 * PAD);
  const height = rows * cellH + PAD + 16 + 6 + 14;
  const cv = new Canvas(width, height, WHITE);
  tiles.forEach((t, i) => {
    const x = PAD + (i % cols) * cellW;
    const y = PAD + Math.floor(i / cols) * cellH;
    if (rgb && t.shape[2] === 3) {
      const v = Float32Array.from(t.data, (a) => (a / maxAbs + 1) / 2);
      cv.blitRgb(x, y, v, th, tw, scale);
    } else cv.blit(x, y, t.data, th, tw, scale, (v) => diverging(v, maxAbs));
  });
  // Legend: -maxAbs … +maxAbs, with the real min, 0 and max marked and written.
  const ly = rows * cellH + PAD;
  for (let i = 0; i < legendW; i++) cv.fill(PAD + i, ly, 1, 12, diverging(((i / (legendW - 1)) * 2 - 1) * maxAbs, maxAbs));
  const at = (v: number) => PAD + Math.round(((v / maxAbs + 1) / 2) * (legendW - 1));
  for (const v of [min, 0, max]) cv.fill(at(v), ly + 12, 1, 4, [0, 0, 0]);
  const labelY = ly + 18;
  cv.text(PAD, labelY, formatNumber(min), 2);
  cv.text(at(0) - 3, labelY, '0', 2);
  const maxText = formatNumber(max);
  cv.text(PAD + legendW - maxText.length * 8, labelY, maxText, 2);
  return cv;
}

/** Rows input / feature map / deconvolution, one column per image (see the file comment). */
export function topFigure(columns: TopColumn[]): Uint8Array {
  return topCanvas(columns).toPng();
}

export interface TopColumn {
  index: number;
  image: FloatArray;
  map: FloatArray;
  projection?: FloatArray;
}

/** `topFigure` as a raster (a frame of the time-lapse animation). */
export function topCanvas(columns: TopColumn[]): Canvas {
  check(columns.length > 0, 'No top images to draw.');
  const [h, w, c] = columns[0].image.shape;
  const scale = magnify(Math.max(h, w), 84);
  const cellW = w * scale + PAD;
  const cellH = h * scale + PAD;
  const labelH = 16;
  const cv = new Canvas(columns.length * cellW + PAD, labelH + 3 * cellH + PAD, WHITE);
  let mapMax = 0;
  for (const col of columns) for (const v of col.map.data) mapMax = Math.max(mapMax, v);
  columns.forEach((col, i) => {
    const x = PAD + i * cellW;
    cv.text(x, 4, String(col.index), 2);
    let y = labelH;
    if (c === 3) cv.blitRgb(x, y, col.image.data, h, w, scale);
    else cv.blit(x, y, channel(col.image, 0), h, w, scale, grey);
    y += cellH;
    // The map at the input's size: nearest-neighbour blocks (a dense node's single value fills the cell).
    const [mh, mw] = col.map.shape.length === 2 ? col.map.shape : [1, col.map.data.length];
    const up = resizeNearest(col.map.data, mh, mw, h * scale, w * scale);
    cv.blit(x, y, up, h * scale, w * scale, 1, (v) => sequential(mapMax > 0 ? v / mapMax : 0));
    y += cellH;
    if (col.projection) {
      const p = col.projection;
      let m = 0;
      for (const v of p.data) m = Math.max(m, Math.abs(v));
      if (p.shape[2] === 3)
        cv.blitRgb(
          x,
          y,
          Float32Array.from(p.data, (v) => (m > 0 ? (v / m + 1) / 2 : 0.5)),
          p.shape[0],
          p.shape[1],
          scale,
        );
      else cv.blit(x, y, channel(p, 0), p.shape[0], p.shape[1], scale, (v) => diverging(v, m));
    } else cv.fill(x, y, w * scale, h * scale, [200, 200, 200]);
  });
  return cv;
}

/** One image `[h, w, c]` in [0, 1] (RGB, else its first channel in grey), magnified. */
function imageFigure(image: FloatArray): Uint8Array {
  const [h, w, c] = image.shape;
  const scale = magnify(Math.max(h, w), 224);
  const cv = new Canvas(w * scale + 2 * PAD, h * scale + 2 * PAD, WHITE);
  if (c === 3) cv.blitRgb(PAD, PAD, image.data, h, w, scale);
  else cv.blit(PAD, PAD, channel(image, 0), h, w, scale, grey);
  return cv.toPng();
}

/** `norms[class][layer]` as a heat-map table, each column scaled to its maximum; columns labelled with `layers` (model layer indices). */
function classTableFigure(norms: number[][], layers?: number[]): Uint8Array {
  const C = norms.length;
  const L = norms[0]?.length ?? 0;
  const cellW = 36;
  const cellH = 18;
  const left = 40;
  const topMargin = 20;
  const cv = new Canvas(left + L * cellW + PAD, topMargin + C * cellH + PAD, WHITE);
  for (let l = 0; l < L; l++) {
    cv.text(left + l * cellW + 4, 4, String(layers?.[l] ?? l), 2);
    let m = 0;
    for (let c = 0; c < C; c++) m = Math.max(m, norms[c][l]);
    for (let c = 0; c < C; c++) cv.fill(left + l * cellW, topMargin + c * cellH, cellW - 2, cellH - 2, sequential(m > 0 ? norms[c][l] / m : 0));
  }
  for (let c = 0; c < C; c++) cv.text(4, topMargin + c * cellH + 3, String(c), 2);
  return cv.toPng();
}

function channel(a: FloatArray, ch: number): Float32Array {
  const c = a.shape[2] ?? 1;
  const n = a.shape[0] * a.shape[1];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = a.data[i * c + ch];
  return out;
}

function resizeNearest(data: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.floor((y * h) / H));
    for (let x = 0; x < W; x++) out[y * W + x] = data[sy * w + Math.min(w - 1, Math.floor((x * w) / W))];
  }
  return out;
}
