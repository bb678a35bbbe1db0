/** Environment variables of the native forward path. */
export const NATIVE_ENV = {
  /** `off` (or `0`, `false`): never load onnxruntime-node; every forward pass runs on tfjs. */
  switch: 'FEATURE_LENS_NATIVE',
  /** Threads of each native session (default: every core). */
  threads: 'FEATURE_LENS_NATIVE_THREADS',
} as const;
