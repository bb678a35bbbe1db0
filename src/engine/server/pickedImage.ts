/**
 * An image file the user picks (PNG or JPEG; no lens file, no dataset) as a model's input, and a node seen
 * through it: the feature map and projection the node page shows for a top image, for this one image.
 * The file is read with the dataset readers' bounds (file size, pixel count, PNG inflation checked before
 * decoding) and fitted to the model's input `[h, w, c]` as an image-folder lens at that size would
 * (`fit: 'contain'`, alpha on white, grey by ITU-R 601 luma for one channel).
 */
import { loadModelFor } from '../lens/lensModel';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { FloatArray, ImageInspection, ParamsOf, ProjectionMethod } from '../../shared/protocol';
import { isProjectionMethod, PROJECTION_METHODS } from '../../shared/protocol';
import type { Batch, Dataset } from '../datasets/dataset';
import { decodeImage, toPixels } from '../datasets/image';
import { MAX_IMAGE_BYTES } from '../datasets/imageFolder';
import { check, UserError } from '../runtime/errors';
import { readInputFile } from '../runtime/fsutil';
import { checkLayer, checkNode } from '../models/layerAccess';
import { inspectImages } from './inspectNode';
import type { Network } from '../models/network';

/** The `[h, w, c]` image a model reads (1 or 3 channels), or a `badInput` error naming the model when it reads none. */
export function modelImageShape(net: Network): [number, number, 1 | 3] {
  const s = net.input.shape;
  if (s.length !== 3 || (s[2] !== 1 && s[2] !== 3)) {
    throw new UserError(
      'badInput',
      `reads an input of shape [${s.join(', ')}], not an image of 1 (grey) or 3 (RGB) channels, so an image file cannot feed it.`,
      net.path,
    );
  }
  return [s[0], s[1], s[2] as 1 | 3];
}

/** Image file `file` decoded and fitted to `net`'s input: `[h, w, c]` float32 in [0, 1]. Bad files: one line naming the file. */
export async function readImageFile(file: string, net: Network): Promise<FloatArray> {
  const [h, w, c] = modelImageShape(net);
  const img = decodeImage(await readInputFile(file, { what: 'image', maxBytes: MAX_IMAGE_BYTES }), file);
  return { shape: [h, w, c], data: toPixels(img, h, w, c, 'contain') };
}

/** One image as a test split of one image, so the methods that read datasets (the node page's top images) take it as it is. */
export class SingleImageDataset implements Dataset {
  readonly split = 'test' as const;
  readonly size = 1;
  readonly labels = Int32Array.of(0);
  readonly classes: string[];
  readonly shape: [number, number, number];
  readonly hash: string;

  constructor(
    readonly source: string,
    private readonly image: FloatArray,
  ) {
    this.shape = [image.shape[0], image.shape[1], image.shape[2]];
    this.classes = [path.basename(source)];
    this.hash = `image:${crypto
      .createHash('sha256')
      .update(new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength))
      .digest('hex')}`;
  }

  private batch(): Batch {
    return { images: this.image.data.slice(), labels: Int32Array.of(0), indices: Int32Array.of(0), count: 1 };
  }

  async *batches(batchSize: number, start = 0, end = 1): AsyncIterable<Batch> {
    check(Number.isInteger(batchSize) && batchSize > 0, `Batch size must be a positive whole number, not ${batchSize}.`);
    if (start < 1 && end > 0) yield this.batch();
  }

  async gather(indices: ArrayLike<number>): Promise<Batch> {
    const n = indices.length;
    for (let i = 0; i < n; i++) check(indices[i] === 0, `Image index ${indices[i]} is out of range: ${this.source} is one image.`);
    const per = this.image.data.length;
    const images = new Float32Array(n * per);
    for (let i = 0; i < n; i++) images.set(this.image.data, i * per);
    return { images, labels: new Int32Array(n), indices: new Int32Array(n), count: n };
  }
}

/**
 * Node `node` of layer `layer` for image file `file`: the image as the model reads it, the node's feature map,
 * its Frobenius norm, and its projection by `method` (default `deconv`), through the same function as the node
 * page's top images (`inspectImages`). A projection the network cannot have leaves `projection` out and says why.
 */
export async function inspectImageFile(p: ParamsOf<'inspectImage'>): Promise<ImageInspection> {
  const method: ProjectionMethod = p.method ?? 'deconv';
  check(isProjectionMethod(method), `Unknown projection method "${String(method)}"; use one of ${PROJECTION_METHODS.join(', ')}.`);
  check(typeof p.file === 'string' && p.file.length > 0, 'No image file given.');
  // Through a lens file, its model behind its preprocess; else the file as it is (a model without a lens).
  const { network: net } = await loadModelFor(p);
  checkLayer(net, p.layer);
  checkNode(net, p.layer, p.node);
  const file = path.resolve(p.file);
  const image = await readImageFile(file, net);
  const ds = new SingleImageDataset(file, image);
  const { items, projectionError } = await inspectImages(net, ds, p.layer, p.node, [{ index: 0, score: 0, label: 0 }], method);
  const it = items[0];
  let sq = 0;
  for (const v of it.featureMap.data) sq += v * v;
  return {
    file,
    layer: p.layer,
    node: p.node,
    method,
    image,
    featureMap: it.featureMap,
    score: Math.sqrt(sq),
    ...(it.projection ? { projection: it.projection } : {}),
    ...(projectionError ? { projectionError } : {}),
  };
}
