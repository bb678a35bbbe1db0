/**
 * The scan's node scores (scan.ts: Frobenius norm, maximum with its position, mean of each node's map) from
 * native outputs. The network is exported with NCHW outputs, so each node's map is one contiguous run of
 * `positions` values and one pass over it gives all three scores; the score arrays are reused between
 * batches (the scan consumes a batch's scores before it asks for the next).
 */
import type { NodeScores } from '../kernels/nodeScores';
import type { Network } from '../models/network';
import { nativeForward } from './forwardLayers';

/** One scanned layer: which op, and where its nodes sit on the flat node axis. */
export interface NativeScanLayer {
  /** Index into `net.ops`. */
  op: number;
  /** First flat node. */
  offset: number;
  nodes: number;
  /** Positions per node map (height × width; 1 for `[units]` layers). */
  positions: number;
}

/** Reusable score arrays (grown when a batch needs more). */
export class ScoreBuffers {
  private buf = new ArrayBuffer(0);
  /** Views of `[b, N]` for each score, zeroed. */
  take(m: number): NodeScores {
    if (this.buf.byteLength < 16 * m) this.buf = new ArrayBuffer(16 * m);
    const s = {
      frobenius: new Float32Array(this.buf, 0, m),
      max: new Float32Array(this.buf, 4 * m, m),
      mean: new Float32Array(this.buf, 8 * m, m),
      argmax: new Int32Array(this.buf, 12 * m, m),
    };
    return s;
  }
}

/**
 * Scores of `b` images from one NCHW (or `[b, units]`) output per layer into `into` (`[b, N]` each).
 * Columns no layer covers are left as they are.
 */
export function scoreNchw(outputs: Float32Array[], layers: NativeScanLayer[], b: number, N: number, into: NodeScores): NodeScores {
  const { frobenius, max, mean, argmax } = into;
  for (let li = 0; li < layers.length; li++) {
    const { offset, nodes, positions: P } = layers[li];
    const x = outputs[li];
    if (x.length !== b * nodes * P) throw new Error(`layer output of ${x.length} values, expected ${b} × ${nodes} × ${P}`);
    const inv = 1 / P;
    for (let r = 0; r < b; r++) {
      const row = r * N + offset;
      let at = r * nodes * P;
      for (let i = 0; i < nodes; i++, at += P) {
        let sq = 0;
        let sum = 0;
        let best = x[at];
        let where = 0;
        for (let s = 0; s < P; s++) {
          const v = x[at + s];
          sq += v * v;
          sum += v;
          if (v > best) {
            best = v;
            where = s;
          }
        }
        frobenius[row + i] = Math.sqrt(sq);
        max[row + i] = best;
        mean[row + i] = sum * inv;
        argmax[row + i] = where;
      }
    }
  }
  return into;
}

/**
 * The scan's scores for a batch computed natively, or null when the native path does not run this network
 * (the caller then scores on tfjs). `images` is `[count, ...net.input.shape]` NHWC float32. The scores are
 * computed inside the runtime's graph (exportOnnx `scores`): only `[count, 4, nodes]` per layer leaves it.
 */
export async function nativeBatchScores(
  net: Network,
  layers: NativeScanLayer[],
  images: Float32Array,
  count: number,
  buffers: ScoreBuffers,
): Promise<NodeScores | null> {
  const outputs = await nativeForward(
    net,
    images,
    count,
    layers.map((l) => l.op),
    'scores',
  );
  if (!outputs) return null;
  const N = layers.reduce((a, l) => Math.max(a, l.offset + l.nodes), 0);
  return copyScores(outputs, layers, count, N, buffers.take(count * N));
}

/** Per-layer `[b, 4, nodes]` scores (Frobenius, max, mean, argmax) into `into`'s `[b, N]` rows. */
export function copyScores(outputs: Float32Array[], layers: NativeScanLayer[], b: number, N: number, into: NodeScores): NodeScores {
  const { frobenius, max, mean, argmax } = into;
  layers.forEach(({ offset, nodes }, li) => {
    const x = outputs[li];
    if (x.length !== b * 4 * nodes) throw new Error(`layer scores of ${x.length} values, expected ${b} × 4 × ${nodes}`);
    for (let r = 0; r < b; r++) {
      const at = r * 4 * nodes;
      const row = r * N + offset;
      frobenius.set(x.subarray(at, at + nodes), row);
      max.set(x.subarray(at + nodes, at + 2 * nodes), row);
      mean.set(x.subarray(at + 2 * nodes, at + 3 * nodes), row);
      for (let i = 0; i < nodes; i++) argmax[row + i] = x[at + 3 * nodes + i];
    }
  });
  return into;
}

/**
 * Images per native scan batch: enough that the runtime's per-run overhead is small, few enough that one
 * batch's outputs of every scanned layer stay near `budget` floats.
 */
export function nativeScanBatchSize(layers: NativeScanLayer[], budget = 48 * 2 ** 20): number {
  const perImage = layers.reduce((a, l) => a + l.nodes * l.positions, 0);
  return Math.max(1, Math.min(64, Math.floor(budget / Math.max(1, perImage))));
}
