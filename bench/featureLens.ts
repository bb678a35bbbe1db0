/**
 * The Feature Lens side of `npm run bench`: one measure per process (so peak RSS is the measure's own),
 * run through the engine's real code (`src/engine/*`) on the engine's backend.
 *
 * Usage: node --import tsx bench/featureLens.ts '{"measure": "...", ...}'  → one JSON object on stdout.
 * A measure whose engine method is still a stub prints `{"notImplemented": "<the engine's message>"}`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../src/engine/backend';
import { UserError } from '../src/engine/errors';
import { makeJob } from '../src/engine/job';
import { loadModel, saveModel } from '../src/engine/modelIO';
import * as tf from '../src/engine/tf';
import { buildNet, NETS } from './nets';

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
  const dims = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
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

  /** Every layer's output for the first `images` images, written as one f32 blob + a JSON manifest. */
  async check(a) {
    const { model } = await loadModel(a.model!);
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
    const { model } = await loadModel(a.model!);
    const { data, shape } = readImages(a.data!, a.images);
    const batch = a.batch!;
    const per = shape[1] * shape[2] * shape[3];
    const t = await timed(() => {
      for (let s = 0; s < shape[0]; s += batch) {
        const n = Math.min(batch, shape[0] - s);
        tf.tidy(() => (model.predict(tf.tensor4d(data.subarray(s * per, (s + n) * per), [n, shape[1], shape[2], shape[3]])) as tf.Tensor).dataSync());
      }
    }, a.runs ?? 5, a.warmup ?? 1);
    return { ips: shape[0] / t.median, seconds: t.seconds };
  },

  /**
   * One epoch of `model.fit` over `images` images (batch size, optimizer and loss as the PyTorch side):
   * the backend's kernels (forward + every gradient) as a training step uses them.
   */
  async fit(a) {
    const { model } = await loadModel(a.model!);
    const { data, shape } = readImages(a.data!, a.images);
    const labels = readLabels(a.labels!, shape[0]);
    const lr = (a.learningRate as number) ?? 0.01;
    const optimizer = a.optimizer === 'adam' ? tf.train.adam(lr, 0.9, 0.999, 1e-7) : tf.train.sgd(lr);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const xs = tf.tensor4d(data, shape);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat());
    const t = await timed(() => model.fit(xs, ys, { batchSize: a.batch, epochs: 1, shuffle: false, verbose: 0 }), a.runs ?? 3, a.warmup ?? 1);
    tf.dispose([xs, ys]);
    return { ips: shape[0] / t.median, seconds: t.seconds };
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

export { path };
