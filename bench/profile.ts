/**
 * Where an engine method's time goes on the backend: every registered kernel is wrapped with a timer (self
 * time: a kernel that runs other kernels inside it is charged only for its own work), then `steps`
 * repetitions of the task run on a bench net:
 * - `train` (default): `trainOnBatch` with Adam 1e-3 and cross-entropy, as the engine's trainer does;
 * - `deconv`: `deconvolve` of node `node` of layer `layer` over the batch;
 * - `scan`: the scan's per-batch work (`batchScores`: every layer's output, the three scores, argmax);
 * - `maximize`: one `maximize` run of `steps` steps (engine defaults) for node `node` of layer `layer`,
 *   reported per step (its setup included, spread over the steps).
 *
 * Usage: node --import tsx bench/profile.ts '{"model": ".../model.json", "data": ".../x.npy", "labels": ".../y.npy", "batch": 64, "steps": 10}'
 * Prints one JSON object: `{kernels: [{name, calls, ms, share}], stepMs}` sorted by time.
 */
import * as fs from 'node:fs';
import { initBackend } from '../src/engine/runtime/backend';
import { loadModel } from '../src/engine/models/modelIO';
import * as tf from '../src/engine/runtime/tf';

interface Args {
  model: string;
  data: string;
  labels: string;
  batch: number;
  steps: number;
  backend?: 'wasm' | 'cpu';
  task?: 'train' | 'deconv' | 'maximize' | 'scan';
  layer?: number;
  node?: number;
}

function npyBody(file: string): Buffer {
  const buf = fs.readFileSync(file);
  return buf.subarray(10 + buf.readUInt16LE(8));
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as Args;
  const { backend } = await initBackend(a.backend ?? 'wasm');
  const { network, layersModel } = await loadModel(a.model);
  const model = layersModel!;
  const x = new Float32Array(new Uint8Array(npyBody(a.data).subarray(0, a.batch * 784 * 4)).buffer);
  const y = new Int32Array(new Uint8Array(npyBody(a.labels).subarray(0, a.batch * 4)).buffer);
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const xs = tf.tensor4d(x, [a.batch, 28, 28, 1]);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), 10), 'float32'));
  const { deconvolve } = await import('../src/engine/methods/deconv');
  const { maximize } = await import('../src/engine/methods/maximize');
  const { makeJob } = await import('../src/engine/runtime/job');
  const scan = await import('../src/engine/scan/scan');
  const layers = scan.scanLayers(network);
  const multi = scan.multiOutputModel(network, layers);
  const task = {
    scan: () => scan.batchScores(multi, layers, xs),
    train: () => model.trainOnBatch(xs, ys),
    deconv: () => tf.dispose(deconvolve(network, a.layer ?? 2, a.node ?? 1, xs, { switches: true, maxOnly: false })),
    maximize: () => maximize(network, a.layer ?? 2, a.node ?? 1, { steps: a.steps }, makeJob()),
  }[a.task ?? 'train'];
  await task(); // warm-up: builds the optimizer's variables and the gradient graph

  const stats = new Map<string, { calls: number; ms: number }>();
  const stack: number[] = [];
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        stack.push(0);
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const total = performance.now() - t0;
          const children = stack.pop()!;
          if (stack.length) stack[stack.length - 1] += total;
          const s = stats.get(k.kernelName) ?? { calls: 0, ms: 0 };
          s.calls++;
          s.ms += total - children;
          stats.set(k.kernelName, s);
        }
      },
    });
  }
  const t0 = performance.now();
  const calls = a.task === 'maximize' ? 1 : a.steps;
  for (let i = 0; i < calls; i++) await task();
  const stepMs = (performance.now() - t0) / a.steps;
  const total = [...stats.values()].reduce((s, v) => s + v.ms, 0);
  const kernels = [...stats.entries()]
    .map(([name, v]) => ({ name, calls: v.calls / a.steps, ms: v.ms / a.steps, share: v.ms / total }))
    .sort((p, q) => q.ms - p.ms);
  tf.dispose([xs, ys]);
  process.stdout.write(JSON.stringify({ backend, task: a.task ?? 'train', batch: a.batch, stepMs, kernelMs: total / a.steps, kernels }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
