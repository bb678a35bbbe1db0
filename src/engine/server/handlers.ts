import type { FloatArray, InputRef, Split } from '../../shared/protocol';
import { currentBackend } from '../runtime/backend';
import { check } from '../runtime/errors';
import { filterPreview } from './filterPreview';
import { forwardFeatureMaps, inspectLayer } from './inspectLayer';
import { inspectNode } from './inspectNode';
import { layerByClass } from '../scan/layerByClass';
import { lensInfo, openDataset, readLens } from '../lens/lens';
import { loadModelFor } from '../lens/lensModel';
import { lensPaths } from '../lens/lensPaths';
import { maximize } from '../methods/maximize';
import { compareLenses, matchLenses } from './compare';
import { sanityCheck } from './sanity';
import { listCheckpoints, timelapse } from './timelapse';
import { writeTimelapseGif } from './timelapseGif';
import type { Network } from '../models/network';
import { forwardStatus } from '../native/forwardLayers';
import { scanLensRange } from '../scan/parallelScan';
import { inspectImageFile, readImageFile } from './pickedImage';
import { project } from '../methods/projection';
import type { Handlers } from './server';
import * as tf from '../runtime/tf';
import { thumbnails } from '../scan/thumbnails';
import { readTopActivations, scanLens } from '../scan/topActivations';
import { trainLens } from '../training/train';
import { layerWeights } from '../methods/weights';

/** One image of a lens file's dataset split (test by default) with its label; the index is range-checked. */
async function readDatasetImage(lensPath: string, index: number, split: Split = 'test') {
  const lens = await readLens(lensPath);
  const ds = await openDataset(lens, split);
  check(
    Number.isInteger(index) && index >= 0 && index < ds.size,
    `Image index ${index} is out of range: the ${split} split of ${ds.source} has ${ds.size} images.`,
    lens.path,
  );
  const b = await ds.gather([index]);
  const label = b.labels[0];
  return { label, className: ds.classes[label] ?? String(label), image: { shape: [...ds.shape], data: b.images } satisfies FloatArray };
}

/** Reads the image an `InputRef` points at: a dataset image of a lens file, pixels given directly, or an image file fitted to `net`'s input. */
async function resolveInput(ref: InputRef, net: Network): Promise<FloatArray> {
  if ('file' in ref) {
    check(typeof ref.file === 'string' && ref.file.length > 0, 'The input image file must be a path.');
    return readImageFile(ref.file, net);
  }
  if ('image' in ref) {
    check(ref.image && Array.isArray(ref.image.shape) && ref.image.data instanceof Float32Array, 'The input image must be {shape, data: Float32Array}.');
    return ref.image;
  }
  return (await readDatasetImage(ref.lens, ref.index, ref.split)).image;
}

export const handlers: Handlers = {
  status: async () => ({
    backend: currentBackend(),
    tfjsVersion: tf.version_core,
    pid: process.pid,
    rss: process.memoryUsage().rss,
    numTensors: tf.memory().numTensors,
    ...forwardStatus(),
  }),
  modelInfo: async (p) => ({ ...(await loadModelFor(p)).info, ...forwardStatus() }),
  lens: async (p) => lensInfo(p.lens),
  train: async (p, job) => trainLens(p.lens, job),
  weights: async (p) => layerWeights((await loadModelFor({ model: p.model })).network, p.layer, p.node),
  filterPreview: async (p) => filterPreview((await loadModelFor({ model: p.model })).network, p.layer),
  datasetImage: async (p) => ({ index: p.index, split: p.split ?? 'test', ...(await readDatasetImage(p.lens, p.index, p.split)) }),
  featureMaps: async (p) => {
    const net = (await loadModelFor(p)).network;
    const input = await resolveInput(p.input, net);
    // An image file: the image as the model read it comes back with its maps.
    const fm = await forwardFeatureMaps(net, p.layer, input);
    return 'file' in p.input ? { ...fm, input } : fm;
  },
  project: async (p) => {
    const net = (await loadModelFor(p)).network;
    return project(net, p.layer, p.node, await resolveInput(p.input, net), p.method, p.maxOnly);
  },
  scan: async (p, job) => scanLens(p.lens, p.storageDir, p.metric ?? 'frobenius', p.k ?? 9, job),
  topActivations: async (p) => readTopActivations(p.lens, p.storageDir, p.layer, p.node, p.metric ?? 'frobenius'),
  layerByClass: async (p, job) => layerByClass(p.lens, job, p.storageDir, { indexOnly: p.indexOnly }),
  maximize: async (p, job) => maximize((await loadModelFor(p)).network, p.layer, p.node, p.options ?? {}, job),
  inspectNode: async (p, job) => inspectNode(p, job),
  inspectLayer: async (p) => inspectLayer(p),
  inspectImage: async (p) => inspectImageFile(p),
  scanRange: async (p, job) => scanLensRange(p, job),
  thumbnails: async (p) => thumbnails(p.lens, p.indices, p.outDir, p.split ?? 'test'),
  lensPaths: async (p) => lensPaths(p.lens),
  sanity: async (p, job) =>
    sanityCheck(
      { lens: p.lens, storageDir: p.storageDir, layer: String(p.layer), node: p.node, k: p.k ?? 9, metric: p.metric, methods: p.methods, maps: p.maps },
      job,
    ),
  timelapse: async (p, job) =>
    timelapse(
      {
        lens: p.lens,
        storageDir: p.storageDir,
        layer: String(p.layer),
        node: p.node,
        k: p.k ?? 9,
        metric: p.metric,
        checkpoint: p.checkpoint,
        method: p.method,
      },
      job,
    ),
  checkpoints: async (p) => listCheckpoints(p.lens),
  timelapseGif: async (p, job) =>
    writeTimelapseGif(
      { lens: p.lens, storageDir: p.storageDir, layer: String(p.layer), node: p.node, k: p.k ?? 9, metric: p.metric, method: p.method, file: p.file },
      job,
    ),
  compare: async (p, job) => compareLenses(p.lens, p.other, { layerA: p.layerA, layerB: p.layerB, sampling: p.sampling }, job),
  matchNodes: async (p, job) => matchLenses(p.lens, p.other, { layerA: p.layerA, layerB: p.layerB, sampling: p.sampling }, job),
};
