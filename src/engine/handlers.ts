import type { FloatArray, InputRef } from '../shared/protocol';
import { currentBackend } from './backend';
import { check } from './errors';
import { featureMaps } from './featureMaps';
import { inspectNode } from './inspectNode';
import { layerByClass } from './layerByClass';
import { lensInfo, openDataset, readLens } from './lens';
import { lensPaths } from './lensPaths';
import { maximize } from './maximize';
import { loadModel } from './modelIO';
import { nativeFeatureMaps } from './native/featureMaps';
import { forwardStatus, recordForwardPath } from './native/forwardLayers';
import { scanLensRange } from './parallelScan';
import { project } from './project';
import type { Handlers } from './server';
import * as tf from './tf';
import { thumbnails } from './thumbnails';
import { readTopActivations, scanLens } from './topActivations';
import { trainLens } from './train';
import { layerWeights } from './weights';

/** Reads the image an `InputRef` points at: a dataset image of a lens file, or pixels given directly. */
async function resolveInput(ref: InputRef): Promise<FloatArray> {
  if ('image' in ref) {
    check(ref.image && Array.isArray(ref.image.shape) && ref.image.data instanceof Float32Array, 'The input image must be {shape, data: Float32Array}.');
    return ref.image;
  }
  const lens = await readLens(ref.lens);
  const ds = await openDataset(lens, ref.split ?? 'test');
  check(Number.isInteger(ref.index) && ref.index >= 0 && ref.index < ds.size, `Image index ${ref.index} is out of range: the ${ds.split} split of ${ds.source} has ${ds.size} images.`, lens.path);
  const batch = await ds.gather([ref.index]);
  return { shape: [...ds.shape], data: batch.images };
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
  modelInfo: async (p) => ({ ...(await loadModel(p.model)).info, ...forwardStatus() }),
  lens: async (p) => lensInfo(p.lens),
  train: async (p, job) => trainLens(p.lens, job),
  weights: async (p) => layerWeights((await loadModel(p.model)).network, p.layer, p.node),
  datasetImage: async (p) => {
    const lens = await readLens(p.lens);
    const split = p.split ?? 'test';
    const ds = await openDataset(lens, split);
    check(Number.isInteger(p.index) && p.index >= 0 && p.index < ds.size, `Image index ${p.index} is out of range: the ${split} split has ${ds.size} images.`, lens.path);
    const b = await ds.gather([p.index]);
    return { index: p.index, split, label: b.labels[0], className: ds.classes[b.labels[0]] ?? String(b.labels[0]), image: { shape: [...ds.shape], data: b.images } };
  },
  featureMaps: async (p) => {
    const net = (await loadModel(p.model)).network;
    const input = await resolveInput(p.input);
    // Natively where it runs this network, else on tfjs (the reference).
    const native = await nativeFeatureMaps(net, p.layer, input);
    if (native) return native;
    recordForwardPath('feature maps', 'tfjs');
    return featureMaps(net, p.layer, input);
  },
  project: async (p) => project((await loadModel(p.model)).network, p.layer, p.node, await resolveInput(p.input), p.method, p.maxOnly),
  scan: async (p, job) => scanLens(p.lens, p.storageDir, p.metric ?? 'frobenius', p.k ?? 9, job),
  topActivations: async (p) => readTopActivations(p.lens, p.storageDir, p.layer, p.node, p.metric ?? 'frobenius'),
  layerByClass: async (p, job) => layerByClass(p.lens, job, p.storageDir, { indexOnly: p.indexOnly }),
  maximize: async (p, job) => maximize((await loadModel(p.model)).network, p.layer, p.node, p.options ?? {}, job),
  inspectNode: async (p, job) => inspectNode(p, job),
  scanRange: async (p, job) => scanLensRange(p, job),
  thumbnails: async (p) => thumbnails(p.lens, p.indices, p.outDir, p.split ?? 'test'),
  lensPaths: async (p) => lensPaths(p.lens),
};
