// Small hostile files (issue 15): a few bytes that used to cost the engine gigabytes, overwrite a user's files or
// read outside the workspace. Each case is answered with one line naming the file, before the work it would cost:
// the engine process's peak resident memory (VmHWM from /proc) stays under 1 GB through all of them, the user's
// files are byte-identical afterwards, and after a WebAssembly trap the engine is replaced and the next request
// works. Runs the built engine (dist/engine.js) on the wasm backend through EngineClient, as the extension does,
// and the engine's modules in this process for what needs no process.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { PNG } from 'pngjs';
import { initBackend } from '../../src/engine/runtime/backend';
import { encodeIdx, openIdxDataset } from '../../src/engine/datasets/idx';
import { encodeNpy, openNpyDataset } from '../../src/engine/datasets/npy';
import { parsePyDict } from '../../src/engine/datasets/pyLiteral';
import { UserError } from '../../src/engine/runtime/errors';
import { makeJob } from '../../src/engine/runtime/job';
import { lensInfo, openDataset, readLens } from '../../src/engine/lens/lens';
import { loadModel, saveModel, unloadModels } from '../../src/engine/models/modelIO';
import { scanDataset } from '../../src/engine/scan/topActivations';
import { decodeIndex, encodeIndex, indexPath, readIndex } from '../../src/engine/scan/scanIndex';
import * as tf from '../../src/engine/runtime/tf';
import { trainLens } from '../../src/engine/training/train';
import { EngineServer, type Handlers } from '../../src/engine/server/server';
import { EngineClient } from '../../src/extension/engineClient';
import type { EngineError, FromEngine, Result } from '../../src/shared/protocol';
import { net } from './net';
import { alive } from './procs';

const enginePath = path.resolve(__dirname, '../../dist/engine.js');
const GB = 2 ** 30;

/** Peak resident memory of a process so far, in bytes (VmHWM). */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmHWM in /proc');
  return Number(m[1]) * 1024;
}

/** Every file under `dir` with its bytes (symlinks as their target text). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = path.join(dir, f);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) out.set(f, `-> ${fs.readlinkSync(p)}`);
    else if (st.isFile()) out.set(f, fs.readFileSync(p).toString('base64'));
  }
  return out;
}

/** Asserts a one-line error that names `file` and matches `pattern`. */
function assertOneLine(err: { message: string }, pattern: RegExp, file: string): void {
  assert.match(err.message, pattern);
  assert.ok(err.message.includes(file), `the message names ${file}: ${err.message}`);
  assert.ok(!/[\n\r]/.test(err.message), `one line: ${err.message}`);
}

function errOf(r: Result<unknown>): EngineError {
  assert.ok('err' in r, `expected an error, got ${JSON.stringify(r).slice(0, 300)}`);
  return r.err;
}

/** The problem a `lens` request reports about its dataset: a lens whose data cannot be opened still describes its model, with `datasetError`. */
function datasetErrOf(r: Result<unknown>): { message: string } {
  const problem = 'ok' in r ? (r.ok as { datasetError?: { message: string } }).datasetError : undefined;
  return problem ? new Error(problem.message) : errOf(r);
}

/** A Sequential Layers topology with one Dense layer on a flat input. */
function denseTopology(inputs: number, units: number, name = 'm'): Record<string, unknown> {
  return {
    class_name: 'Sequential',
    config: {
      name,
      layers: [
        { class_name: 'Dense', config: { name: 'dense', units, batch_input_shape: [null, inputs], activation: 'linear', use_bias: true, dtype: 'float32' } },
      ],
    },
  };
}

/** Writes a model.json (and its shard `w.bin` when `shard` is given) into `dir`. */
function writeModel(
  dir: string,
  topology: Record<string, unknown>,
  weights: { name: string; shape: number[]; dtype?: string }[],
  paths: string[],
  shard?: Buffer | null,
): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'model.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: topology,
      weightsManifest: [{ paths, weights: weights.map((w) => ({ dtype: 'float32', ...w })) }],
    }),
  );
  if (shard) fs.writeFileSync(path.join(dir, 'w.bin'), shard);
  return file;
}

/** A 2-unit dense model on 4 inputs with its weights (4·2 + 2 floats). */
function goodModel(dir: string, values?: number[]): string {
  const data = new Float32Array(values ?? [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.05, -0.05]);
  return writeModel(
    dir,
    denseTopology(4, 2),
    [
      { name: 'dense/kernel', shape: [4, 2] },
      { name: 'dense/bias', shape: [2] },
    ],
    ['w.bin'],
    Buffer.from(data.buffer),
  );
}

/** gzip of 16 MB of zeros, made once: concatenated gzip members are one gzip file to every reader. */
let zeros16: Buffer | undefined;
function gzipZeros(mb16: number): Buffer[] {
  zeros16 ??= zlib.gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9 });
  return Array.from({ length: mb16 }, () => zeros16!);
}

/** CRC-32 of PNG chunks. */
function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** An interlaced 1×1 gray PNG whose image data inflates to `bytes` zeros (a 1×1 image needs 2). */
async function interlacedPngBomb(bytes: number): Promise<Buffer> {
  const d = zlib.createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  d.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((r) => d.on('end', r));
  const block = Buffer.alloc(16 * 2 ** 20);
  for (let left = bytes; left > 0; left -= block.length) {
    if (!d.write(left >= block.length ? block : block.subarray(0, left))) await new Promise((r) => d.once('drain', r));
  }
  d.end();
  await done;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  ihdr[12] = 1; // Adam7
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(parts)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngFile(file: string, w: number, h: number): void {
  const p = new PNG({ width: w, height: h });
  p.data.fill(128);
  fs.writeFileSync(file, PNG.sync.write(p));
}

/** An IDX lens over `images` and `labels` (train and test the same files). */
function idxLens(dir: string, images: string, labels: string): string {
  const lens = path.join(dir, 'data.lens.json');
  fs.writeFileSync(
    lens,
    JSON.stringify({ name: 'idx', model: 'model/model.json', dataset: { format: 'idx', train: { images, labels }, test: { images, labels } } }),
  );
  return lens;
}

function eflLens(dir: string, extra: Record<string, unknown> = {}, training?: Record<string, unknown>, dataset: Record<string, unknown> = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const lens = path.join(dir, 'efl.lens.json');
  fs.writeFileSync(
    lens,
    JSON.stringify({
      name: 'EFL',
      model: 'model/model.json',
      dataset: { format: 'efl', size: [8, 8], trainPerClass: 30, testPerClass: 10, noise: 0.1, seed: 1, ...dataset },
      training: training ?? {
        architecture: [{ type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax', name: 'out' }],
        optimizer: { type: 'adam', learningRate: 0.05 },
        epochs: 1,
        batchSize: 16,
        seed: 1,
      },
      ...extra,
    }),
  );
  return lens;
}

describe('hostile files through the engine process', () => {
  let dir: string;
  let outside: string;
  let client: EngineClient;
  let pid: number;
  const logs: string[] = [];

  before(() => {
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hostile-'));
    dir = path.join(base, 'workspace');
    outside = path.join(base, 'outside');
    fs.mkdirSync(dir);
    fs.mkdirSync(outside);
    client = new EngineClient({ enginePath, backend: () => 'wasm', log: (level, m) => logs.push(`${level}: ${m}`) });
  });
  after(() => {
    client.dispose();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  /** After each case: the engine is the same process, and its peak memory so far is under 1 GB. */
  async function sameEngineUnder1GB(what: string): Promise<void> {
    const s = await client.call('status', {});
    if (pid === undefined) pid = s.pid;
    assert.equal(s.pid, pid, `${what}: the engine restarted`);
    const peak = peakRss(pid);
    assert.ok(peak < GB, `${what}: the engine's peak memory is ${(peak / 2 ** 20).toFixed(0)} MB`);
  }

  it('a weight shard that is a symlink to /dev/zero is refused before it is read', async () => {
    await sameEngineUnder1GB('start');
    const d = path.join(dir, 'devzero');
    const model = writeModel(
      d,
      denseTopology(4, 2),
      [
        { name: 'dense/kernel', shape: [4, 2] },
        { name: 'dense/bias', shape: [2] },
      ],
      ['w.bin'],
    );
    fs.symlinkSync('/dev/zero', path.join(d, 'w.bin'));
    const err = errOf(await client.request('modelInfo', { model }));
    assertOneLine(err, /is a device \(a symlink to \/dev\/zero\), not a regular file/, path.join(d, 'w.bin'));
    await sameEngineUnder1GB('/dev/zero shard');
  });

  it('a FIFO as a model file, a lens file or a data file is refused without blocking', async () => {
    const d = path.join(dir, 'fifo');
    fs.mkdirSync(d);
    const fifo = path.join(d, 'model.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    assertOneLine(errOf(await client.request('modelInfo', { model: fifo })), /is a named pipe \(FIFO\), not a regular file/, fifo);
    const lensFifo = path.join(d, 'x.lens.json');
    assert.equal(spawnSync('mkfifo', [lensFifo]).status, 0);
    assertOneLine(errOf(await client.request('lens', { lens: lensFifo })), /is a named pipe \(FIFO\)/, lensFifo);
    const labels = path.join(d, 'labels.idx');
    fs.writeFileSync(labels, encodeIdx(new Uint8Array([0, 1]), [2]));
    const lens = idxLens(d, 'model.json', 'labels.idx');
    assertOneLine(datasetErrOf(await client.request('lens', { lens })), /is a named pipe \(FIFO\)/, fifo);
    await sameEngineUnder1GB('FIFOs');
  });

  it('a manifest listing one shard 10,000 times is refused without reading it', async () => {
    const d = path.join(dir, 'repeat');
    const model = writeModel(
      d,
      denseTopology(4, 2),
      [
        { name: 'dense/kernel', shape: [4, 2] },
        { name: 'dense/bias', shape: [2] },
      ],
      Array(10000).fill('w.bin'),
      Buffer.alloc(40),
    );
    assert.ok(fs.statSync(model).size < 150_000);
    assertOneLine(errOf(await client.request('modelInfo', { model })), /lists weight file w\.bin more than once in its weightsManifest/, model);
    await sameEngineUnder1GB('repeated shard');
  });

  it('a 1.5 KB model.json declaring a two-million-unit dense layer without weights allocates nothing', async () => {
    const d = path.join(dir, 'dense2e6');
    const model = writeModel(d, denseTopology(784, 2_000_000), [], []);
    assert.ok(fs.statSync(model).size < 1500);
    assertOneLine(
      errOf(await client.request('modelInfo', { model })),
      /its layers need 2 weights \(1,570,000,000 values\) but its weightsManifest describes 0 \(0 values\): no weight of shape \[784, 2000000\]/,
      model,
    );
    await sameEngineUnder1GB('2e6-unit dense');
  });

  it('weights that exist but exceed the memory budget are refused before they are read (a sparse 6 GB shard)', async () => {
    const d = path.join(dir, 'sparse');
    const model = writeModel(
      d,
      denseTopology(784, 2_000_000),
      [
        { name: 'dense/kernel', shape: [784, 2_000_000] },
        { name: 'dense/bias', shape: [2_000_000] },
      ],
      ['w.bin'],
    );
    const fd = fs.openSync(path.join(d, 'w.bin'), 'w');
    fs.ftruncateSync(fd, 4 * (784 * 2_000_000 + 2_000_000));
    fs.closeSync(fd);
    assertOneLine(
      errOf(await client.request('modelInfo', { model })),
      /loading it \(1,570,000,000 parameters, 2,000,000 activation values per image\) would need 11\.7 GB of memory, more than the engine's budget of [\d.]+ [GM]B \(setting featureLens\.engine\.maxMemoryMB\)/,
      model,
    );
    await sameEngineUnder1GB('sparse shard');
  });

  it('a weight shard that is a symlink out of the model folder is neither read nor returned', async () => {
    const secret = path.join(outside, 'secret.txt');
    fs.writeFileSync(secret, "the user's private key, 40 bytes long.\n");
    const d = path.join(dir, 'escape');
    const topology = {
      class_name: 'Sequential',
      config: {
        name: 'm',
        layers: [{ class_name: 'Embedding', config: { name: 'emb', input_dim: 40, output_dim: 1, batch_input_shape: [null, 1], dtype: 'float32' } }],
      },
    };
    const model = writeModel(d, topology, [{ name: 'emb/embeddings', shape: [40, 1], dtype: 'uint8' }], ['w.bin']);
    fs.symlinkSync(secret, path.join(d, 'w.bin'));
    const err = errOf(await client.request('weights', { model, layer: 0 }));
    assertOneLine(err, /is a symlink to .*secret\.txt, outside .*escape: Feature Lens does not follow a weight file out of its folder/, path.join(d, 'w.bin'));
    await sameEngineUnder1GB('shard outside');
  });

  it('gzip bombs: a 2 MB .gz unpacking to 2 GiB is refused from its first bytes, through the lens request', async () => {
    const d = path.join(dir, 'gzip');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'labels.idx'), encodeIdx(new Uint8Array([0, 1, 2]), [3]));
    // Zeros from the first byte: not an IDX header.
    const zerosGz = path.join(d, 'zeros.idx.gz');
    fs.writeFileSync(zerosGz, Buffer.concat(gzipZeros(128)));
    assert.ok(fs.statSync(zerosGz).size < 3 * 2 ** 20);
    let lens = idxLens(d, 'zeros.idx.gz', 'labels.idx');
    assertOneLine(datasetErrOf(await client.request('lens', { lens })), /is not an IDX file: its magic number is 00 00 00 00/, zerosGz);
    // A true header for 3 images of 28×28, then 2 GiB more: inflating stops one byte past what the header announces.
    const lying = path.join(d, 'lying.idx.gz');
    const head = encodeIdx(new Uint8Array(3 * 28 * 28), [3, 28, 28]);
    fs.writeFileSync(lying, Buffer.concat([zlib.gzipSync(head), ...gzipZeros(128)]));
    lens = idxLens(d, 'lying.idx.gz', 'labels.idx');
    assertOneLine(
      datasetErrOf(await client.request('lens', { lens })),
      new RegExp(`unpacks to more than the ${head.length} bytes its header announces`),
      lying,
    );
    // A header announcing 1.5 GB: refused before inflating it.
    const big = path.join(d, 'big.idx.gz');
    const bigHead = Buffer.from(encodeIdx(new Uint8Array(0), [0, 28, 28]));
    bigHead.writeUInt32BE(2_000_000, 4);
    fs.writeFileSync(big, Buffer.concat([zlib.gzipSync(bigHead), ...gzipZeros(128)]));
    lens = idxLens(d, 'big.idx.gz', 'labels.idx');
    assertOneLine(
      datasetErrOf(await client.request('lens', { lens })),
      /is gzipped and its header announces 1\.5 GB of data; Feature Lens unpacks at most 512 MB/,
      big,
    );
    await sameEngineUnder1GB('gzip bombs');
  });

  it('an interlaced 1×1 PNG whose data inflates to 1.1 GB is refused at the size its header implies', async () => {
    const d = path.join(dir, 'png');
    for (const c of ['a', 'b']) {
      fs.mkdirSync(path.join(d, 'root', c), { recursive: true });
      pngFile(path.join(d, 'root', c, 'ok.png'), 4, 4);
    }
    const bomb = path.join(d, 'root', 'a', 'bomb.png');
    fs.writeFileSync(bomb, await interlacedPngBomb(1.1 * GB));
    const lens = path.join(d, 'png.lens.json');
    fs.writeFileSync(
      lens,
      JSON.stringify({
        name: 'png',
        model: 'model/model.json',
        dataset: { format: 'imageFolder', root: 'root', size: [4, 4], channels: 1, testFraction: 0.5 },
      }),
    );
    const info = await client.call('lens', { lens });
    const results = [];
    for (const split of ['train', 'test'] as const)
      for (let index = 0; index < info.splits[split]; index++) results.push(await client.request('datasetImage', { lens, index, split }));
    const failed = results.filter((r) => 'err' in r);
    assert.equal(failed.length, 1, 'only the bomb fails');
    assertOneLine(errOf(failed[0]), /is a damaged PNG image: its image data unpacks to more than the 2 bytes its 1×1 header implies/, bomb);
    await sameEngineUnder1GB('PNG bomb');
  });

  it('recipes are bounded: a 4096-filter 1024×1024 conv and 10,000 layers get one line naming the lens file', async () => {
    const big = eflLens(
      path.join(dir, 'bigconv'),
      {},
      {
        architecture: [
          { type: 'conv2d', filters: 4096, kernelSize: 1024, padding: 'same' },
          { type: 'flatten' },
          { type: 'dense', units: 3, activation: 'softmax' },
        ],
        epochs: 1,
      },
      { size: [1024, 1024], trainPerClass: 1, testPerClass: 1 },
    );
    assertOneLine(
      errOf(await client.request('train', { lens: big })),
      /training its recipe \(17,179,873,283 parameters, 8,589,934,595 activation values per image, batches of 32\) would need [\d.]+ TB of memory, more than the engine's budget/,
      big,
    );
    const deep = eflLens(
      path.join(dir, 'deep'),
      {},
      {
        architecture: [...Array.from({ length: 9999 }, () => ({ type: 'activation', activation: 'relu' })), { type: 'dense', units: 3, activation: 'softmax' }],
        epochs: 1,
      },
    );
    assertOneLine(errOf(await client.request('lens', { lens: deep })), /"training\.architecture" has 10000 layers; a recipe has at most 1000/, deep);
    assertOneLine(errOf(await client.request('train', { lens: deep })), /has 10000 layers/, deep);
    await sameEngineUnder1GB('recipes');
  });

  it('a model.json of 10,000 layers gets one line, not a stack overflow', async () => {
    const d = path.join(dir, 'deepmodel');
    const layers = [
      { class_name: 'Activation', config: { name: 'a0', activation: 'relu', batch_input_shape: [null, 4], dtype: 'float32' } },
      ...Array.from({ length: 9999 }, (_, i) => ({ class_name: 'Activation', config: { name: `a${i + 1}`, activation: 'relu' } })),
    ];
    const model = writeModel(d, { class_name: 'Sequential', config: { name: 'deep', layers } }, [], []);
    assertOneLine(errOf(await client.request('modelInfo', { model })), /has 10,000 layers; Feature Lens loads models of up to 5,000 layers/, model);
    await sameEngineUnder1GB('deep model');
  });

  it('after a WebAssembly trap the request fails with one line and the engine is replaced; the next request works', async () => {
    // 4×4 pixels upsampled 16384×16385 times: a 16 GB output, 1 MB more than 4 × 2^32 bytes, which the wasm
    // backend's 32-bit allocator takes for 1 MB ("memory access out of bounds" when the kernel writes past it),
    // while the process stays small. The budget refuses it...
    const d = path.join(dir, 'trap');
    const topology = {
      class_name: 'Sequential',
      config: {
        name: 'trap',
        layers: [
          {
            class_name: 'UpSampling2D',
            config: { name: 'up', batch_input_shape: [null, 4, 4, 1], size: [16384, 16385], data_format: 'channels_last', dtype: 'float32' },
          },
        ],
      },
    };
    const model = writeModel(d, topology, [], []);
    assertOneLine(
      errOf(await client.request('modelInfo', { model })),
      /loading it \(0 parameters, 4,295,229,440 activation values per image\) would need 16\.0 GB of memory/,
      model,
    );
    await sameEngineUnder1GB('refused trap');
    // ...so this client lifts the budget to reach the trap.
    const lifted = new EngineClient({ enginePath, backend: () => 'wasm', maxMemoryMB: () => 100_000_000, log: () => {} });
    try {
      const first = await lifted.call('status', {});
      const err = errOf(await lifted.request('modelInfo', { model }));
      assert.equal(err.code, 'engineDied');
      assert.match(
        err.message,
        /^The Feature Lens engine hit a WebAssembly fault, as when a computation outgrows its memory \(memory access out of bounds\); it restarts for the next request\.$/,
      );
      const good = goodModel(path.join(dir, 'good'));
      const info = await lifted.call('modelInfo', { model: good });
      assert.equal(info.totalParams, 10);
      const second = await lifted.call('status', {});
      assert.notEqual(second.pid, first.pid, 'a fresh engine');
      for (let i = 0; i < 100 && alive(first.pid); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!alive(first.pid), 'the broken engine exited');
    } finally {
      lifted.dispose();
    }
  });
});

describe('training writes only what it made', () => {
  let dir: string;
  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hostile-train-'));
  });
  after(() => {
    unloadModels();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function refuses(lens: string, pattern: RegExp, file: string): Promise<void> {
    const before = snapshot(path.dirname(lens));
    await assert.rejects(trainLens(lens, makeJob()), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assertOneLine(e, pattern, file);
      return true;
    });
    assert.deepEqual(snapshot(path.dirname(lens)), before, 'every file byte-identical');
  }

  it('refuses a "model" that is the lens file, its results, a data file, a text file or a foreign model.json', async () => {
    let d = path.join(dir, 'self');
    let lens = eflLens(d, { model: 'efl.lens.json' });
    await refuses(lens, /"model" names .*efl\.lens\.json, which is this lens file itself; training writes the model there and would overwrite it/, lens);
    d = path.join(dir, 'results');
    lens = eflLens(d, { model: 'efl.training.json' });
    fs.writeFileSync(path.join(d, 'efl.training.json'), '{"my": "notes"}\n');
    await refuses(lens, /which is the training results file of this lens/, lens);
    d = path.join(dir, 'text');
    lens = eflLens(d, { model: 'notes.txt' });
    fs.writeFileSync(path.join(d, 'notes.txt'), 'my notes\n');
    await refuses(lens, /"model" names .*notes\.txt; a TF\.js Layers model is a \.json file/, lens);
    d = path.join(dir, 'json');
    lens = eflLens(d, { model: 'settings.json' });
    fs.writeFileSync(path.join(d, 'settings.json'), '{"editor.fontSize": 14}\n');
    await refuses(lens, /settings\.json exists and is not a model Feature Lens trained; training would overwrite it/, lens);
    d = path.join(dir, 'idx');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'images.json'), encodeIdx(new Uint8Array(2 * 8 * 8), [2, 8, 8]));
    fs.writeFileSync(path.join(d, 'labels.idx'), encodeIdx(new Uint8Array([0, 1]), [2]));
    lens = path.join(d, 'idx.lens.json');
    fs.writeFileSync(
      lens,
      JSON.stringify({
        name: 'idx',
        model: 'images.json',
        dataset: { format: 'idx', train: { images: 'images.json', labels: 'labels.idx' }, test: { images: 'images.json', labels: 'labels.idx' } },
        training: { architecture: [{ type: 'flatten' }, { type: 'dense', units: 2, activation: 'softmax' }], epochs: 1 },
      }),
    );
    await refuses(lens, /which is a file of its dataset/, lens);
  });

  it('refuses to replace a results file it did not write', async () => {
    const d = path.join(dir, 'foreignResults');
    const lens = eflLens(d);
    fs.writeFileSync(path.join(d, 'efl.training.json'), '{"epochs": "my own log"}\n');
    await refuses(lens, /efl\.training\.json exists and is not Feature Lens training results; training would overwrite it/, lens);
    const info = await lensInfo(lens);
    assert.equal(info.lastTraining, undefined);
    assert.match(info.trainingNote!, /training will not overwrite it: move it away, then train/);
  });

  it('writes the model and results as a pair: results name the weights, stale results are refused, orphans are swept', async () => {
    const d = path.join(dir, 'pair');
    const lens = eflLens(d);
    const modelDir = path.join(d, 'model');
    fs.mkdirSync(modelDir);
    // What killed runs leave: a shard never named by a model.json, a temp file of a dead process; and a user's file.
    const orphan = path.join(modelDir, 'model.0123456789ab.bin');
    const deadTmp = path.join(modelDir, 'model.json.999999999.abc.tmp');
    const deadResultsTmp = path.join(d, 'efl.training.json.999999999.abc.tmp');
    const mine = path.join(modelDir, 'model.notes.bin');
    for (const f of [orphan, deadTmp, deadResultsTmp, mine]) fs.writeFileSync(f, 'x');
    const r1 = await trainLens(lens, makeJob());
    for (const f of [orphan, deadTmp, deadResultsTmp]) assert.ok(!fs.existsSync(f), `${path.basename(f)} swept`);
    assert.equal(fs.readFileSync(mine, 'utf8'), 'x');
    const loaded = await loadModel(path.join(modelDir, 'model.json'));
    assert.equal(r1.weightsHash, loaded.info.weightsHash);
    assert.equal(JSON.parse(fs.readFileSync(path.join(d, 'efl.training.json'), 'utf8')).weightsHash, loaded.info.weightsHash);
    assert.equal((await lensInfo(lens)).lastTraining?.weightsHash, r1.weightsHash);
    // A run killed between the two renames: a new model beside the old results.
    const resultsBytes = fs.readFileSync(path.join(d, 'efl.training.json'));
    const other = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' })] });
    await saveModel(other, path.join(modelDir, 'model.json'));
    other.dispose();
    assert.deepEqual(fs.readFileSync(path.join(d, 'efl.training.json')), resultsBytes);
    const stale = await lensInfo(lens);
    assert.equal(stale.lastTraining, undefined, 'stale results are not shown');
    assert.match(
      stale.trainingNote!,
      /efl\.training\.json belongs to other weights than .*model\.json \(a training run was interrupted or the model was replaced\); train again for its results/,
    );
    // Training again is allowed (both files are Feature Lens's own) and pairs them again.
    const r2 = await trainLens(lens, makeJob());
    assert.equal((await lensInfo(lens)).lastTraining?.weightsHash, r2.weightsHash);
    assert.deepEqual(
      fs
        .readdirSync(modelDir)
        .filter((f) => f.endsWith('.bin'))
        .sort(),
      [`model.${r2.weightsHash!.slice(0, 12)}.bin`, 'model.notes.bin'],
    );
  });

  it('a learning rate of 1e999 must be a finite number', async () => {
    const d = path.join(dir, 'lr');
    const lens = eflLens(d);
    fs.writeFileSync(lens, fs.readFileSync(lens, 'utf8').replace('"learningRate":0.05', '"learningRate":1e999'));
    await assert.rejects(readLens(lens), (e: Error) => {
      assertOneLine(e, /"training\.optimizer\.learningRate" must be a finite number, not a number too large for a double \(e\.g\. 1e999\)/, lens);
      return true;
    });
  });
});

describe('hostile data headers and index files', () => {
  let dir: string;
  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hostile-data-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A v1 .npy file with this header text and `data`. */
  function npy(header: string, data: Uint8Array): Buffer {
    const total = 10 + header.length + 1;
    const h = header.padEnd(header.length + ((64 - (total % 64)) % 64), ' ') + '\n';
    const pre = Buffer.alloc(10);
    pre.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
    pre.writeUInt16LE(h.length, 8);
    return Buffer.concat([pre, Buffer.from(h, 'latin1'), data]);
  }

  it('parses headers as numpy writes them (numpy itself as the reference)', () => {
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `
import numpy as np, io, sys
for dt, shape in [('<f4', (3, 28, 28)), ('|u1', (5,)), ('<i8', ()), ('<f8', (2, 1, 3, 4)), ('>i2', (7, 0))]:
    b = io.BytesIO(); np.save(b, np.zeros(shape, dtype=np.dtype(dt))); v = b.getvalue()
    n = int.from_bytes(v[8:10], 'little'); sys.stdout.write(v[10:10 + n].decode('latin1').strip() + '\\n')
`,
      ],
      { encoding: 'utf8' },
    );
    if (py.error && (py.error as NodeJS.ErrnoException).code === 'ENOENT') return; // no python3 here
    assert.equal(py.status, 0, py.stderr);
    const headers = py.stdout.trim().split('\n');
    assert.equal(headers.length, 5);
    const expect: [string, bigint[]][] = [
      ['<f4', [3n, 28n, 28n]],
      ['|u1', [5n]],
      ['<i8', []],
      ['<f8', [2n, 1n, 3n, 4n]],
      ['>i2', [7n, 0n]],
    ];
    headers.forEach((h, i) => {
      const d = parsePyDict(h);
      assert.equal(d.get('descr'), expect[i][0], h);
      assert.equal(d.get('fortran_order'), false);
      assert.deepEqual((d.get('shape') as unknown as { items: bigint[] }).items, expect[i][1], h);
    });
    // The grammar beyond numpy's own output: nesting, other quotes, escapes; and what it refuses.
    const nested = parsePyDict(`{"a": [1, (2,), {'b': -3.5e2}], 'c': None, 'd': 'it\\'s',}`);
    assert.deepEqual([...nested.keys()], ['a', 'c', 'd']);
    assert.equal(nested.get('d'), "it's");
    for (const bad of ["{'a': 1, 'a': 2}", "{'a': 1", '{1: 2}', "{'a': os.system('x')}", "{'a': 1} x", "['descr']", "{'a': 1 2}"])
      assert.throws(() => parsePyDict(bad), Error, bad);
  });

  it("a 'descr' inside another value, a duplicate key or an unknown key is refused, as numpy refuses them", async () => {
    const labels = path.join(dir, 'labels.npy');
    fs.writeFileSync(labels, encodeNpy(new Int32Array([0, 1]), [2]));
    const cases: [string, RegExp][] = [
      [
        `{'fortran_order': False, 'shape': (2, 2, 2), 'descr': "|u1', 'descr': '<f4"}`,
        /holds values of dtype \|u1', 'descr': '<f4, which Feature Lens cannot read/,
      ],
      [
        `{'descr': '|u1', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }`,
        /has an unreadable \.npy header \(the key 'descr' twice at character \d+\)/,
      ],
      [
        `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), 'note': "'descr': '|u1'"}`,
        /its keys are descr, fortran_order, note, shape; it must have exactly descr, fortran_order and shape/,
      ],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2.5), }`, /has an unreadable shape in its \.npy header/],
    ];
    for (const [i, [header, pattern]] of cases.entries()) {
      const images = path.join(dir, `bad${i}.npy`);
      fs.writeFileSync(images, npy(header, new Uint8Array(32)));
      await assert.rejects(
        openNpyDataset(images, labels, 'test'),
        (e: Error) => {
          assertOneLine(e, pattern, images);
          return true;
        },
        header,
      );
    }
  });

  it('int64 labels beyond int32 (2^32 + 1, 2^53 + 1) are refused, not wrapped into class 1', async () => {
    const images = path.join(dir, 'images.npy');
    fs.writeFileSync(images, encodeNpy(new Float32Array(2 * 4), [2, 2, 2]));
    for (const big of [2n ** 32n + 1n, 2n ** 53n + 1n]) {
      const labels = path.join(dir, `labels-${big}.npy`);
      const values = new BigInt64Array([0n, big]);
      fs.writeFileSync(labels, npy(`{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(values.buffer)));
      await assert.rejects(openNpyDataset(images, labels, 'test'), (e: Error) => {
        assertOneLine(e, new RegExp(`label 1 is ${big}; labels must be class indices`), labels);
        return true;
      });
    }
  });

  it('a sparse data file claiming 65 GB is refused before it is opened or hashed', async () => {
    const images = path.join(dir, 'huge.idx');
    fs.writeFileSync(images, encodeIdx(new Uint8Array(0), [0, 28, 28]));
    fs.truncateSync(images, 65 * GB);
    const labels = path.join(dir, 'l.idx');
    fs.writeFileSync(labels, encodeIdx(new Uint8Array([0]), [1]));
    await assert.rejects(openIdxDataset(images, labels, 'test'), (e: Error) => {
      assertOneLine(e, /is 66560 MB; a data file is at most 65536 MB \(every byte is hashed to key its index; split larger data\)/, images);
      return true;
    });
    fs.rmSync(images);
  });

  it('a damaged index file (valid magic, header {"layers":5}) is discarded and rebuilt by the next scan', async () => {
    const d = path.join(dir, 'index');
    const lens = eflLens(d);
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 3, activation: 'relu', name: 'out' })] });
    const ds = await openDataset(await readLens(lens), 'test');
    const storage = path.join(d, 'storage');
    fs.mkdirSync(storage);
    const file = indexPath(storage, 'w', ds.hash, 3);
    const header = Buffer.from('{"layers":5}');
    const damaged = Buffer.alloc(12 + header.length + 64);
    damaged.write('FLIX', 0, 'latin1');
    damaged.writeUInt32LE(1, 4);
    damaged.writeUInt32LE(header.length, 8);
    header.copy(damaged, 12);
    fs.writeFileSync(file, damaged);
    assert.equal(decodeIndex(damaged), null);
    assert.equal(await readIndex(file), null);
    const out = await scanDataset(net(model), 'w', ds, storage, 3, makeJob());
    model.dispose();
    assert.equal(out.stored.header.complete, true);
    const rebuilt = await readIndex(file);
    assert.ok(rebuilt?.header.complete, 'the damaged file was replaced by a complete index');
    assert.equal(Buffer.compare(fs.readFileSync(file), Buffer.from(encodeIndex(rebuilt.header, rebuilt.state))), 0);
  });
});

describe('hostile names and arguments at the command line', () => {
  let dir: string;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [enginePath, ...args, '--backend', 'wasm'], {
      encoding: 'utf8',
      env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') },
    });
  before(() => {
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hostile-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('info and top print no terminal escapes from model, layer and class names', () => {
    const d = path.join(dir, 'escapes');
    const evil = '\u001b]0;pwned\u0007\u001b[2J\u009b31m';
    const model = writeModel(
      d,
      denseTopology(4, 2, `net${evil}`),
      [
        { name: 'dense/kernel', shape: [4, 2] },
        { name: 'dense/bias', shape: [2] },
      ],
      ['w.bin'],
      Buffer.alloc(40),
    );
    const r = run('info', model);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^net/);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(r.stdout), JSON.stringify(r.stdout.slice(0, 80)));
    // Class names from a lens file, through `top`.
    const lens = eflLens(path.join(dir, 'classes'), { model: 'model/model.json' });
    const spec = JSON.parse(fs.readFileSync(lens, 'utf8'));
    fs.mkdirSync(path.join(dir, 'classes', 'data'));
    fs.writeFileSync(
      path.join(dir, 'classes', 'data', 'i.idx'),
      encodeIdx(
        new Uint8Array(4 * 8 * 8).map((_, i) => i % 251),
        [4, 8, 8],
      ),
    );
    fs.writeFileSync(path.join(dir, 'classes', 'data', 'l.idx'), encodeIdx(new Uint8Array([0, 1, 0, 1]), [4]));
    spec.dataset = {
      format: 'idx',
      train: { images: 'data/i.idx', labels: 'data/l.idx' },
      test: { images: 'data/i.idx', labels: 'data/l.idx' },
      classes: [`cat${evil}`, 'dog'],
    };
    delete spec.training;
    fs.writeFileSync(lens, JSON.stringify(spec));
    writeModel(
      path.join(dir, 'classes', 'model'),
      {
        class_name: 'Sequential',
        config: {
          name: 'm',
          layers: [
            { class_name: 'Flatten', config: { name: 'flat', batch_input_shape: [null, 8, 8, 1], dtype: 'float32' } },
            { class_name: 'Dense', config: { name: 'out', units: 2, activation: 'relu' } },
          ],
        },
      },
      [
        { name: 'out/kernel', shape: [64, 2] },
        { name: 'out/bias', shape: [2] },
      ],
      ['w.bin'],
      Buffer.from(new Float32Array(130).fill(0.01).buffer),
    );
    const t = run('top', lens, '--layer', 'out', '--node', '0', '--k', '4');
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /#\d+ cat\?/);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(t.stdout), JSON.stringify(t.stdout));
  });

  it('NaN weights: top says the scores are not numbers and exits non-zero', () => {
    const d = path.join(dir, 'nan');
    const lens = path.join(d, 'nan.lens.json');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'i.idx'), encodeIdx(new Uint8Array(4 * 8 * 8).fill(100), [4, 8, 8]));
    fs.writeFileSync(path.join(d, 'l.idx'), encodeIdx(new Uint8Array([0, 1, 0, 1]), [4]));
    fs.writeFileSync(
      lens,
      JSON.stringify({
        name: 'nan',
        model: 'model/model.json',
        dataset: { format: 'idx', train: { images: 'i.idx', labels: 'l.idx' }, test: { images: 'i.idx', labels: 'l.idx' } },
      }),
    );
    writeModel(
      path.join(d, 'model'),
      {
        class_name: 'Sequential',
        config: {
          name: 'm',
          layers: [
            { class_name: 'Flatten', config: { name: 'flat', batch_input_shape: [null, 8, 8, 1], dtype: 'float32' } },
            { class_name: 'Dense', config: { name: 'out', units: 2, activation: 'linear' } },
          ],
        },
      },
      [
        { name: 'out/kernel', shape: [64, 2] },
        { name: 'out/bias', shape: [2] },
      ],
      ['w.bin'],
      Buffer.from(new Float32Array(130).fill(NaN).buffer),
    );
    const r = run('top', lens, '--layer', 'out', '--node', '1');
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, /^feature-lens: .*nan\.lens\.json: out \(layer 0\) node 1 has no ranked images: its scores are not numbers \(NaN or infinite\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('--max-memory sets the budget a model is checked against', () => {
    const d = path.join(dir, 'budget');
    const model = writeModel(
      d,
      {
        class_name: 'Sequential',
        config: {
          name: 'up',
          layers: [
            {
              class_name: 'UpSampling2D',
              config: { name: 'up', batch_input_shape: [null, 2, 2, 1], size: [1000, 1000], data_format: 'channels_last', dtype: 'float32' },
            },
          ],
        },
      },
      [],
      [],
    );
    let r = run('info', model, '--max-memory', '8');
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `feature-lens: ${model}: loading it (0 parameters, 4,000,000 activation values per image) would need 15 MB of memory, more than the engine's budget of 8 MB (setting featureLens.engine.maxMemoryMB).\n`,
    );
    r = run('info', model, '--max-memory', '64');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /up\s+UpSampling2D\s+\[2000, 2000, 1\]/);
    assert.equal(run('info', model, '--max-memory', 'lots').stderr, 'feature-lens: --max-memory must be a whole number of MB, not "lots".\n');
  });

  it('--node= is refused, --out onto a file is one clear line, a symlink loop is called one', () => {
    const d = path.join(dir, 'args');
    fs.mkdirSync(d);
    const lens = path.join(d, 'x.lens.json');
    fs.writeFileSync(lens, '{}');
    let r = run('top', lens, '--layer', 'out', '--node=');
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'feature-lens: --node must be a whole number, not "".\n');
    const file = path.join(d, 'existing.png');
    fs.writeFileSync(file, 'mine');
    r = run('render', lens, '--layer', 'out', '--node', '0', '--out', file);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `feature-lens: --out ${file} is a file, not a folder: name a folder for the PNGs (it is created when missing).\n`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'mine');
    const loop = path.join(d, 'loop.json');
    fs.symlinkSync(path.join(d, 'loop2.json'), loop);
    fs.symlinkSync(loop, path.join(d, 'loop2.json'));
    r = run('info', loop);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `feature-lens: ${loop}: is a symlink loop (model file cannot be read).\n`);
  });
});

describe('engine faults behind other errors', () => {
  it('a request whose error hides a broken backend is answered as engineDied and the server stops', async () => {
    const sent: FromEngine[] = [];
    let faults = 0;
    let computes = true;
    const handlers = {
      status: async () => {
        computes = false; // as after a trap inside a method that wrapped the error as bad input
        throw new UserError('badInput', 'layer 3 failed: memory access out of bounds');
      },
      lens: async () => {
        throw new UserError('badInput', 'just a bad lens');
      },
    } as unknown as Handlers;
    const server = new EngineServer(
      handlers,
      (m) => sent.push(m),
      () => faults++,
      () => computes,
    );
    server.receive({ type: 'request', id: 1, method: 'lens', params: {} });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      sent.find((m) => m.type === 'reply'),
      { type: 'reply', id: 1, result: { err: { code: 'badInput', message: 'just a bad lens' } } },
    );
    assert.equal(faults, 0, 'bad input with a working backend keeps the engine');
    server.receive({ type: 'request', id: 2, method: 'status', params: {} });
    server.receive({ type: 'request', id: 3, method: 'lens', params: {} });
    await new Promise((r) => setImmediate(r));
    const replies = sent.filter((m) => m.type === 'reply');
    assert.deepEqual(replies[1], {
      type: 'reply',
      id: 2,
      result: {
        err: {
          code: 'engineDied',
          message:
            "layer 3 failed: memory access out of bounds. The Feature Lens engine's memory was damaged by it (a WebAssembly fault); it restarts for the next request.",
        },
      },
    });
    assert.equal(faults, 1);
    assert.equal(replies.length, 2, 'nothing more is served by the broken engine');
  });
});
