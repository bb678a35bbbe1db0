// The file readers on thousands of mutated inputs (test/unit/mutate.ts, seeded): every failure is a UserError
// whose one-line message names the file, no input hangs, and neither memory nor the tensor count grows.
// A failure prints the seed, the case number and the mutation, so `FUZZ_SEED=<seed>` reproduces it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { predict } from '../../src/engine/models/forward';
import { initBackend } from '../../src/engine/runtime/backend';
import { encodeIdx, openIdxDataset } from '../../src/engine/datasets/idx';
import { encodeNpy, openNpyDataset } from '../../src/engine/datasets/npy';
import { UserError } from '../../src/engine/runtime/errors';
import { lensInfo, openDataset, readLens } from '../../src/engine/lens/lens';
import { loadModel, saveModel, unloadModels } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';
import { mutateBytes, mutateJson, rng, type Rng } from './mutate';

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
/**
 * Per-input bound that only a hang crosses: a termination check, not a speed check (speed is for the benchmarks).
 * A read that never settles is reported with its case after this long; one that loops synchronously forever hits
 * the test's timeout instead, and one that finishes after longer than this is reported as a near-hang.
 */
const HANG_MS = 10_000;
/**
 * The whole test's bound, for a read that loops synchronously forever: far above what 1500 inputs take on
 * any machine (a termination check too; how long the inputs take is not asserted).
 */
const LOOP_FOREVER_MS = 600_000;

class Hang extends Error {}
/** FUZZ_COLLECT=1 lists every distinct failure instead of stopping at the first (for fixing in bulk). */
const COLLECT = process.env.FUZZ_COLLECT === '1';
const collected = new Map<string, string>();

interface Outcome {
  ok: number;
  refused: Map<string, number>;
  slowest: { ms: number; what: string };
}

/**
 * Runs `read` on `count` inputs made by `make`, checking each failure is a UserError naming `fileOf(case)`.
 * Returns how many were accepted and the distinct refusal messages (normalized), for the report.
 */
async function fuzz(
  name: string,
  count: number,
  make: (r: Rng, i: number) => { file: string; what: string },
  read: (file: string) => Promise<unknown>,
  /** The files a message may name: by default the input itself (a lens file's errors may name a data file it reads). */
  mayName: (input: string, named: string | undefined) => boolean = (input, named) => named === input,
): Promise<Outcome> {
  const r = rng(SEED ^ hash(name));
  const out: Outcome = { ok: 0, refused: new Map(), slowest: { ms: 0, what: '' } };
  for (let i = 0; i < count; i++) {
    const { file, what } = make(r, i);
    const t0 = performance.now();
    const n0 = tf.memory().numTensors;
    let leakNote = 'accepted';
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Hang()), HANG_MS)));
    try {
      await Promise.race([read(file), hang]);
      out.ok++;
    } catch (e) {
      leakNote = oneLine(e);
      const where = `${name} case ${i} (seed ${SEED}: ${what})`;
      if (e instanceof Hang) assert.fail(`${where}: hangs (no answer after ${HANG_MS / 1000} s)`);
      const problem = !(e instanceof UserError)
        ? `threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`
        : !e.file || !mayName(file, e.file) || !e.message.includes(e.file)
          ? `message does not name the file: ${e.message} (file ${e.file})`
          : e.message.includes('\n')
            ? `message has several lines: ${e.message}`
            : e.message.length >= 600
              ? `message is ${e.message.length} characters long`
              : undefined;
      if (problem) {
        if (!COLLECT) assert.fail(`${where}: ${problem}`);
        const k = problem.slice(0, 160).replace(/\d+/g, 'N');
        if (!collected.has(k)) collected.set(k, `${where}: ${problem.slice(0, 600)}`);
      }
      const key = String((e as Error).message)
        .replace((e as UserError).file ?? file, '<file>')
        .replace(/\d+/g, 'N')
        .slice(0, 120);
      out.refused.set(key, (out.refused.get(key) ?? 0) + 1);
    } finally {
      clearTimeout(timer);
    }
    const leaked = tf.memory().numTensors - n0;
    if (leaked !== 0) {
      const where = `${name} case ${i} (seed ${SEED}: ${what})`;
      if (!COLLECT) assert.fail(`${where}: left ${leaked} tensors (${leakNote})`);
      const k = `leak ${leakNote.replace(/\d+/g, 'N').slice(0, 100)}`;
      if (!collected.has(k)) collected.set(k, `${where}: left ${leaked} tensors (${leakNote})`);
    }
    const ms = performance.now() - t0;
    if (process.env.FUZZ_SLOW && ms > Number(process.env.FUZZ_SLOW)) console.log(`# slow: ${name} case ${i} ${ms.toFixed(0)} ms: ${what}`);
    if (ms > out.slowest.ms) out.slowest = { ms, what: `case ${i}: ${what}` };
    assert.ok(ms < HANG_MS, `${name} case ${i} (seed ${SEED}: ${what}) nearly hangs: it took ${(ms / 1000).toFixed(1)} s`);
  }
  return out;
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function report(name: string, count: number, o: Outcome): void {
  const top = [...o.refused.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(
    `# ${name}: ${count} inputs, ${o.ok} accepted, ${count - o.ok} refused with ${o.refused.size} distinct messages; slowest ${o.slowest.ms.toFixed(0)} ms (${o.slowest.what})`,
  );
  for (const [m, n] of top) console.log(`#   ${String(n).padStart(5)} × ${m}`);
}

// A full GC before each memory reading, so heap numbers compare what is live (the runner gives no --expose-gc).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap and RSS after a full GC. */
function memory(): { heap: number; rss: number } {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

/** Opens a dataset and reads every image of it, in batches (what a scan does). */
async function readAll(ds: { size: number; batches(n: number): AsyncIterable<unknown> }): Promise<void> {
  for await (const b of ds.batches(256)) void b;
}

describe('fuzzing the readers', () => {
  let dir: string;
  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-fuzz-'));
  });
  after(() => {
    for (const v of collected.values()) console.log(`# FAILURE ${v}`);
    unloadModels();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('model.json and its weight shard: 1500 mutated models', { timeout: LOOP_FOREVER_MS }, async () => {
    const seeds: { json: string; shard: Uint8Array; shardName: string }[] = [];
    const models = [
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      }),
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [4, 4, 1] }),
          tf.layers.dense({ units: 2, useBias: false, activation: 'relu' }),
          tf.layers.dense({ units: 3 }),
        ],
      }),
    ];
    for (const [i, m] of models.entries()) {
      const file = path.join(dir, `seed${i}`, 'model.json');
      await saveModel(m, file);
      m.dispose();
      const json = fs.readFileSync(file, 'utf8');
      const shardName = JSON.parse(json).weightsManifest[0].paths[0];
      seeds.push({ json, shard: fs.readFileSync(path.join(path.dirname(file), shardName)), shardName });
    }
    const work = path.join(dir, 'model');
    fs.mkdirSync(work);
    const baseTensors = tf.memory().numTensors;
    const count = 1500;
    let mem0 = memory();
    const o = await fuzz(
      'model.json',
      count,
      (r, i) => {
        if (i === 100) mem0 = memory(); // after warm-up (tfjs registers its layer classes lazily)
        const s = seeds[Math.floor(r() * seeds.length)];
        let json = s.json;
        let shard = s.shard;
        const what: string[] = [];
        const roll = r();
        if (roll < 0.6) {
          const m = mutateJson(json, r);
          json = m.text;
          what.push(`json: ${m.what}`);
        } else if (roll < 0.85) {
          const m = mutateBytes(new TextEncoder().encode(json), r, new TextEncoder().encode(seeds[0].json));
          json = new TextDecoder().decode(m.bytes);
          what.push(`json bytes: ${m.what}`);
        } else {
          const m = mutateBytes(shard, r);
          shard = m.bytes;
          what.push(`shard: ${m.what}`);
        }
        // A fresh folder per case: loadModel caches by path and mtime.
        const d = path.join(work, String(i));
        fs.mkdirSync(d);
        fs.writeFileSync(path.join(d, s.shardName), shard);
        const file = path.join(d, 'model.json');
        fs.writeFileSync(file, json);
        return { file, what: what.join('; ') };
      },
      async (file) => {
        try {
          const { network } = await loadModel(file);
          // What a user does next: look at the layers and run an image through.
          tf.tidy(() => predict(network, tf.zeros([1, ...network.input.shape])).dataSync());
        } finally {
          unloadModels();
          fs.rmSync(path.dirname(file), { recursive: true, force: true });
        }
      },
    );
    report('model.json', count, o);
    assert.equal(tf.memory().numTensors, baseTensors, 'no tensors left behind by accepted or refused models');
    const mem1 = memory();
    console.log(
      `# model.json: heap ${(mem0.heap / 2 ** 20).toFixed(1)} -> ${(mem1.heap / 2 ** 20).toFixed(1)} MB, rss ${(mem0.rss / 2 ** 20).toFixed(0)} -> ${(mem1.rss / 2 ** 20).toFixed(0)} MB`,
    );
    assert.ok(mem1.heap - mem0.heap < 64 * 2 ** 20, `heap grew by ${((mem1.heap - mem0.heap) / 2 ** 20).toFixed(1)} MB`);
    assert.ok(o.ok > 0 && o.ok < count, 'the mutations produce both readable and refused models');
  });

  /** Fuzzes a pair of (images, labels) data files: each case mutates one of them. */
  async function fuzzPair(
    name: string,
    count: number,
    seeds: { images: Uint8Array; labels: Uint8Array }[],
    ext: string,
    open: (images: string, labels: string) => Promise<{ size: number; batches(n: number): AsyncIterable<unknown> }>,
  ) {
    const work = path.join(dir, name);
    fs.mkdirSync(work);
    let mem0 = memory();
    const o = await fuzz(
      name,
      count,
      (r, i) => {
        if (i === 50) mem0 = memory();
        const s = seeds[Math.floor(r() * seeds.length)];
        const which = r() < 0.75 ? 'images' : 'labels';
        const m = mutateBytes(s[which], r, seeds[(i + 1) % seeds.length][which]);
        const d = path.join(work, String(i % 50));
        fs.mkdirSync(d, { recursive: true });
        const images = path.join(d, `images.${ext}`);
        const labels = path.join(d, `labels.${ext}`);
        fs.writeFileSync(images, which === 'images' ? m.bytes : s.images);
        fs.writeFileSync(labels, which === 'labels' ? m.bytes : s.labels);
        return { file: which === 'images' ? images : labels, what: `${which}: ${m.what}` };
      },
      async (file) => {
        const d = path.dirname(file);
        await readAll(await open(path.join(d, `images.${ext}`), path.join(d, `labels.${ext}`)));
      },
    );
    report(name, count, o);
    const mem1 = memory();
    console.log(
      `# ${name}: heap ${(mem0.heap / 2 ** 20).toFixed(1)} -> ${(mem1.heap / 2 ** 20).toFixed(1)} MB, rss ${(mem0.rss / 2 ** 20).toFixed(0)} -> ${(mem1.rss / 2 ** 20).toFixed(0)} MB`,
    );
    assert.ok(mem1.heap - mem0.heap < 64 * 2 ** 20, `${name}: heap grew by ${((mem1.heap - mem0.heap) / 2 ** 20).toFixed(1)} MB`);
    assert.ok(o.ok > 0 && o.ok < count, `${name}: the mutations produce both readable and refused files`);
  }

  // Model files that hold their weights: ONNX (protobuf), seeded with a real file (the zoo's PyTorch-trained
  // digits CNN). HDF5 and zip (Keras) files are fuzzed through a real engine process in fuzzKeras.test.ts: a
  // damaged HDF5 file can make the HDF5 library trap or loop forever, which its reader thread is ended for.
  for (const [name, seedFile, ext] of [['ONNX', path.resolve('test/fixtures/zoo/digits.onnx'), '.onnx']] as const) {
    it(`${name} model files: 300 mutated files`, { timeout: LOOP_FOREVER_MS }, async () => {
      assert.ok(fs.existsSync(seedFile), `${seedFile} is missing (npm test makes it)`);
      const seed = new Uint8Array(fs.readFileSync(seedFile));
      const work = path.join(dir, `model-${ext.slice(1)}`);
      fs.mkdirSync(work, { recursive: true });
      const count = 300;
      const o = await fuzz(
        name,
        count,
        (r, i) => {
          const m = mutateBytes(seed, r);
          // a new name per case: the loader caches by path, time and size
          const file = path.join(work, `m${i}${ext}`);
          fs.writeFileSync(file, m.bytes);
          return { file, what: m.what };
        },
        async (file) => {
          try {
            await loadModel(file);
          } finally {
            unloadModels(file);
            fs.rmSync(file, { force: true });
          }
        },
      );
      report(name, count, o);
    });
  }

  it('IDX images and labels (plain and gzipped): 1500 mutated files', { timeout: LOOP_FOREVER_MS }, async () => {
    const n = 12;
    const img = new Uint8Array(n * 6 * 6).map((_, i) => (i * 37) % 256);
    const lab = Uint8Array.from({ length: n }, (_, i) => i % 3);
    const seeds = [
      { images: encodeIdx(img, [n, 6, 6]), labels: encodeIdx(lab, [n]) },
      {
        images: encodeIdx(
          new Float32Array(img).map((v) => v / 255),
          [n, 6, 6, 1],
        ),
        labels: encodeIdx(Int32Array.from(lab), [n]),
      },
      { images: zlib.gzipSync(encodeIdx(img, [n, 6, 6])), labels: zlib.gzipSync(encodeIdx(lab, [n])) },
    ];
    await fuzzPair('idx', 1500, seeds, 'idx', (a, b) => openIdxDataset(a, b, 'test'));
  });

  it('NPY images and labels: 1500 mutated files', { timeout: LOOP_FOREVER_MS }, async () => {
    const n = 12;
    const img = new Float32Array(n * 5 * 5).map((_, i) => ((i * 37) % 256) / 255);
    const lab = Int32Array.from({ length: n }, (_, i) => i % 3);
    const seeds = [
      { images: encodeNpy(img, [n, 5, 5]), labels: encodeNpy(lab, [n]) },
      {
        images: encodeNpy(
          Uint8Array.from(img, (v) => v * 255),
          [n, 5, 5, 1],
        ),
        labels: encodeNpy(lab, [n]),
      },
    ];
    await fuzzPair('npy', 1500, seeds, 'npy', (a, b) => openNpyDataset(a, b, 'test'));
  });

  it('lens files: 1500 mutated lens files over every dataset format', { timeout: LOOP_FOREVER_MS }, async () => {
    const data = path.join(dir, 'lensdata');
    fs.mkdirSync(path.join(data, 'images', 'a'), { recursive: true });
    fs.mkdirSync(path.join(data, 'images', 'b'), { recursive: true });
    const n = 12;
    fs.writeFileSync(path.join(data, 'img.idx'), encodeIdx(new Uint8Array(n * 36), [n, 6, 6]));
    fs.writeFileSync(
      path.join(data, 'lab.idx'),
      encodeIdx(
        Uint8Array.from({ length: n }, (_, i) => i % 2),
        [n],
      ),
    );
    fs.writeFileSync(path.join(data, 'img.npy'), encodeNpy(new Float32Array(n * 36), [n, 6, 6]));
    fs.writeFileSync(
      path.join(data, 'lab.npy'),
      encodeNpy(
        Int32Array.from({ length: n }, (_, i) => i % 2),
        [n],
      ),
    );
    for (const c of ['a', 'b']) {
      for (let i = 0; i < 3; i++) {
        const p = new PNG({ width: 5, height: 4 });
        p.data.fill(c === 'a' ? 40 : 200);
        fs.writeFileSync(path.join(data, 'images', c, `${i}.png`), PNG.sync.write(p));
      }
    }
    const training = {
      architecture: [
        { type: 'conv2d', filters: 2, kernelSize: 3, activation: 'relu' },
        { type: 'maxPooling2d' },
        { type: 'flatten' },
        { type: 'dense', units: 2, activation: 'softmax' },
      ],
      optimizer: { type: 'adam', learningRate: 0.01 },
      epochs: 1,
      batchSize: 4,
      seed: 1,
    };
    const seeds = [
      {
        name: 'EFL',
        model: 'model/model.json',
        dataset: { format: 'efl', size: [12, 12], trainPerClass: 4, testPerClass: 3, noise: 0.2, negative: false, seed: 1, jitter: 1 },
        training,
      },
      {
        name: 'IDX',
        model: 'm/model.json',
        dataset: {
          format: 'idx',
          train: { images: 'lensdata/img.idx', labels: 'lensdata/lab.idx' },
          test: { images: 'lensdata/img.idx', labels: 'lensdata/lab.idx' },
          classes: ['zero', 'one'],
        },
      },
      {
        name: 'NPY',
        model: 'm/model.json',
        dataset: {
          format: 'npy',
          train: { images: 'lensdata/img.npy', labels: 'lensdata/lab.npy' },
          test: { images: 'lensdata/img.npy', labels: 'lensdata/lab.npy' },
        },
        training,
      },
      {
        name: 'Folder',
        model: 'm/model.json',
        dataset: { format: 'imageFolder', root: 'lensdata/images', size: [6, 6], channels: 3, testFraction: 0.34, seed: 2, fit: 'contain' },
      },
    ].map((j) => JSON.stringify(j));
    const count = 1500;
    let mem0 = memory();
    const o = await fuzz(
      'lens',
      count,
      (r, i) => {
        if (i === 50) mem0 = memory();
        const m =
          r() < 0.85
            ? mutateJson(seeds[i % seeds.length], r)
            : (() => {
                const b = mutateBytes(new TextEncoder().encode(seeds[i % seeds.length]), r);
                return { text: new TextDecoder().decode(b.bytes), what: b.what };
              })();
        // A fresh name per case: lens files are cached by path and mtime.
        const file = path.join(dir, `case${i}.lens.json`);
        fs.writeFileSync(file, m.text);
        return { file, what: m.what };
      },
      async (file) => {
        try {
          const info = await lensInfo(file);
          const lens = await readLens(file);
          for (const split of ['train', 'test'] as const) {
            const ds = await openDataset(lens, split);
            // One batch of each split is what the panel reads; the shape must be what lensInfo promised.
            for await (const b of ds.batches(4)) {
              assert.equal((b as { images: Float32Array }).images.length, (b as { count: number }).count * info.imageShape.reduce((a, c) => a * c, 1));
              break;
            }
          }
        } finally {
          fs.rmSync(file, { force: true });
        }
      },
      // The lens file, or a data file or folder it names (under the test folder, or anywhere a mutated path points).
      (input, named) => !!named && path.isAbsolute(named),
    );
    report('lens', count, o);
    const mem1 = memory();
    console.log(
      `# lens: heap ${(mem0.heap / 2 ** 20).toFixed(1)} -> ${(mem1.heap / 2 ** 20).toFixed(1)} MB, rss ${(mem0.rss / 2 ** 20).toFixed(0)} -> ${(mem1.rss / 2 ** 20).toFixed(0)} MB`,
    );
    assert.ok(mem1.heap - mem0.heap < 64 * 2 ** 20, `lens: heap grew by ${((mem1.heap - mem0.heap) / 2 ** 20).toFixed(1)} MB`);
    assert.ok(o.ok > 0 && o.ok < count);
  });
});
