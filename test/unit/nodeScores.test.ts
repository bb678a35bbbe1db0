import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { net } from './net';
import { currentWasmThreads, initBackend } from '../../src/engine/runtime/backend';
import { nodeScores, nodeScoresKernel, type LayerOutput, type NodeScores } from '../../src/engine/kernels/nodeScores';
import { batchScores, multiOutputModel, scanLayers } from '../../src/engine/scan/scan';
import * as tf from '../../src/engine/runtime/tf';
import { WASM_THREADS_ENV } from '../../src/engine/runtime/wasmThreads';
import { values, wasmDataIds, wasmMemory } from './numbers';

// The scan's SIMD kernel (kernels/nodeScores.wat) against a naive float64 reduction of the same values:
// Frobenius norm, max, mean and the flat position of the first max of every node's map, for every image.

/** The reference scores of one layer output `data` = `[b, positions, n]` (float32 values, float64 sums). */
function reference(data: Float32Array, b: number, positions: number, n: number) {
  const frobenius = new Float64Array(b * n);
  const max = new Float64Array(b * n);
  const mean = new Float64Array(b * n);
  /** Σ|v| / positions: the scale a float32 sum of signed values is accurate to. */
  const meanScale = new Float64Array(b * n);
  const argmax = new Int32Array(b * n);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      let sq = 0;
      let abs = 0;
      let best = -Infinity;
      let at = 0;
      for (let p = 0; p < positions; p++) {
        const v = data[(r * positions + p) * n + i];
        sum += v;
        sq += v * v;
        abs += Math.abs(v);
        if (v > best) {
          best = v;
          at = p;
        }
      }
      const k = r * n + i;
      frobenius[k] = positions === 1 ? Math.abs(best) : Math.sqrt(sq);
      max[k] = best;
      mean[k] = sum / positions;
      meanScale[k] = abs / positions;
      argmax[k] = at;
    }
  }
  return { frobenius, max, mean, meanScale, argmax };
}

function relClose(got: number, want: number, scale: number, what: string): void {
  if (!Number.isFinite(want)) {
    assert.equal(got, want, what);
    return;
  }
  const err = Math.abs(got - want) / Math.max(Math.abs(scale), 1e-30);
  assert.ok(err <= 1e-5, `${what}: got ${got}, want ${want} (relative error ${err})`);
}

/** Checks the columns `[column, column + n)` of `scores` against the reference of `data`. */
function checkLayer(
  scores: NodeScores,
  N: number,
  data: Float32Array,
  b: number,
  positions: number,
  n: number,
  column: number,
  what: string,
  skip: number[] = [],
): void {
  const ref = reference(data, b, positions, n);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < n; i++) {
      if (skip.includes(i)) continue;
      const k = r * N + column + i;
      const j = r * n + i;
      const at = `${what} image ${r} node ${i}`;
      assert.equal(scores.max[k], Math.fround(ref.max[j]), `${at}: max`);
      assert.equal(scores.argmax[k], ref.argmax[j], `${at}: argmax`);
      relClose(scores.frobenius[k], ref.frobenius[j], ref.frobenius[j], `${at}: frobenius`);
      relClose(scores.mean[k], ref.mean[j], ref.meanScale[j], `${at}: mean`);
    }
  }
}

/** Runs the kernel on one layer `[b, ...spatial, n]` of `data` written at column 0 of N = n. */
function scoresOf(data: Float32Array, shape: number[]): NodeScores {
  const b = shape[0];
  const n = shape[shape.length - 1];
  const positions = shape.slice(1, -1).reduce((a, d) => a * d, 1);
  const tensor = tf.tensor(data, shape);
  try {
    const scores = nodeScores([{ tensor, positions, column: 0 }], b, n);
    assert.ok(scores, 'the kernel ran');
    return scores;
  } finally {
    tensor.dispose();
  }
}

before(async () => {
  assert.equal((await initBackend('wasm')).backend, 'wasm');
});

test('the kernel is available on wasm, on the plain or (FEATURE_LENS_WASM_THREADS > 1) the shared memory', () => {
  assert.deepEqual(nodeScoresKernel(), { ok: true });
  const threads = currentWasmThreads();
  if (process.env[WASM_THREADS_ENV] === '2') assert.equal(threads, 2, 'the threaded build started');
  assert.equal(wasmMemory()!.buffer instanceof SharedArrayBuffer, threads > 1, `shared memory iff threaded (${threads} threads)`);
});

test('scores match a float64 reference for conv, dense and sequence outputs, n a multiple of 4 or not', () => {
  const shapes = [
    [3, 5, 7, 1],
    [3, 5, 7, 3],
    [2, 6, 4, 5],
    [2, 4, 4, 6],
    [2, 9, 11, 17],
    [4, 6, 6, 16],
    [2, 3, 5, 32],
    [1, 12, 12, 17], // b = 1
    [1, 1, 1, 5], // one position in a conv map
    [5, 6], // dense: positions = 1, the Frobenius score is |v|
    [7, 17],
    [3, 32],
    [1, 1],
    [3, 10, 6], // rank 3 [b, L, n]
    [2, 13, 17],
  ];
  shapes.forEach((shape, s) => {
    const data = values(
      shape.reduce((a, d) => a * d, 1),
      101 + s,
    );
    const b = shape[0];
    const n = shape[shape.length - 1];
    const positions = shape.slice(1, -1).reduce((a, d) => a * d, 1);
    checkLayer(scoresOf(data, shape), n, data, b, positions, n, 0, `[${shape}]`);
  });
});

test('several layers land in their own columns of one N, in any order', () => {
  // Columns: A 0..4, gap 5..6, B 7..22, C 23..25, gap 26..29 (N = 30).
  const b = 3;
  const N = 30;
  const specs = [
    { shape: [b, 4, 5, 5], column: 0 },
    { shape: [b, 3, 3, 16], column: 7 },
    { shape: [b, 3], column: 23 },
  ];
  const datas = specs.map((l, i) =>
    values(
      l.shape.reduce((a, d) => a * d, 1),
      500 + i,
    ),
  );
  const tensors = specs.map((l, i) => tf.tensor(datas[i], l.shape));
  try {
    const layers: LayerOutput[] = specs.map((l, i) => ({ tensor: tensors[i], positions: l.shape.slice(1, -1).reduce((a, d) => a * d, 1), column: l.column }));
    for (const order of [layers, [...layers].reverse()]) {
      const scores = nodeScores(order, b, N);
      assert.ok(scores);
      for (const a of [scores.frobenius, scores.max, scores.mean, scores.argmax]) assert.equal(a.length, b * N);
      specs.forEach((l, i) => {
        const n = l.shape[l.shape.length - 1];
        checkLayer(scores, N, datas[i], b, layers[i].positions, n, l.column, `layer ${i}`);
      });
    }
  } finally {
    tf.dispose(tensors);
  }
});

test('columns no layer covers are 0', () => {
  const b = 2;
  const N = 12;
  const full = tf.tensor(
    values(b * 4 * N, 7).map((v) => v + 2),
    [b, 2, 2, N],
  );
  const part = tf.tensor(values(b * 4 * 3, 8), [b, 2, 2, 3]);
  try {
    // A call that writes every column first, so stale scores are non-zero if the buffer is reused.
    assert.ok(nodeScores([{ tensor: full, positions: 4, column: 0 }], b, N));
    const scores = nodeScores([{ tensor: part, positions: 4, column: 4 }], b, N);
    assert.ok(scores);
    for (let r = 0; r < b; r++) {
      for (let c = 0; c < N; c++) {
        if (c >= 4 && c < 7) continue;
        for (const [name, a] of Object.entries(scores)) assert.equal(a[r * N + c], 0, `${name} of image ${r} column ${c}`);
      }
    }
  } finally {
    tf.dispose([full, part]);
  }
});

test('exact ties: argmax is the first position of the maximum', () => {
  // Values on a coarse grid (many ties), plus hand-placed ties of the maximum.
  for (const [shape, seed] of [
    [[2, 5, 5, 6], 11],
    [[3, 4, 4, 16], 12],
    [[2, 3, 7, 5], 13],
  ] as const) {
    const [b, h, w, n] = shape;
    const data = values(b * h * w * n, seed).map((v) => Math.round(v * 3) / 3);
    // Node 0 of image 0: the maximum 5 at positions 4, 7 and the last one; node n-1 of the last image: at 1 and 2.
    const put = (r: number, p: number, i: number, v: number) => (data[(r * h * w + p) * n + i] = v);
    for (const p of [4, 7, h * w - 1]) put(0, p, 0, 5);
    for (const p of [1, 2]) put(b - 1, p, n - 1, 5);
    const scores = scoresOf(data, [...shape]);
    checkLayer(scores, n, data, b, h * w, n, 0, `ties [${shape}]`);
    assert.equal(scores.argmax[0], 4);
    assert.equal(scores.argmax[(b - 1) * n + n - 1], 1);
  }
  // A constant map: the maximum is everywhere, its first position is 0.
  const scores = scoresOf(new Float32Array(2 * 9 * 5).fill(0.5), [2, 3, 3, 5]);
  assert.deepEqual(Array.from(scores.argmax), new Array(10).fill(0));
  assert.deepEqual(Array.from(scores.max), new Array(10).fill(0.5));
});

test('all-negative maps: the maximum is the largest negative value, the Frobenius norm is positive', () => {
  for (const shape of [
    [2, 4, 6, 5],
    [2, 4, 6, 8],
    [4, 9],
  ]) {
    const data = values(
      shape.reduce((a, d) => a * d, 1),
      77,
    ).map((v) => -1.5 - Math.abs(v));
    const scores = scoresOf(data, shape);
    const n = shape[shape.length - 1];
    checkLayer(
      scores,
      n,
      data,
      shape[0],
      shape.slice(1, -1).reduce((a, d) => a * d, 1),
      n,
      0,
      `negative [${shape}]`,
    );
    assert.ok(scores.max.every((v) => v < -1.5));
    assert.ok(scores.frobenius.every((v) => v > 1.5));
  }
});

test('maps containing -Infinity, and maps of only -Infinity', () => {
  for (const shape of [
    [2, 3, 3, 5],
    [2, 3, 3, 8],
  ]) {
    const [b, h, w, n] = shape;
    const data = values(b * h * w * n, 31);
    // Node 0: -Infinity first, then ordinary values. Node 1 of image 0: -Infinity everywhere.
    for (let r = 0; r < b; r++) data[r * h * w * n] = -Infinity;
    for (let p = 0; p < h * w; p++) data[p * n + 1] = -Infinity;
    const scores = scoresOf(data, shape);
    checkLayer(scores, n, data, b, h * w, n, 0, `-Infinity [${shape}]`);
    assert.equal(scores.max[1], -Infinity);
    assert.equal(scores.argmax[1], 0, 'no value exceeds -Infinity: position 0');
    assert.equal(scores.frobenius[1], Infinity);
    assert.equal(scores.mean[1], -Infinity);
    assert.ok(Number.isFinite(scores.max[0]) && scores.argmax[0] > 0);
  }
  // A dense output of -Infinity: |v| = Infinity.
  const scores = scoresOf(new Float32Array([-Infinity, 2, -3]), [1, 3]);
  assert.deepEqual(Array.from(scores.frobenius), [Infinity, 2, 3]);
  assert.deepEqual(Array.from(scores.max), [-Infinity, 2, -3]);
});

test("NaN: the norm and the mean become NaN (the heaps skip them); a flat output's three scores are the value", () => {
  // A dense output (one position): every score is the value itself, NaN included.
  const flat = scoresOf(new Float32Array([NaN, 2, -3, NaN, -0.5, 4]), [2, 3]);
  assert.deepEqual(Array.from(flat.frobenius), [NaN, 2, 3, NaN, 0.5, 4]);
  assert.deepEqual(Array.from(flat.max), [NaN, 2, -3, NaN, -0.5, 4]);
  assert.deepEqual(Array.from(flat.mean), [NaN, 2, -3, NaN, -0.5, 4]);
  // A map with one NaN, in the SIMD lanes (n = 4) and in the scalar tail (n = 5): the norm and mean are NaN,
  // the maximum and its position are those of the other values.
  for (const n of [4, 5]) {
    const [b, h, w] = [1, 2, 3];
    const data = values(b * h * w * n, 41);
    const node = n - 1;
    data[2 * n + node] = NaN; // position 2
    const scores = scoresOf(data, [b, h, w, n]);
    assert.ok(Number.isNaN(scores.frobenius[node]) && Number.isNaN(scores.mean[node]), `n = ${n}: NaN norm and mean`);
    let best = -Infinity;
    let at = 0;
    for (let p = 0; p < h * w; p++) {
      const v = data[p * n + node];
      if (v > best) [best, at] = [v, p];
    }
    assert.equal(scores.max[node], best, `n = ${n}: the max skips the NaN`);
    assert.equal(scores.argmax[node], at);
    checkLayer(scores, n, data, b, h * w, n, 0, `NaN elsewhere, n = ${n}`, [node]);
  }
});

test('neither tensors nor wasm memory accumulate over 200 calls', () => {
  // b · N large enough that each call's output buffer is 1 MiB: 200 unfreed buffers would be 200 MiB.
  const b = 64;
  const shapes = [
    [b, 6, 6, 16],
    [b, 5, 5, 7],
    [b, 1000],
  ];
  const N = 16 + 7 + 1000;
  const tensors = shapes.map((s, i) =>
    tf.tensor(
      values(
        s.reduce((a, d) => a * d, 1),
        900 + i,
      ),
      s,
    ),
  );
  const layers: LayerOutput[] = [
    { tensor: tensors[0], positions: 36, column: 0 },
    { tensor: tensors[1], positions: 25, column: 16 },
    { tensor: tensors[2], positions: 1, column: 23 },
  ];
  try {
    const first = nodeScores(layers, b, N)!;
    const tensorCount = tf.memory().numTensors;
    const ids = wasmDataIds();
    const bytes = wasmMemory()!.buffer.byteLength;
    for (let k = 0; k < 200; k++) {
      const s = nodeScores(layers, b, N)!;
      if (k % 50 === 0) assert.deepEqual(s, first, `call ${k} gives the same scores`);
    }
    assert.equal(tf.memory().numTensors, tensorCount, 'tensors leaked');
    assert.equal(wasmDataIds(), ids, 'wasm buffers leaked');
    const grown = wasmMemory()!.buffer.byteLength - bytes;
    assert.ok(grown < 16 * 2 ** 20, `wasm memory grew by ${grown} bytes over 200 calls`);
  } finally {
    tf.dispose(tensors);
  }
});

test('a layer the kernel cannot read gives null, not wrong scores', () => {
  const t = tf.tensor(values(2 * 4 * 3, 3), [2, 4, 3]);
  const i = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
  try {
    assert.equal(nodeScores([{ tensor: t, positions: 4, column: 8 }], 2, 10), null, 'past the last column');
    assert.equal(nodeScores([{ tensor: t, positions: 3, column: 0 }], 2, 3), null, 'wrong positions');
    assert.equal(nodeScores([{ tensor: i, positions: 1, column: 0 }], 2, 3), null, 'int32');
  } finally {
    tf.dispose([t, i]);
  }
});

/** A small conv net with fixed weights: conv (ReLU, so tied zeros) → max pool → conv → flatten → dense. */
function convNet(): tf.LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [11, 10, 2],
      filters: 5,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      biasInitializer: tf.initializers.constant({ value: -0.8 }),
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(
    tf.layers.conv2d({
      filters: 6,
      kernelSize: 2,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 3 }),
    }),
  );
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  return model;
}

test("batchScores on a real conv net equals a brute-force reduction of each layer's predicted output", async () => {
  assert.ok(nodeScoresKernel().ok, 'batchScores takes the kernel path');
  const model = convNet();
  const layers = scanLayers(net(model));
  assert.deepEqual(
    layers.map((l) => [l.offset, l.nodes, ...l.spatial]),
    [
      [0, 5, 9, 8],
      [5, 5, 4, 4],
      [10, 6, 3, 3],
      [16, 3, 1, 1],
    ],
  ); // Flatten is not a layer
  const N = 19;
  const b = 6;
  const images = tf.tensor(values(b * 11 * 10 * 2, 2024), [b, 11, 10, 2]);
  const multi = multiOutputModel(net(model), layers);
  try {
    const tensors = tf.memory().numTensors;
    const scores = await batchScores(multi, layers, images);
    assert.equal(tf.memory().numTensors, tensors, 'batchScores leaked tensors');
    let ties = 0;
    for (const l of layers) {
      const one = tf.model({ inputs: model.inputs, outputs: model.getLayer(l.name).output as tf.SymbolicTensor });
      const y = one.predict(images) as tf.Tensor;
      const data = (await y.data()) as Float32Array;
      y.dispose();
      const positions = l.spatial[0] * l.spatial[1];
      checkLayer(scores, N, data, b, positions, l.nodes, l.offset, l.name);
      const ref = reference(data, b, positions, l.nodes);
      if (positions > 1) ties += Array.from(ref.max).filter((v) => v === 0).length;
      // The top image of every node, per metric, as the index would rank it.
      for (let i = 0; i < l.nodes; i++) {
        for (const metric of ['frobenius', 'max', 'mean'] as const) {
          const col = (a: ArrayLike<number>, stride: number, at: number) => Array.from({ length: b }, (_, r) => a[r * stride + at]);
          const top = (a: number[]) => a.indexOf(Math.max(...a));
          assert.equal(top(col(scores[metric], N, l.offset + i)), top(col(ref[metric], l.nodes, i)), `${l.name} node ${i}: top image by ${metric}`);
        }
      }
    }
    assert.ok(ties > 0, 'the ReLU layer has dead maps (all-zero ties) in this batch');
  } finally {
    tf.dispose([images]);
    model.dispose();
  }
});

test('on the cpu backend nodeScores gives null (callers fall back); back on wasm the kernel works again', async () => {
  await initBackend('cpu');
  try {
    assert.equal(nodeScoresKernel().ok, false);
    const t = tf.tensor([1, 2, 3], [1, 3]);
    assert.equal(nodeScores([{ tensor: t, positions: 1, column: 0 }], 1, 3), null);
    t.dispose();
  } finally {
    await initBackend('wasm');
  }
  assert.deepEqual(nodeScoresKernel(), { ok: true });
  const t = tf.tensor([1, -2, 3], [1, 3]);
  assert.deepEqual(Array.from(nodeScores([{ tensor: t, positions: 1, column: 0 }], 1, 3)?.max ?? []), [1, -2, 3]);
  t.dispose();
});

after(async () => {
  // The last test leaves the backend on wasm for anything after this file.
  await initBackend('wasm');
});
