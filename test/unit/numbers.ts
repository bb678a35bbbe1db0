// Numeric helpers shared by the tests that compare the wasm backend and its kernels with a reference.
import assert from 'node:assert/strict';
import * as tf from '../../src/engine/runtime/tf';

/** Deterministic pseudo-random values in [-1, 1) (an LCG: the same seed gives the same values); `round` makes exact ties. */
export function values(n: number, seed: number, round = false): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = (s / 2 ** 32) * 2 - 1;
    out[i] = round ? Math.round(v * 4) / 4 : v;
  }
  return out;
}

/** `got` equals `want` to 1e-4 relative to want's largest magnitude (at least 1); a reference of zeros proves nothing. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const ref = Array.from(want);
  const scale = Math.max(1, ...ref.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / scale);
  assert.ok(worst <= 1e-4, `${what}: relative error ${worst}`);
  assert.ok(
    ref.some((v) => v !== 0),
    `${what}: the reference is all zeros`,
  );
}

/** The wasm backend's memory (the threaded build exposes `wasmMemory`, the plain one `asm.memory`); undefined on other backends. */
export function wasmMemory(): WebAssembly.Memory | undefined {
  const m = (tf.backend() as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } } }).wasm;
  return m?.wasmMemory ?? m?.asm?.memory;
}

/** Buffers the current backend holds (a leak check: the count before and after a call). */
export function wasmDataIds(): number {
  return (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
}
