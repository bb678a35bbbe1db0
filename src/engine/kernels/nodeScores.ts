/**
 * The scan's per-node scores (Frobenius norm, maximum, mean, and the maximum's position over each map) in
 * one SIMD pass over the activations, where the wasm backend keeps them: `nodeScores.wat`, assembled by the
 * build into `dist/node-scores*.wasm`, imports the backend's own memory. Built of tfjs ops the same scores
 * take five passes (square, two average pools, a max pool, a max pool with argmax) and several copies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '../runtime/tf';

/** A batch's scores of every node: each `[b, N]`, row-major. `argmax` is the flat position y · w + x. */
export interface NodeScores {
  frobenius: Float32Array;
  max: Float32Array;
  mean: Float32Array;
  argmax: Int32Array;
}

/** One layer's output for `nodeScores`: `[b, ...]` whose last axis is the layer's `n` nodes. */
export interface LayerOutput {
  tensor: tf.Tensor;
  /** Positions per node (height × width; 1 for a flat layer). */
  positions: number;
  /** The layer's first column among the N. */
  column: number;
}

interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

interface WasmBackendInternals {
  wasm: EmscriptenModule;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
}

type ScoresFn = (x: number, b: number, hw: number, n: number, out: number, N: number, col: number) => void;

/** The kernel for the backend module `cachedFor` (null: not available there), with its output buffer. */
let cached: { module: EmscriptenModule; scores: ScoresFn; out?: { ptr: number; bytes: number } } | null = null;
let cachedFor: EmscriptenModule | undefined;
/** Why the kernel is not available, once it was looked for. */
let unavailable: string | undefined;

/** The `.wasm` files: beside the engine bundle, or in `dist/` when running from sources. */
function kernelFile(shared: boolean): string | undefined {
  const name = shared ? 'node-scores-shared.wasm' : 'node-scores.wasm';
  // Beside the bundle (dist/engine.js), or the repository's dist/ from src/engine/kernels/.
  const dirs = [__dirname, path.resolve(__dirname, '..', '..', '..', 'dist')];
  return dirs.map((d) => path.join(d, name)).find((f) => fs.existsSync(f));
}

function memoryOf(module: EmscriptenModule): WebAssembly.Memory | undefined {
  return module.wasmMemory ?? module.asm?.memory;
}

function load(): typeof cached {
  if (tf.getBackend() !== 'wasm') return null;
  const module = (tf.backend() as unknown as Partial<WasmBackendInternals>).wasm;
  if (!module) return null;
  // Looked for once per backend module (a failure too).
  if (cachedFor === module) return cached;
  cachedFor = module;
  cached = null;
  const memory = memoryOf(module);
  if (!memory) {
    unavailable = 'the wasm backend does not expose its memory';
    return null;
  }
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const file = kernelFile(shared);
  if (!file) {
    unavailable = `${shared ? 'node-scores-shared.wasm' : 'node-scores.wasm'} is missing beside the engine bundle: the build or the package is incomplete`;
    return null;
  }
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), { env: { memory } });
    cached = { module, scores: instance.exports.scores as ScoresFn };
  } catch (e) {
    unavailable = `${path.basename(file)} did not load: ${(e as Error).message}`;
  }
  return cached;
}

/** Whether `nodeScores` can run here (the wasm backend with the kernel built); else why not. */
export function nodeScoresKernel(): { ok: true } | { ok: false; why: string } {
  return load() ? { ok: true } : { ok: false, why: unavailable ?? 'the backend is not wasm' };
}

/**
 * The scores of every node of `layers` (float32 tensors on the wasm backend, each `[b, ..., n]`) for a
 * batch of `b` images, as `[b, N]` arrays, or null when the kernel is not available here.
 */
export function nodeScores(layers: LayerOutput[], b: number, N: number): NodeScores | null {
  const k = load();
  if (!k) return null;
  const m = b * N;
  const backend = tf.backend() as unknown as WasmBackendInternals;
  // Every layer readable, in range; which columns they cover.
  const columns = new Uint8Array(N);
  const inputs: { offset: number; n: number; positions: number; column: number }[] = [];
  for (const l of layers) {
    const n = l.tensor.shape[l.tensor.rank - 1];
    const data = backend.dataIdMap.get(l.tensor.dataId);
    if (!data || l.tensor.dtype !== 'float32' || l.tensor.size !== b * l.positions * n || l.column < 0 || l.column + n > N) return null;
    columns.fill(1, l.column, l.column + n);
    inputs.push({ offset: data.memoryOffset, n, positions: l.positions, column: l.column });
  }
  // One output buffer per backend module, grown when a batch needs more (a scan calls this per batch).
  if (!k.out || k.out.bytes < 16 * m) {
    if (k.out) k.module._free(k.out.ptr);
    const bytes = Math.max(16, 16 * m);
    k.out = { ptr: k.module._malloc(bytes), bytes };
  }
  const out = k.out.ptr;
  // Views after the allocation: growing the memory replaces its buffer.
  const memory = memoryOf(k.module)!;
  // Columns no layer covers read 0, not what an earlier batch left there.
  if (columns.includes(0)) new Uint8Array(memory.buffer, out, 16 * m).fill(0);
  for (const l of inputs) k.scores(l.offset, b, l.positions, l.n, out, N, l.column);
  const all = new Uint8Array(memory.buffer, out, 16 * m).slice();
  return {
    frobenius: new Float32Array(all.buffer, 0, m),
    max: new Float32Array(all.buffer, 4 * m, m),
    mean: new Float32Array(all.buffer, 8 * m, m),
    argmax: new Int32Array(all.buffer, 12 * m, m),
  };
}
