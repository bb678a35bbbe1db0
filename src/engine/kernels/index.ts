/**
 * The kernels this project registers on the wasm backend: those it lacks (without them no gradient
 * flows through a conv layer) and, optionally, faster versions of slow built-in ones.
 */
import * as tf from '../runtime/tf';
import { batchMatMulConfig } from './batchMatMul';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter';
import { conv2dBackpropInputConfig } from './conv2dBackpropInput';
import { depthwiseBackpropFilterConfig } from './depthwiseBackpropFilter';
import { depthwiseBackpropInputConfig } from './depthwiseBackpropInput';
import { maxPoolGradConfig } from './maxPoolGrad';
import { originalKernel } from './wasmOps';

/** Kernels the wasm backend does not have at all. */
export const MISSING_KERNELS: tf.KernelConfig[] = [conv2dBackpropFilterConfig, depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig];
/** Faster replacements for built-in wasm kernels; each may call the original it replaces. */
export const SPEED_KERNELS: tf.KernelConfig[] = [conv2dBackpropInputConfig, batchMatMulConfig, maxPoolGradConfig];

/**
 * Registers the missing kernels, and the speed kernels unless `speed` is false (or only those named in
 * `speed`). Idempotent; calling it again with `speed: false` restores the wasm package's own kernels.
 * Needs `@tensorflow/tfjs-backend-wasm` imported first (its kernels are captured before being replaced).
 */
export function registerWasmKernels(options: { speed?: boolean | string[] } = {}): void {
  const wanted = options.speed ?? true;
  for (const k of MISSING_KERNELS) {
    if (tf.getKernel(k.kernelName, 'wasm') !== k) replaceKernel(k);
  }
  for (const k of SPEED_KERNELS) {
    const original = originalKernel(k.kernelName);
    const speed = Array.isArray(wanted) ? wanted.includes(k.kernelName) : wanted;
    const want = speed ? { ...k, setupFunc: original.setupFunc } : original;
    const current = tf.getKernel(k.kernelName, 'wasm');
    if (current?.kernelFunc !== want.kernelFunc) replaceKernel(want);
  }
}

function replaceKernel(k: tf.KernelConfig): void {
  // registerKernel warns on duplicates: unregister first.
  if (tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel(k);
}
