import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { MISSING_KERNELS, registerWasmKernels, SPEED_KERNELS } from '../../src/engine/kernels';
import * as tf from '../../src/engine/runtime/tf';
import { assertClose, values, wasmDataIds } from './numbers';

// Every kernel the project registers on wasm, checked against the cpu backend's own gradients on the
// same inputs, and checked for leaks: neither tensors nor wasm buffers may outlive a call.

type Grads = (...xs: tf.Tensor[]) => tf.Tensor[];

/** Runs `fn` on cpu, then on wasm, on the same inputs; returns both results as plain arrays. */
async function onBoth(fn: Grads, inputs: { shape: number[]; data: Float32Array }[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const run = () => {
    const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
    const ys = fn(...xs);
    const data = ys.map((y) => y.dataSync() as Float32Array);
    tf.dispose([...xs, ...ys]);
    return data;
  };
  await tf.setBackend('cpu');
  const cpu = run();
  await tf.setBackend('wasm');
  const tensors = tf.memory().numTensors;
  const ids = wasmDataIds();
  const wasm = run();
  assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
  assert.equal(wasmDataIds(), ids, 'wasm buffers leaked');
  return { cpu, wasm };
}

async function checkGrads(what: string, fn: Grads, shapes: number[][], round = false): Promise<void> {
  const inputs = shapes.map((shape, i) => ({
    shape,
    data: values(
      shape.reduce((a, b) => a * b, 1),
      7 + 31 * i + shape.length,
      round,
    ),
  }));
  const { cpu, wasm } = await onBoth(fn, inputs);
  cpu.forEach((c, i) => assertClose(wasm[i], c, `${what} [gradient ${i}]`));
}

/** A loss whose gradient differs per output element, so a misplaced gradient is caught. */
function weighted(y: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(y, tf.reshape(tf.sin(tf.range(0, y.size)), y.shape)));
}

before(async () => {
  await initBackend('wasm');
  registerWasmKernels();
});

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const CONV_CASES: { x: number[]; f: number[]; s: number; pad: Pad }[] = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' },
  { x: [2, 9, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 'valid' },
  { x: [3, 7, 10, 2], f: [5, 4, 2, 3], s: 2, pad: 'valid' },
  { x: [2, 10, 10, 3], f: [4, 4, 3, 2], s: 2, pad: 'same' },
  {
    x: [1, 11, 11, 2],
    f: [3, 3, 2, 2],
    s: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { x: [1, 13, 11, 1], f: [5, 5, 1, 6], s: 3, pad: 'same' },
];

test('conv2d gradients (Conv2DBackpropFilter, Conv2DBackpropInput) match the cpu backend', async () => {
  for (const c of CONV_CASES) {
    await checkGrads(
      `conv2d x${c.x} f${c.f} s${c.s} ${JSON.stringify(c.pad)}`,
      (x, f) => tf.grads((a: tf.Tensor, w: tf.Tensor) => weighted(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad)))([x, f]),
      [c.x, c.f],
    );
  }
});

test('conv2dTranspose (Conv2DBackpropInput as a forward op) and its gradients match cpu', async () => {
  for (const [s, pad, out] of [
    [2, 'same', [2, 10, 10, 3]],
    [2, 'valid', [2, 11, 11, 3]],
    [1, 'same', [2, 5, 5, 3]],
  ] as const) {
    await checkGrads(
      `conv2dTranspose s${s} ${pad}`,
      (y, f) => tf.grads((a: tf.Tensor, w: tf.Tensor) => weighted(tf.conv2dTranspose(a as tf.Tensor4D, w as tf.Tensor4D, [...out], s, pad)))([y, f]),
      [
        [2, 5, 5, 4],
        [3, 3, 3, 4],
      ],
    );
  }
});

test('conv2d gradients through a Layers conv layer with bias and ReLU (the fused path) match cpu', async () => {
  await checkGrads(
    'fused conv2d',
    (x, f, bias) =>
      tf.grads((a: tf.Tensor, w: tf.Tensor, bb: tf.Tensor) =>
        weighted(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'same', bias: bb as tf.Tensor1D, activation: 'relu' })),
      )([x, f, bias]),
    [[2, 9, 9, 3], [3, 3, 3, 4], [4]],
  );
});

test('depthwise conv gradients (DepthwiseConv2dNativeBackpropFilter/Input) match cpu, multiplier 1 and 2', async () => {
  const cases: { x: number[]; f: number[]; s: number; pad: Pad }[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 1], s: 1, pad: 'same' },
    { x: [2, 9, 9, 3], f: [3, 3, 3, 2], s: 2, pad: 'same' },
    { x: [2, 9, 8, 3], f: [3, 3, 3, 2], s: 2, pad: 'valid' },
    { x: [3, 7, 10, 2], f: [5, 4, 2, 1], s: 2, pad: 'valid' },
    {
      x: [1, 11, 11, 2],
      f: [3, 3, 2, 2],
      s: 1,
      pad: [
        [0, 0],
        [1, 2],
        [2, 0],
        [0, 0],
      ],
    },
  ];
  for (const c of cases) {
    await checkGrads(
      `depthwise x${c.x} f${c.f} s${c.s} ${JSON.stringify(c.pad)}`,
      (x, f) => tf.grads((a: tf.Tensor, w: tf.Tensor) => weighted(tf.depthwiseConv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad)))([x, f]),
      [c.x, c.f],
    );
  }
});

test('max-pool gradient (MaxPoolGrad) matches cpu, with ties, negative windows and overlapping windows', async () => {
  const cases: { x: number[]; k: number; s: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 9, 9, 3], k: 2, s: 2, pad: 'same' },
    { x: [2, 8, 8, 4], k: 2, s: 2, pad: 'valid' },
    { x: [2, 9, 9, 3], k: 3, s: 2, pad: 'valid' },
    { x: [1, 8, 7, 3], k: 3, s: 1, pad: 'same' },
    { x: [2, 7, 10, 2], k: 2, s: 2, pad: 'valid' },
  ];
  for (const c of cases) {
    for (const round of [false, true]) {
      await checkGrads(
        `maxPool x${c.x} k${c.k} s${c.s} ${c.pad}${round ? ' ties' : ''}`,
        (x) => [tf.grad((a: tf.Tensor) => weighted(tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad)))(x)],
        [c.x],
        round,
      );
    }
  }
});

test('max-pool gradient goes to the maximum of an all-negative window (hand-worked)', async () => {
  // Windows [-4 -1; -3 -2] and [5 -1; -3 -2]: maxima at positions 1 and 0. wasm's own kernel sends the
  // first window's gradient to position 0, which is why the project replaces it.
  const { cpu, wasm } = await onBoth(
    (x) => [tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x)],
    [{ shape: [2, 2, 2, 1], data: new Float32Array([-4, -1, -3, -2, 5, -1, -3, -2]) }],
  );
  assert.deepEqual(Array.from(cpu[0]), [0, 1, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(wasm[0]), [0, 1, 0, 0, 1, 0, 0, 0]);
});

test('matMul gradients with transposeA/transposeB (BatchMatMul) match cpu, also batched', async () => {
  // The shapes make the kernel take each of its two ways (explicit transposes, transposed product).
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])
    for (const [m, k, n] of [
      [3, 5, 4],
      [9, 6, 2],
      [2, 6, 9],
    ]) {
      const a = ta ? [k, m] : [m, k];
      const b = tb ? [n, k] : [k, n];
      await checkGrads(`matMul ${ta} ${tb} ${m}×${k}×${n}`, (x, y) => tf.grads((p: tf.Tensor, q: tf.Tensor) => weighted(tf.matMul(p, q, ta, tb)))([x, y]), [
        a,
        b,
      ]);
      await checkGrads(
        `batched matMul ${ta} ${tb} ${m}×${k}×${n}`,
        (x, y) => tf.grads((p: tf.Tensor, q: tf.Tensor) => weighted(tf.matMul(p, q, ta, tb)))([x, y]),
        [
          [2, ...a],
          [2, ...b],
        ],
      );
    }
});

test('conv2d filter gradient equals the hand-worked sums of the input windows', async () => {
  // x = 1..9 as 3×3, 2×2 filter, valid, loss = sum of outputs: dW[i][j] = sum of the 2×2 block at (i, j).
  await tf.setBackend('wasm');
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
  const w = tf.zeros([2, 2, 1, 1]) as tf.Tensor4D;
  const dw = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'valid')))(w);
  assert.deepEqual(Array.from(dw.dataSync()), [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
  tf.dispose([x, w, dw]);
});

test('an unsupported data format or dilation is a clear error, not a wrong answer', async () => {
  await tf.setBackend('wasm');
  const x = tf.zeros([1, 2, 5, 5]);
  const dy = tf.zeros([1, 2, 3, 3]);
  assert.throws(
    () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] }),
    /supports only NHWC/,
  );
  const x2 = tf.zeros([1, 5, 5, 2]);
  const dy2 = tf.zeros([1, 1, 1, 2]);
  assert.throws(
    () =>
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: x2, dy: dy2 }, { strides: 1, pad: 'valid', dilations: 2, filterShape: [3, 3, 2, 1] }),
    /does not support dilations > 1/,
  );
  tf.dispose([x, dy, x2, dy2]);
});

test('registration is idempotent, silent, and the speed kernels can be switched off and on', async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...m: unknown[]) => void warnings.push(m.join(' '));
  try {
    registerWasmKernels();
    for (const k of [...MISSING_KERNELS, ...SPEED_KERNELS]) assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
    registerWasmKernels({ speed: false });
    for (const k of MISSING_KERNELS) assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
    for (const k of SPEED_KERNELS) assert.notEqual(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
    registerWasmKernels({ speed: [SPEED_KERNELS[0].kernelName] });
    assert.equal(tf.getKernel(SPEED_KERNELS[0].kernelName, 'wasm')?.kernelFunc, SPEED_KERNELS[0].kernelFunc);
    registerWasmKernels();
    registerWasmKernels();
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  for (const k of SPEED_KERNELS) assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
});
