/**
 * The Feature Lens side of `npm run bench`: one measure per process (so peak RSS is the measure's own),
 * run through the engine's real code (`src/engine/*`) on the engine's backend.
 *
 * Usage: node --import tsx bench/featureLens.ts '{"measure": "...", ...}'  → one JSON object on stdout.
 * A measure whose engine method is still a stub prints `{"notImplemented": "<the engine's message>"}`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../src/engine/runtime/backend';
import { UserError } from '../src/engine/runtime/errors';
import { makeJob } from '../src/engine/runtime/job';
import { loadModel, saveModel } from '../src/engine/models/modelIO';
import * as tf from '../src/engine/runtime/tf';
import { buildNet, NETS } from './nets';

/** Engine modules some measures need; imported when used, so a missing one only turns its measure n/a. */
const engine = {
  topActivations: () => import('../src/engine/scan/topActivations'),
  indexStore: () => import('../src/engine/scan/indexStore'),
  lens: () => import('../src/engine/lens/lens'),
  train: () => import('../src/engine/training/train'),
  deconv: () => import('../src/engine/methods/deconv'),
  maximize: () => import('../src/engine/methods/maximize'),
};

interface Args {
  measure: string;
  backend?: 'wasm' | 'cpu' | 'auto';
  net?: string;
  model?: string;
  data?: string;
  labels?: string;
  images?: number;
  batch?: number;
  runs?: number;
  warmup?: number;
  out?: string;
  [key: string]: unknown;
}

/** `[n, 28, 28, 1]` float32 from the bench's NPY file (first `n` images). */
function readImages(file: string, n?: number): { data: Float32Array; shape: [number, number, number, number] } {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const dims = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = Math.min(n ?? dims[0], dims[0]);
  const per = dims.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(new Uint8Array(buf.subarray(10 + hlen, 10 + hlen + count * per * 4)).buffer);
  return { data, shape: [count, dims[1], dims[2], dims[3]] };
}

function readLabels(file: string, n: number): Int32Array {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  return new Int32Array(new Uint8Array(buf.subarray(10 + hlen, 10 + hlen + n * 4)).buffer);
}

async function timed(fn: () => Promise<unknown> | unknown, runs: number, warmup: number): Promise<{ median: number; seconds: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    seconds.push((performance.now() - t0) / 1000);
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return { median: sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2, seconds };
}

/** True for the engine's "not implemented yet" stubs, which the bench reports as n/a instead of a number. */
function isStub(e: unknown): e is UserError {
  return e instanceof UserError && e.code === 'unsupported' && /not implemented/i.test(e.message);
}

const measures: Record<string, (a: Args) => Promise<Record<string, unknown>>> = {
  /** Builds the named net with fixed seeds and writes it with the engine's saveModel. */
  async build(a) {
    const model = buildNet(NETS[a.net!]);
    await saveModel(model, a.out!);
    const params = model.countParams();
    model.dispose();
    return { params };
  },

  /** Builds the model of a lens file's training recipe (the engine's `buildModel`) and writes it to `out`. */
  async buildRecipe(a) {
    const { readLens } = await engine.lens();
    const { buildModel } = await import('../src/engine/training/recipeModel');
    const lens = await readLens(a.lens as string);
    if (!lens.training) throw new Error(`${a.lens} has no training recipe`);
    const model = buildModel(lens.training, [28, 28, 1], 10, 'mnist', lens.path);
    await saveModel(model, a.out!);
    const params = model.countParams();
    model.dispose();
    return { params };
  },

  /** Every layer's output for the first `images` images, written as one f32 blob + a JSON manifest. */
  async check(a) {
    const model = (await loadModel(a.model!)).layersModel!;
    const { data, shape } = readImages(a.data!, a.images);
    const probe = tf.model({ inputs: model.inputs, outputs: model.layers.map((l) => l.output as tf.SymbolicTensor) });
    const outs = tf.tidy(() => probe.predict(tf.tensor4d(data, shape)) as tf.Tensor[]);
    const layers = model.layers.map((l, i) => ({ name: l.name, className: l.getClassName(), shape: outs[i].shape }));
    const parts = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
    const total = parts.reduce((s, p) => s + p.length, 0);
    const blob = new Float32Array(total);
    let off = 0;
    for (const p of parts) {
      blob.set(p, off);
      off += p.length;
    }
    fs.writeFileSync(`${a.out}.bin`, new Uint8Array(blob.buffer));
    fs.writeFileSync(`${a.out}.json`, JSON.stringify({ images: shape[0], layers }));
    return { layers: layers.length };
  },

  /** Forward pass (`model.predict`) in batches over `images` images. */
  async forward(a) {
    const model = (await loadModel(a.model!)).layersModel!;
    const { data, shape } = readImages(a.data!, a.images);
    const batch = a.batch!;
    const per = shape[1] * shape[2] * shape[3];
    const t = await timed(
      () => {
        for (let s = 0; s < shape[0]; s += batch) {
          const n = Math.min(batch, shape[0] - s);
          tf.tidy(() => (model.predict(tf.tensor4d(data.subarray(s * per, (s + n) * per), [n, shape[1], shape[2], shape[3]])) as tf.Tensor).dataSync());
        }
      },
      a.runs ?? 5,
      a.warmup ?? 1,
    );
    return { ips: shape[0] / t.median, seconds: t.seconds };
  },

  /**
   * One epoch of `model.fit` over `images` images (batch size, optimizer and loss as the PyTorch side):
   * the backend's kernels (forward + every gradient) as a training step uses them.
   */
  async fit(a) {
    const model = (await loadModel(a.model!)).layersModel!;
    const { data, shape } = readImages(a.data!, a.images);
    const labels = readLabels(a.labels!, shape[0]);
    const lr = (a.learningRate as number) ?? 0.01;
    const optimizer = a.optimizer === 'adam' ? tf.train.adam(lr, 0.9, 0.999, 1e-7) : tf.train.sgd(lr);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const xs = tf.tensor4d(data, shape);
    const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32'));
    const t = await timed(() => model.fit(xs, ys, { batchSize: a.batch, epochs: 1, shuffle: false, verbose: 0 }), a.runs ?? 3, a.warmup ?? 1);
    tf.dispose([xs, ys]);
    return { ips: shape[0] / t.median, seconds: t.seconds };
  },

  /**
   * One plain SGD step (`model.fit`, categorical cross-entropy, dropout off) on the first `batch` images, then every
   * weight written in model order: the reference takes the same step and compares, which checks the
   * backend's gradients (including the kernels the project registers for wasm) against PyTorch's.
   */
  async step(a) {
    const model = (await loadModel(a.model!)).layersModel!;
    const { data, shape } = readImages(a.data!, a.batch);
    const labels = readLabels(a.labels!, shape[0]);
    // Dropout draws different masks on each side: off for this check (the reference runs in eval mode).
    for (const l of model.layers) if (l.getClassName() === 'Dropout') (l as unknown as { rate: number }).rate = 0;
    model.compile({ optimizer: tf.train.sgd((a.learningRate as number) ?? 0.1), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor4d(data, shape);
    const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32'));
    await model.fit(xs, ys, { batchSize: shape[0], epochs: 1, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);
    const parts = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const blob = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      blob.set(p, off);
      off += p.length;
    }
    fs.writeFileSync(a.out as string, new Uint8Array(blob.buffer));
    return { weights: blob.length };
  },

  /**
   * The top-activation scan of every node of every layer (`scanLens`: one streaming pass, the three scores,
   * bounded heaps, the index written) over the lens file's test split; a fresh storage folder per run so
   * no run reuses a previous index. Then writes every node's top-k (indices and scores) for the reference
   * to compare.
   */
  async scan(a) {
    const { scanLens, topFromIndex } = await engine.topActivations();
    const { findIndex } = await engine.indexStore();
    const { readLens, openDataset } = await engine.lens();
    const job = makeJob();
    let run = 0;
    const dirs: string[] = [];
    const t = await timed(
      async () => {
        const dir = path.join(a.storage as string, `run${run++}`);
        fs.rmSync(dir, { recursive: true, force: true });
        dirs.push(dir);
        await scanLens(a.lens as string, dir, 'frobenius', (a.k as number) ?? 9, job);
      },
      a.runs ?? 3,
      a.warmup ?? 1,
    );
    const lens = await readLens(a.lens as string);
    const { network: model, info } = await loadModel(lens.model);
    const ds = await openDataset(lens, 'test');
    const stored = await findIndex(dirs[dirs.length - 1], info.weightsHash, ds);
    if (!stored) throw new Error('the scan left no complete index');
    const top: Record<string, { layer: number; className: string; nodes: number; indices: number[][]; scores: number[][] }[]> = {};
    for (const metric of ['frobenius', 'max', 'mean'] as const) {
      top[metric] = stored.header.layers.map((l) => {
        const lists = Array.from({ length: l.nodes }, (_, node) => topFromIndex(stored, l.index, node, metric, ds.labels).top);
        return {
          layer: l.index,
          name: l.name,
          className: model.ops[model.layers[l.index].op].source,
          nodes: l.nodes,
          indices: lists.map((t) => t.map((e) => e.index)),
          scores: lists.map((t) => t.map((e) => e.score)),
        };
      });
    }
    fs.writeFileSync(a.out as string, JSON.stringify(top));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    const { scanBatchSize, scanLayers } = await import('../src/engine/scan/scan');
    return { ips: ds.size / t.median, seconds: t.seconds, images: ds.size, batch: scanBatchSize(scanLayers(model)) };
  },

  /** The engine's training (`trainLens`: the lens file's recipe, shuffled batches, trainOnBatch) for 1 epoch; images/s as the engine reports it. */
  async train(a) {
    const { trainLens } = await engine.train();
    const ips: number[] = [];
    let accuracy = 0;
    for (let i = 0; i < (a.warmup ?? 1) + (a.runs ?? 3); i++) {
      const r = await trainLens(a.lens as string, makeJob());
      if (i >= (a.warmup ?? 1)) ips.push(r.imagesPerSecond);
      accuracy = r.testAccuracy;
    }
    ips.sort((x, y) => x - y);
    return { ips: ips[ips.length >> 1], runs: ips, testAccuracy: accuracy };
  },

  /** Deconvolution (Zeiler & Fergus, with switches) of one node over `images` images in one batch; writes the projections. */
  async deconv(a) {
    const { deconvolve } = await engine.deconv();
    const { network: model } = await loadModel(a.model!);
    const { data, shape } = readImages(a.data!, a.images ?? 9);
    const x = tf.tensor4d(data, shape);
    const once = () => {
      const out = deconvolve(model, a.layer as number, a.node as number, x, { switches: true, maxOnly: false });
      const v = out.dataSync() as Float32Array;
      out.dispose();
      return v;
    };
    const t = await timed(once, a.runs ?? 5, a.warmup ?? 1);
    fs.writeFileSync(a.out as string, new Uint8Array(once().buffer));
    x.dispose();
    return { ms: t.median * 1000, seconds: t.seconds };
  },

  /** Activation maximization of one node for `steps` steps (the engine's defaults otherwise). */
  async maximize(a) {
    const { maximize } = await engine.maximize();
    const { network: model } = await loadModel(a.model!);
    const steps = a.steps as number;
    const t = await timed(() => maximize(model, a.layer as number, a.node as number, { steps, seed: 1 }, makeJob()), a.runs ?? 3, a.warmup ?? 1);
    return { stepsPerSecond: steps / t.median, seconds: t.seconds };
  },
};

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as Args;
  const used = await initBackend(a.backend ?? 'wasm');
  const fn = measures[a.measure];
  if (!fn) throw new Error(`unknown measure ${a.measure}`);
  let result: Record<string, unknown>;
  try {
    result = await fn(a);
  } catch (e) {
    if (!isStub(e)) throw e;
    result = { notImplemented: e.message };
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ measure: a.measure, backend: used.backend, ...result, peakRss }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
