/**
 * One batch's node scores on tfjs (scan.ts's header gives the three scores): the scanned layers' outputs from
 * one fused forward pass, reduced by the project's SIMD kernel on wasm, else by tf ops.
 */
import { nodeScores, nodeScoresKernel } from '../kernels/nodeScores';
import { forward } from '../models/forward';
import type { Network } from '../models/network';
import * as tf from '../runtime/tf';
import type { ScanLayer } from './scan';

/** The scanned layers' outputs for a batch, from one fused forward pass of the network. */
export interface MultiOutput {
  net: Network;
  /** `[batch, ...shape]` per layer, in order; the caller disposes them. */
  run(images: tf.Tensor): tf.Tensor[];
}

/** The multi-output forward pass of the given layers' outputs (fused kernels: forward only). */
export function multiOutputModel(net: Network, layers: ScanLayer[]): MultiOutput {
  const ops = layers.map((l) => net.layers[l.index].op);
  const until = Math.max(...ops);
  return {
    net,
    run: (images) =>
      tf.tidy(() => {
        const all = forward(net, images, { until, fused: true });
        return ops.map((o) => all[o]);
      }),
  };
}

/** Scores of one batch: each `[batch, nodes]` row-major over the flat node axis. */
export interface BatchScores {
  frobenius: Float32Array;
  max: Float32Array;
  mean: Float32Array;
  /** Flat spatial index (y * width + x) of each node's maximum. */
  argmax: Int32Array;
}

/**
 * The three scores of every node of every scanned layer for a batch `[b, h, w, c]`. Only the scores and
 * argmax locations leave the backend. Spatial reductions run as whole-map pools (no transpose). The
 * location of the max costs more than the max itself (wasm's `maxPoolWithArgmax` is a plain loop, and
 * `argMax` over a non-last axis transposes the activation), so when `maxThreshold(node)` gives each node's
 * current max-heap threshold, locations are computed only for the batch rows that can still enter some
 * node's max heap (a max ≥ the threshold); other rows' locations are left 0 and never used.
 */
export async function batchScores(multi: MultiOutput, layers: ScanLayer[], images: tf.Tensor, maxThreshold?: (node: number) => number): Promise<BatchScores> {
  if (nodeScoresKernel().ok) {
    const scores = kernelScores(multi, layers, images);
    if (scores) return scores;
  }
  const b = images.shape[0];
  const N = layers.reduce((a, l) => a + l.nodes, 0);
  const maps: (tf.Tensor4D | null)[] = [];
  const stacked = tf.tidy(() => {
    const per = executeAll(multi, images).map((o, li) => {
      const [H, W] = layers[li].spatial;
      const n = layers[li].nodes;
      if (H * W === 1) {
        maps.push(null);
        const flat = tf.reshape(o, [b, n]);
        return { frob: tf.abs(flat), max: flat, mean: flat };
      }
      const a = tf.reshape(o, [b, H, W, n]) as tf.Tensor4D;
      maps.push(tf.keep(a));
      const pool = (t: tf.Tensor4D, f: typeof tf.avgPool) => tf.reshape(f(t, [H, W], [H, W], 'valid'), [b, n]);
      return { frob: tf.sqrt(tf.mul(pool(tf.square(a), tf.avgPool), H * W)), max: pool(a, tf.maxPool), mean: pool(a, tf.avgPool) };
    });
    const cat = (ts: tf.Tensor[]) => (ts.length === 1 ? ts[0] : tf.concat(ts, 1));
    return tf.stack([cat(per.map((p) => p.frob)), cat(per.map((p) => p.max)), cat(per.map((p) => p.mean))]);
  });
  try {
    const all = (await stacked.data()) as Float32Array;
    const m = b * N;
    const max = all.subarray(m, 2 * m);
    const argmax = new Int32Array(m);
    const threshold = new Float64Array(N).fill(-Infinity);
    if (maxThreshold) for (let i = 0; i < N; i++) threshold[i] = maxThreshold(i);
    for (let li = 0; li < layers.length; li++) {
      const map = maps[li];
      if (!map) continue;
      const { offset, nodes, spatial } = layers[li];
      const rows: number[] = [];
      for (let r = 0; r < b; r++) {
        const row = r * N + offset;
        for (let i = 0; i < nodes; i++) {
          if (max[row + i] >= threshold[offset + i]) {
            rows.push(r);
            break;
          }
        }
      }
      if (!rows.length) continue;
      const at = tf.tidy(() => {
        const x = rows.length === b ? map : (tf.gather(map, rows) as tf.Tensor4D);
        // Flat index (y · W + x) · nodes + node within the image.
        return tf.maxPoolWithArgmax(x, spatial, spatial, 'valid', false).indexes;
      });
      const data = (await at.data()) as Int32Array;
      at.dispose();
      rows.forEach((r, q) => {
        for (let i = 0; i < nodes; i++) argmax[r * N + offset + i] = Math.floor(data[q * nodes + i] / nodes);
      });
    }
    return { frobenius: all.subarray(0, m), max, mean: all.subarray(2 * m, 3 * m), argmax };
  } finally {
    stacked.dispose();
    tf.dispose(maps.filter((t): t is tf.Tensor4D => t !== null));
  }
}

/** Every output of the multi-output forward pass for `images`. */
function executeAll(multi: MultiOutput, images: tf.Tensor): tf.Tensor[] {
  return multi.run(images);
}

/**
 * `batchScores` on the wasm backend: each layer's output is reduced where it lies by the project's SIMD
 * kernel (kernels/nodeScores.ts), one pass per map giving all three scores and the max's location for
 * every row; only `[batch, nodes]` arrays leave the backend. Null when the kernel cannot read an output.
 */
function kernelScores(multi: MultiOutput, layers: ScanLayer[], images: tf.Tensor): BatchScores | null {
  const b = images.shape[0];
  const N = layers.reduce((a, l) => a + l.nodes, 0);
  const outs = tf.tidy(() => executeAll(multi, images));
  try {
    // null (an output the kernel cannot read, e.g. not float32): the caller computes with tf ops instead.
    return nodeScores(
      outs.map((tensor, li) => ({ tensor, positions: layers[li].spatial[0] * layers[li].spatial[1], column: layers[li].offset })),
      b,
      N,
    );
  } finally {
    tf.dispose(outs);
  }
}

/** Adds one batch's scores to the state. `indices`/`labels` are the batch's dataset indices and labels. */
