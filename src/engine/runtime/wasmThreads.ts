/**
 * Multithreaded wasm in Node. tfjs-backend-wasm ships a threaded SIMD build (XNNPACK on a pthreadpool of
 * emscripten workers) but never uses it in Node, for three reasons this file works around during
 * initialisation only:
 *  1. the `WASM_HAS_MULTITHREAD_SUPPORT` flag is hard-wired to false when `IS_NODE`: we set it;
 *  2. the pthread workers are created from `blob:` URLs, which Node's `worker_threads` cannot load, and each
 *     worker then loads the module's script from a Blob: we write the worker script (tfjs's own, told to
 *     load the script from a file) and the script into a private temporary folder, answer the backend's
 *     `URL.createObjectURL` for the worker with that file, and delete the folder once the workers are up;
 *  3. the backend caps its pool at half of `os.cpus().length` (it assumes two hyperthreads per core): we
 *     report twice the wanted count while the pool is created, and ask for exactly that count.
 * Everything is restored when initialisation ends, whether it succeeded or not.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENGINE_ENV } from '../../shared/protocol';

/** The environment variable that sets the thread count (1 = the single-threaded SIMD build). */
export const WASM_THREADS_ENV = ENGINE_ENV.wasmThreads;

/** The emscripten build preallocates this many workers; the backend never uses more. */
const MAX_THREADS = 8;

/**
 * Threads wanted: `FEATURE_LENS_WASM_THREADS` if set (at most 8), else 1. One thread is the default because
 * the pool's hand-offs cost more than they give on small operations: measured here, training the EFL nets
 * took 24 s on 2 threads against 16 s on 1, and activation maximization ran 184 against 291 steps/s, while
 * a scan's large batches gained 1.5×. Engines use the other cores as processes instead (parallelScan.ts).
 */
export function wantedWasmThreads(): number {
  const env = process.env[WASM_THREADS_ENV];
  if (env === undefined || env === '') return 1;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${WASM_THREADS_ENV} must be a whole number ≥ 1, not "${env}".`);
  return Math.min(MAX_THREADS, n);
}

interface WasmModuleApi {
  setThreadsCount(n: number): void;
}

interface Env {
  set(flag: string, value: unknown): void;
}

/**
 * Runs `init` (which must initialise the wasm backend) with the threaded build enabled for `threads`
 * threads. `workerSource` is tfjs's worker script (`wasmWorkerContents`) and `factorySource` the threaded
 * module factory (`Function.prototype.toString` of it, as tfjs itself sends it to its workers).
 */
export async function withThreadedWasm<T>(
  threads: number,
  sources: { workerSource: string; factorySource: string },
  wasm: WasmModuleApi,
  env: Env,
  init: () => Promise<T>,
): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-wasm-'));
  const osModule = require('node:os') as typeof os; // the module object emscripten's require("os") returns
  const realCpus = osModule.cpus;
  const realCreateObjectURL = URL.createObjectURL;
  try {
    const scriptFile = path.join(dir, 'wasm-threaded-simd.js');
    const workerFile = path.join(dir, 'wasm-threaded-simd.worker.js');
    fs.writeFileSync(scriptFile, `var WasmBackendModuleThreadedSimd = ${sources.factorySource};\n`, { mode: 0o600 });
    fs.writeFileSync(workerFile, workerScript(sources.workerSource, scriptFile), { mode: 0o600 });

    env.set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    osModule.cpus = () => {
      const cpus = realCpus();
      const one = cpus[0];
      return Array.from({ length: 2 * threads }, () => one);
    };
    URL.createObjectURL = (obj: Blob) => (obj instanceof Blob && obj.type === 'application/javascript' ? workerFile : realCreateObjectURL(obj));
    return await init();
  } finally {
    osModule.cpus = realCpus;
    URL.createObjectURL = realCreateObjectURL;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * tfjs's worker script, loading the module script from `scriptFile` instead of the Blob or URL the main
 * thread sends. The backend escapes newlines the same way before making its Blob (they sit inside string
 * literals of the script).
 */
export function workerScript(workerSource: string, scriptFile: string): string {
  const load = /if\(typeof e\.data\.urlOrBlob=="string"\)\{importScripts\(e\.data\.urlOrBlob\)\}else\{[^}]*\}/;
  if (!load.test(workerSource)) throw new Error('the wasm worker script has an unexpected form (another @tensorflow/tfjs-backend-wasm version?)');
  return workerSource.replace(load, `importScripts(${JSON.stringify(scriptFile)});`).replace(/\n/g, '\\n');
}
