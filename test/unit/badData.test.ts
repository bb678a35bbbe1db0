// Bad datasets: every way an IDX file, an NPY file or an image folder can be wrong gives one clear message naming
// the file and the problem, before anything large is allocated, and never takes the engine down (a few cases run
// through the real engine process, which must keep answering).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { initBackend } from '../../src/engine/runtime/backend';
import { encodeIdx } from '../../src/engine/datasets/idx';
import { encodeNpy } from '../../src/engine/datasets/npy';
import { UserError } from '../../src/engine/runtime/errors';
import { lensInfo, openDataset, readLens } from '../../src/engine/lens/lens';
import { EngineClient } from '../../src/extension/engineClient';

const enginePath = path.resolve(__dirname, '../../dist/engine.js');

/** An IDX header with arbitrary dimensions, followed by `payload` bytes. */
function idxHeader(dtype: number, dims: number[], payload = 0): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length + payload);
  b[2] = dtype;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d >>> 0, 4 + 4 * i));
  return b;
}

/** An NPY v1 file with a header dict written as given. */
function npy(header: string, payload = 0, major = 1): Buffer {
  const h = Buffer.from(header.padEnd(header.length + ((64 - ((10 + header.length + 1) % 64)) % 64), ' ') + '\n', 'latin1');
  const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), major, 0, 0, 0]);
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, h, Buffer.alloc(payload)]);
}

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    let c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A PNG whose header claims `w`×`h` RGBA pixels, with a tiny (wrong) data chunk: a decompression-bomb shape. */
function pngClaiming(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1000))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real 8×8 JPEG whose start-of-frame marker is edited to claim `w`×`h`. */
function jpegClaiming(w: number, h: number): Buffer {
  const jpg = Buffer.from(jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 128), width: 8, height: 8 }, 90).data);
  const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
  jpg.writeUInt16BE(h, sof + 5);
  jpg.writeUInt16BE(w, sof + 7);
  return jpg;
}

function png(w: number, h: number, gray: number): Buffer {
  const p = new PNG({ width: w, height: h });
  p.data.fill(gray);
  for (let i = 3; i < p.data.length; i += 4) p.data[i] = 255;
  return PNG.sync.write(p);
}

interface Case {
  name: string;
  /** Writes the files; returns the lens file and the file the message must name. */
  make(dir: string): { lens: string; file: string };
  code: string;
  message: RegExp;
  /** Also read every image (image-folder problems show when an image is decoded). */
  readAll?: boolean;
}

function writeLens(dir: string, dataset: object): string {
  const lens = path.join(dir, 'x.lens.json');
  fs.writeFileSync(lens, JSON.stringify({ name: 'bad', model: 'model/model.json', dataset }));
  return lens;
}

/** An IDX dataset whose test images file is `bytes`, everything else valid. */
function idxCase(dir: string, bytes: Uint8Array, labels?: Uint8Array): { lens: string; file: string } {
  const good = encodeIdx(new Uint8Array(10 * 4 * 4), [10, 4, 4]);
  const lab = encodeIdx(
    Uint8Array.from({ length: 10 }, (_, i) => i % 2),
    [10],
  );
  fs.writeFileSync(path.join(dir, 'train-images.idx'), good);
  fs.writeFileSync(path.join(dir, 'train-labels.idx'), lab);
  fs.writeFileSync(path.join(dir, 'test-images.idx'), bytes);
  fs.writeFileSync(path.join(dir, 'test-labels.idx'), labels ?? lab);
  const lens = writeLens(dir, {
    format: 'idx',
    train: { images: 'train-images.idx', labels: 'train-labels.idx' },
    test: { images: 'test-images.idx', labels: 'test-labels.idx' },
  });
  return { lens, file: path.join(dir, labels ? 'test-labels.idx' : 'test-images.idx') };
}

function npyCase(dir: string, bytes: Uint8Array, labels?: Uint8Array): { lens: string; file: string } {
  const good = encodeNpy(new Float32Array(10 * 4 * 4), [10, 4, 4]);
  const lab = encodeNpy(
    Int32Array.from({ length: 10 }, (_, i) => i % 2),
    [10],
  );
  fs.writeFileSync(path.join(dir, 'train-images.npy'), good);
  fs.writeFileSync(path.join(dir, 'train-labels.npy'), lab);
  fs.writeFileSync(path.join(dir, 'test-images.npy'), bytes);
  fs.writeFileSync(path.join(dir, 'test-labels.npy'), labels ?? lab);
  const lens = writeLens(dir, {
    format: 'npy',
    train: { images: 'train-images.npy', labels: 'train-labels.npy' },
    test: { images: 'test-images.npy', labels: 'test-labels.npy' },
  });
  return { lens, file: path.join(dir, labels ? 'test-labels.npy' : 'test-images.npy') };
}

/** An image folder with classes a/ and b/ of small PNGs, plus `extra` written into a/. */
function folderCase(dir: string, extra: (a: string) => string): { lens: string; file: string } {
  const root = path.join(dir, 'images');
  for (const c of ['a', 'b']) {
    fs.mkdirSync(path.join(root, c), { recursive: true });
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(root, c, `${i}.png`), png(6, 6, c === 'a' ? 30 : 220));
  }
  const file = extra(path.join(root, 'a'));
  const lens = writeLens(dir, { format: 'imageFolder', root: 'images', size: [8, 8], channels: 1, testFraction: 0.5 });
  return { lens, file };
}

const CASES: Case[] = [
  {
    name: 'IDX with a wrong magic number (a zip file)',
    make: (d) => idxCase(d, Buffer.from('PK\x03\x04 this is a zip archive', 'latin1')),
    code: 'badInput',
    message: /is not an IDX file: its magic number is 50 4b 03 04, expected 00 00 08 03 \(uint8 images\)/,
  },
  {
    name: 'IDX whose dimensions overflow (2^31 images of 2^31 × 2^31)',
    make: (d) => idxCase(d, idxHeader(0x08, [2 ** 31, 2 ** 31, 2 ** 31], 64)),
    code: 'badInput',
    message: /has impossible dimensions \[2147483648, 2147483648, 2147483648\] in its IDX header \(the header is corrupt\)/,
  },
  {
    name: 'IDX claiming 2^31 - 1 images of 28 × 28',
    make: (d) => idxCase(d, idxHeader(0x08, [2 ** 31 - 1, 28, 28], 64)),
    code: 'badInput',
    message: /has impossible dimensions \[2147483647, 28, 28\]|is truncated: its IDX header says \[2147483647, 28, 28\]/,
  },
  {
    name: 'IDX truncated (header says 10 images, 5 are there)',
    make: (d) => idxCase(d, idxHeader(0x08, [10, 4, 4], 5 * 16)),
    code: 'badInput',
    message: /is truncated: its IDX header says \[10, 4, 4\] uint8 \(176 bytes\) but the file holds 96 bytes/,
  },
  {
    name: 'IDX truncated inside its header',
    make: (d) => idxCase(d, idxHeader(0x08, [10, 4, 4]).subarray(0, 9)),
    code: 'badInput',
    message: /is truncated: its header announces 3 dimensions but the file ends after 9 bytes/,
  },
  {
    name: 'IDX with bytes after the data',
    make: (d) => idxCase(d, idxHeader(0x08, [10, 4, 4], 10 * 16 + 7)),
    code: 'badInput',
    message: /has 7 bytes after the \[10, 4, 4\] uint8 values/,
  },
  {
    name: 'IDX images of one dimension',
    make: (d) => idxCase(d, idxHeader(0x08, [160], 160)),
    code: 'badInput',
    message: /holds an array of shape \[160\]; IDX images must be \[N, height, width\]/,
  },
  { name: 'IDX zero-byte file', make: (d) => idxCase(d, Buffer.alloc(0)), code: 'badInput', message: /is empty \(0 bytes\)/ },
  {
    name: 'IDX gzip that is cut short',
    make: (d) =>
      idxCase(
        d,
        zlib
          .gzipSync(
            encodeIdx(
              new Uint8Array(160).map((_, i) => i),
              [10, 4, 4],
            ),
          )
          .subarray(0, 30),
      ),
    code: 'badInput',
    message: /is a damaged or truncated gzip file/,
  },
  {
    name: 'IDX labels that do not match the image count',
    make: (d) => idxCase(d, encodeIdx(new Uint8Array(160), [10, 4, 4]), encodeIdx(new Uint8Array(9), [9])),
    code: 'badInput',
    message: /holds 9 labels but .*test-images\.idx holds 10 images: they must match/,
  },
  {
    name: 'IDX float labels',
    make: (d) => idxCase(d, encodeIdx(new Uint8Array(160), [10, 4, 4]), encodeIdx(new Float32Array(10), [10])),
    code: 'badInput',
    message: /holds float32 values; labels must be whole numbers/,
  },

  {
    name: 'NPY complex64 images',
    make: (d) => npyCase(d, npy("{'descr': '<c8', 'fortran_order': False, 'shape': (10, 4, 4), }", 10 * 16 * 8)),
    code: 'unsupported',
    message: /holds c8 values; Feature Lens reads float32, float64 and integer \.npy arrays/,
  },
  {
    name: 'NPY object array (pickled)',
    make: (d) => npyCase(d, npy("{'descr': '|O', 'fortran_order': False, 'shape': (10,), }", 80)),
    code: 'unsupported',
    message: /holds O values; Feature Lens reads float32, float64 and integer \.npy arrays/,
  },
  {
    name: 'NPY unicode strings',
    make: (d) => npyCase(d, npy("{'descr': '<U5', 'fortran_order': False, 'shape': (10,), }", 200)),
    code: 'unsupported',
    message: /holds U5 values; Feature Lens reads float32, float64 and integer \.npy arrays/,
  },
  {
    name: 'NPY big-endian floats',
    make: (d) => npyCase(d, npy("{'descr': '>f4', 'fortran_order': False, 'shape': (10, 4, 4), }", 640)),
    code: 'unsupported',
    message: /holds big-endian f4 values; save it little-endian/,
  },
  {
    name: 'NPY in Fortran order',
    make: (d) => npyCase(d, npy("{'descr': '<f4', 'fortran_order': True, 'shape': (10, 4, 4), }", 640)),
    code: 'unsupported',
    message: /is in Fortran order; save it with np\.ascontiguousarray first/,
  },
  {
    name: 'NPY int16 images',
    make: (d) => npyCase(d, npy("{'descr': '<i2', 'fortran_order': False, 'shape': (10, 4, 4), }", 320)),
    code: 'unsupported',
    message: /holds i2 images; use float32 in \[0, 1\] or uint8 in \[0, 255\]/,
  },
  {
    name: 'NPY without the magic',
    make: (d) => npyCase(d, Buffer.from("{'descr': '<f4'} and some more bytes")),
    code: 'badInput',
    message: /is not a NumPy \.npy file \(no \\x93NUMPY magic\)/,
  },
  {
    name: 'NPY header without a shape',
    make: (d) => npyCase(d, npy("{'descr': '<f4', 'fortran_order': False, }", 640)),
    code: 'badInput',
    message: /has an unreadable \.npy header/,
  },
  {
    name: 'NPY header longer than the file',
    make: (d) => npyCase(d, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4, 4), }").subarray(0, 40)),
    code: 'badInput',
    message: /is truncated inside its \.npy header/,
  },
  {
    name: 'NPY version 2 file cut after 10 bytes',
    make: (d) => npyCase(d, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4, 4), }", 0, 2).subarray(0, 10)),
    code: 'badInput',
    message: /is truncated inside its \.npy header/,
  },
  {
    name: 'NPY truncated data',
    make: (d) => npyCase(d, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4, 4), }", 100)),
    code: 'badInput',
    message: /is truncated: its header says \(10, 4, 4\) f4 \(\d+ bytes\) but the file holds \d+ bytes/,
  },
  {
    name: 'NPY shape that overflows',
    make: (d) => npyCase(d, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 64)),
    code: 'badInput',
    message: /has impossible dimensions \(4294967296, 4294967296, 4294967296\)/,
  },

  {
    name: 'image folder with a text file',
    make: (d) => folderCase(d, (a) => (fs.writeFileSync(path.join(a, 'notes.txt'), 'not an image'), path.join(a, 'notes.txt'))),
    code: 'badInput',
    message: /is not a PNG or JPEG image\. Remove it from the image folder/,
  },
  {
    name: 'image folder with a zero-byte file',
    make: (d) => folderCase(d, (a) => (fs.writeFileSync(path.join(a, 'empty.png'), ''), path.join(a, 'empty.png'))),
    code: 'badInput',
    message: /is an empty file \(0 bytes\), not an image/,
  },
  {
    name: 'image folder with a damaged PNG',
    make: (d) => folderCase(d, (a) => (fs.writeFileSync(path.join(a, 'cut.png'), png(6, 6, 9).subarray(0, 40)), path.join(a, 'cut.png'))),
    code: 'badInput',
    message: /is a damaged PNG image/,
    readAll: true,
  },
  {
    name: 'image folder with a PNG claiming 100000 × 100000 pixels',
    make: (d) => folderCase(d, (a) => (fs.writeFileSync(path.join(a, 'huge.png'), pngClaiming(100000, 100000)), path.join(a, 'huge.png'))),
    code: 'badInput',
    message: /is a 100000×100000 image, too large to decode: Feature Lens reads images of up to 64 megapixels\. Shrink it first\./,
    readAll: true,
  },
  {
    name: 'image folder with a PNG claiming 20000 × 20000 pixels (1.6 GB decoded)',
    make: (d) => folderCase(d, (a) => (fs.writeFileSync(path.join(a, 'big.png'), pngClaiming(20000, 20000)), path.join(a, 'big.png'))),
    code: 'badInput',
    message: /is a 20000×20000 image, too large to decode/,
    readAll: true,
  },
  {
    name: 'image folder with a JPEG claiming 60000 × 60000 pixels',
    make: (d) => folderCase(d, (a) => (fs.writeFileSync(path.join(a, 'huge.jpg'), jpegClaiming(60000, 60000)), path.join(a, 'huge.jpg'))),
    code: 'badInput',
    message: /is a 60000×60000 image, too large to decode/,
    readAll: true,
  },
];

async function readEverything(lensFile: string): Promise<void> {
  await lensInfo(lensFile);
  const lens = await readLens(lensFile);
  for (const split of ['train', 'test'] as const) {
    const ds = await openDataset(lens, split);
    for await (const b of ds.batches(64)) void b;
  }
}

describe('bad datasets', () => {
  let dir: string;
  const seen: string[] = [];
  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-baddata-'));
  });
  after(() => {
    console.log(seen.map((s) => `# ${s}`).join('\n'));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [i, c] of CASES.entries()) {
    it(c.name, { timeout: 20_000 }, async () => {
      const d = path.join(dir, String(i));
      fs.mkdirSync(d);
      const { lens, file } = c.make(d);
      const rss0 = process.memoryUsage().rss;
      await assert.rejects(readEverything(lens), (e: unknown) => {
        assert.ok(e instanceof UserError, `expected a UserError, got ${e instanceof Error ? e.stack : String(e)}`);
        seen.push(`${c.name}: ${e.message.replace(dir, '<tmp>')}`);
        assert.match(e.code, new RegExp(`^(${c.code})$`));
        assert.match(e.message, c.message);
        assert.ok(e.message.includes(file), `the message names ${file}: ${e.message}`);
        assert.ok(!e.message.includes('\n'), 'one line');
        return true;
      });
      // Refused before memory is spent (not timed: speed is for the benchmarks; a reader that loops hits the test's timeout).
      const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
      assert.ok(grew < 256, `refused without allocating much (RSS grew ${grew.toFixed(0)} MB)`);
    });
  }

  it('a symlink loop in an image folder neither hangs nor fails: the loop is skipped', async () => {
    const d = path.join(dir, 'loop');
    fs.mkdirSync(d);
    const { lens } = folderCase(d, (a) => {
      fs.symlinkSync(a, path.join(a, 'again')); // a/again -> a
      fs.symlinkSync(path.dirname(a), path.join(a, 'up')); // a/up -> images/
      return a;
    });
    const info = await lensInfo(lens);
    assert.deepEqual(info.classes, ['a', 'b']);
    assert.equal(info.splits.train + info.splits.test, 10, 'the ten real images, each once');
  });
});

describe('bad datasets through the engine process', () => {
  let dir: string;
  let client: EngineClient;
  before(() => {
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-baddata-engine-'));
    client = new EngineClient({ enginePath, backend: () => 'wasm', log: () => {} });
  });
  after(() => {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers each with the message and keeps serving, in the same process', { timeout: 60_000 }, async () => {
    const pid = (await client.call('status', {})).pid;
    const picks = CASES.filter((c) => /wrong magic|overflow \(|complex64|huge|100000/.test(c.name));
    assert.ok(picks.length >= 4);
    for (const [i, c] of picks.entries()) {
      const d = path.join(dir, String(i));
      fs.mkdirSync(d);
      const { lens, file } = c.make(d);
      const r = await client.request('lens', { lens });
      // A lens whose data cannot be opened still describes its model, with the dataset's problem beside it.
      let message = 'err' in r ? r.err.message : r.ok.datasetError?.message;
      if ('ok' in r && !message && c.readAll) {
        // Image folders list fine; the bad image is refused when it is read.
        const results = await Promise.all(Array.from({ length: r.ok.splits.test }, (_, index) => client.request('datasetImage', { lens, index })));
        const results2 = await Promise.all(
          Array.from({ length: r.ok.splits.train }, (_, index) => client.request('datasetImage', { lens, index, split: 'train' })),
        );
        const failed = [...results, ...results2].find((x) => 'err' in x);
        message = failed && 'err' in failed ? failed.err.message : undefined;
      }
      assert.ok(message, `${c.name}: expected an error`);
      assert.match(message, c.message, c.name);
      assert.ok(message.includes(file));
      const s = await client.call('status', {});
      assert.equal(s.pid, pid, `${c.name}: the engine did not restart`);
    }
  });
});
