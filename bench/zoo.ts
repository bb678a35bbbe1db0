/**
 * The Feature Lens side of the zoo rows (bench/zoo.mjs): ResNet-18 and MobileNetV2 as zoo.py wrote them in the
 * network representation, run on the native forward path (src/engine/native) with the scan's real
 * accumulation (scan.ts `accumulate`: heaps, dead counts, class sums).
 *
 *   node --import tsx bench/zoo.ts check|forward|scan '{"net": "resnet18", "dir": ..., "images": N, "batch": B, ...}'
 * prints one JSON object on stdout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../src/engine/runtime/backend';
import type { Network, Op } from '../src/engine/models/network';
import { nativeForward } from '../src/engine/native/forwardLayers';
import { nativeBatchScores, nativeScanBatchSize, scoreNchw, ScoreBuffers, type NativeScanLayer } from '../src/engine/native/nativeScores';
import { nativeRuntime, nativeThreads } from '../src/engine/native/runtime';
import { accumulate, emptyScanState, METRIC_ORDER, type ScanLayer } from '../src/engine/scan/scan';
import * as tf from '../src/engine/runtime/tf';

interface Args {
  net: string;
  dir: string;
  images?: number;
  batch?: number;
  runs?: number;
  warmup?: number;
  out?: string;
}

interface TensorRef {
  offset: number;
  shape: number[];
}

/** The network zoo.py wrote: ops in the representation's terms, weights as offsets into the blob. */
function loadNetwork(dir: string, name: string): Network {
  const spec = JSON.parse(fs.readFileSync(path.join(dir, `${name}.net.json`), 'utf8'));
  const blob = fs.readFileSync(path.join(dir, `${name}.net.bin`));
  const tensor = (r: TensorRef) => {
    const n = r.shape.reduce((a, b) => a * b, 1);
    return tf.tensor(new Float32Array(blob.buffer.slice(blob.byteOffset + r.offset, blob.byteOffset + r.offset + 4 * n)), r.shape);
  };
  const ops: Op[] = spec.ops.map(
    (o: Omit<Op, 'weights'> & { weights: Record<string, TensorRef> }) =>
      ({ ...o, weights: Object.fromEntries(Object.entries(o.weights).map(([k, r]) => [k, tensor(r)])) }) as Op,
  );
  const moves = new Set(['flatten', 'reshape', 'transpose', 'identity']);
  const layers = ops
    .map((op, i) => ({ op, i }))
    .filter(({ op }) => !moves.has(op.kind) && (op.shape.length === 1 || op.shape.length === 3))
    .map(({ op, i }) => ({ op: i, name: op.name, kind: 'other' as never, shape: op.shape, nodes: op.shape[op.shape.length - 1] }));
  return {
    name,
    format: 'onnx',
    path: path.join(dir, `${name}.net.json`),
    input: spec.input,
    ops,
    constants: new Map(),
    output: spec.output,
    layers,
    dispose: () => ops.forEach((op) => tf.dispose(Object.values(op.weights) as tf.Tensor[])),
  };
}

function readNpy(file: string, count?: number): { data: Float32Array | Int32Array; shape: number[] } {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const n = Math.min(count ?? shape[0], shape[0]);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(buf.subarray(10 + hlen, 10 + hlen + n * per * 4)).buffer;
  return { data: header.includes('<i4') ? new Int32Array(bytes) : new Float32Array(bytes), shape: [n, ...shape.slice(1)] };
}

async function timed(fn: () => Promise<unknown>, runs: number, warmup: number): Promise<{ median: number; seconds: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    seconds.push((performance.now() - t0) / 1000);
  }
  const s = [...seconds].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], seconds };
}

function scanLayersOf(net: Network): { native: NativeScanLayer[]; scan: ScanLayer[] } {
  let offset = 0;
  const native: NativeScanLayer[] = [];
  const scan: ScanLayer[] = [];
  net.layers.forEach((l, i) => {
    const spatial: [number, number] = l.shape.length === 3 ? [l.shape[0], l.shape[1]] : [1, 1];
    native.push({ op: l.op, offset, nodes: l.nodes, positions: spatial[0] * spatial[1] });
    scan.push({ index: i, name: l.name, offset, nodes: l.nodes, spatial });
    offset += l.nodes;
  });
  return { native, scan };
}

async function main(): Promise<void> {
  const [cmd, raw] = process.argv.slice(2);
  const args = JSON.parse(raw) as Args;
  await initBackend('wasm');
  const rt = nativeRuntime();
  if (!rt.ok) throw new Error(`the native runtime is unavailable: ${rt.why}`);
  const net = loadNetwork(args.dir, args.net);
  const per = net.input.shape.reduce((a, b) => a * b, 1);
  const result: Record<string, unknown> = { net: args.net, threads: nativeThreads(), runtime: `onnxruntime-node ${rt.version}` };
  if (cmd === 'check') {
    // Every op's output on the 4 reference images against PyTorch's (zoo.py, NHWC), within 1e-4 of its range.
    const ref = JSON.parse(fs.readFileSync(path.join(args.dir, `${args.net}.ref.json`), 'utf8')) as {
      images: number;
      outputs: { name: string; offset: number; size: number }[];
    };
    const refBlob = fs.readFileSync(path.join(args.dir, `${args.net}.ref.bin`));
    const x = readNpy(path.join(args.dir, 'x224.npy'), ref.images).data as Float32Array;
    const ops = ref.outputs.map((o) => net.ops.findIndex((op) => op.name === o.name));
    const got = await nativeForward(net, x, ref.images, ops, 'nhwc');
    if (!got) throw new Error(`${args.net} did not run natively`);
    let worst = 0;
    let worstOp = '';
    ref.outputs.forEach((o, i) => {
      const want = new Float32Array(refBlob.buffer.slice(refBlob.byteOffset + o.offset, refBlob.byteOffset + o.offset + 4 * o.size));
      if (got[i].length !== want.length) throw new Error(`${o.name}: ${got[i].length} values, PyTorch ${want.length}`);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of want) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      const range = Math.max(hi - lo, Math.abs(lo), Math.abs(hi), 1e-6);
      let e = 0;
      for (let j = 0; j < want.length; j++) e = Math.max(e, Math.abs(got[i][j] - want[j]));
      if (e / range > worst) [worst, worstOp] = [e / range, o.name];
    });
    Object.assign(result, { ops: ops.length, maxRelError: worst, worstOp, ok: worst <= 1e-4 });
  } else if (cmd === 'profile') {
    // Where a scan batch's time goes: the forward pass alone, with every layer's output, and the scoring.
    const batch = args.batch ?? 8;
    const x = readNpy(path.join(args.dir, 'x224.npy'), batch).data as Float32Array;
    const layers = scanLayersOf(net);
    const ops = layers.native.map((l) => l.op);
    const out = net.ops.findIndex((op) => op.name === net.output);
    const buffers = new ScoreBuffers();
    const N = layers.scan.reduce((a, l) => a + l.nodes, 0);
    let outs: Float32Array[] = [];
    const tOut = await timed(() => nativeForward(net, x, batch, [out]), 3, 1);
    const tAll = await timed(async () => (outs = (await nativeForward(net, x, batch, ops, 'nchw'))!), 3, 1);
    const tScore = await timed(async () => scoreNchw(outs, layers.native, batch, N, buffers.take(batch * N)), 3, 1);
    const tGraph = await timed(() => nativeForward(net, x, batch, ops, 'scores'), 3, 1);
    const floats = outs.reduce((a, o) => a + o.length, 0);
    Object.assign(result, {
      batch,
      outputOnly: tOut.median / batch,
      allLayers: tAll.median / batch,
      scoring: tScore.median / batch,
      scoresInGraph: tGraph.median / batch,
      floatsPerImage: floats / batch,
    });
  } else {
    const n = args.images ?? 64;
    const x = readNpy(path.join(args.dir, 'x224.npy'), n).data as Float32Array;
    const y = readNpy(path.join(args.dir, 'y224.npy'), n).data as Int32Array;
    const runs = args.runs ?? 3;
    const warmup = args.warmup ?? 1;
    if (cmd === 'forward') {
      const batch = args.batch ?? 32;
      const out = net.ops.findIndex((op) => op.name === net.output);
      const t = await timed(
        async () => {
          for (let s = 0; s < n; s += batch) {
            const c = Math.min(batch, n - s);
            await nativeForward(net, x.subarray(s * per, (s + c) * per), c, [out]);
          }
        },
        runs,
        warmup,
      );
      Object.assign(result, { ips: n / t.median, seconds: t.seconds, images: n, batch });
    } else {
      const layers = scanLayersOf(net);
      const batch = args.batch ?? nativeScanBatchSize(layers.native);
      const buffers = new ScoreBuffers();
      let state = emptyScanState(layers.scan, 9, 10);
      const scanAll = async () => {
        state = emptyScanState(layers.scan, 9, 10);
        for (let s = 0; s < n; s += batch) {
          const c = Math.min(batch, n - s);
          const scores = await nativeBatchScores(net, layers.native, x.subarray(s * per, (s + c) * per), c, buffers);
          if (!scores) throw new Error(`${args.net} did not run natively`);
          accumulate(
            state,
            scores,
            Int32Array.from({ length: c }, (_, i) => s + i),
            y.subarray(s, s + c),
          );
        }
      };
      const t = await timed(scanAll, runs, warmup);
      Object.assign(result, { ips: n / t.median, seconds: t.seconds, images: n, batch, layers: layers.scan.length, nodes: state.nodes });
      if (args.out) {
        // The top-k lists in zoo.py's compare format: per metric, per layer, [nodes][k] scores and images.
        const dump: Record<string, unknown[]> = {};
        for (const m of METRIC_ORDER) {
          dump[m] = layers.scan.map((l, li) => {
            const lists = Array.from({ length: l.nodes }, (_, i) => state.heaps[m].sorted(l.offset + i));
            return { layer: li, nodes: l.nodes, scores: lists.map((e) => e.map((q) => q.score)), indices: lists.map((e) => e.map((q) => q.index)) };
          });
        }
        fs.writeFileSync(args.out, JSON.stringify(dump));
      }
    }
  }
  result.peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
