import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Backend, BackendSetting } from '../../shared/protocol';
import { registerWasmKernels } from '../kernels';
import * as tf from './tf';
import { wantedWasmThreads, withThreadedWasm } from './wasmThreads';

/** The backend in use and, when it is not the one asked for or not the fastest, why. */
export interface BackendChoice {
  backend: Backend;
  note?: string;
}

/** Threads the wasm backend computes on (1 until it is initialised, or on other backends). */
let wasmThreads = 1;
export function currentWasmThreads(): number {
  return currentBackend() === 'wasm' ? wasmThreads : 1;
}

const WASM_BINARY = 'tfjs-backend-wasm-simd.wasm';
let wasmPathsSet = false;

/**
 * Picks and initialises the backend: `auto` tries `tensorflow` (the optional native package
 * `@tensorflow/tfjs-node`), then `wasm` (with the kernels this project registers for what wasm lacks),
 * then `cpu`. An explicit setting that cannot load throws an error saying what is missing.
 * Calling it again is cheap and returns the same choice.
 */
export async function initBackend(setting: BackendSetting = 'auto'): Promise<BackendChoice> {
  await import('@tensorflow/tfjs-backend-cpu');
  // A malformed thread count is the user's to fix, not a reason for `auto` to fall back to a slower backend.
  wantedWasmThreads();
  if (setting === 'tensorflow') return { backend: await useNative() };
  if (setting === 'wasm') {
    const backend = await useWasm();
    return threadedFailure ? { backend, note: threadedFailure } : { backend };
  }
  if (setting === 'cpu') return { backend: await use('cpu') };

  const skipped: string[] = [];
  try {
    return { backend: await useNative() };
  } catch (e) {
    skipped.push(message(e));
  }
  try {
    const backend = await useWasm();
    const threads = wasmThreads > 1 ? `, ${wasmThreads} threads` : '';
    return { backend, note: [`Using WebAssembly (wasm${threads}).`, threadedFailure, ...skipped].filter(Boolean).join(' ') };
  } catch (e) {
    skipped.push(message(e));
  }
  const backend = await use('cpu');
  return { backend, note: `Using the slow pure-JavaScript cpu backend. ${skipped.join(' ')}` };
}

export function currentBackend(): Backend {
  const b = tf.getBackend();
  return b === 'tensorflow' ? 'tensorflow' : b === 'wasm' ? 'wasm' : 'cpu';
}

async function useNative(): Promise<Backend> {
  if (!tf.findBackend('tensorflow')) {
    try {
      // Optional dependency, never bundled: any failure to load it (absent, wrong platform, broken
      // native binary) means native TensorFlow is not available.
      const req = typeof require === 'function' ? require : undefined;
      if (!req) throw new Error('require() is not available in this runtime');
      req('@tensorflow/tfjs-node');
    } catch (e) {
      throw new Error(`The tensorflow backend needs @tensorflow/tfjs-node, which is not installed or failed to load: ${firstLine(e)}`, { cause: e });
    }
    if (!tf.findBackend('tensorflow')) {
      throw new Error('The tensorflow backend needs @tensorflow/tfjs-node, which loaded but registered no backend (another copy of @tensorflow/tfjs-core?).');
    }
  }
  return use('tensorflow');
}

async function useWasm(): Promise<Backend> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!wasmPathsSet) {
      const dir = wasmDirectory(typeof __dirname === 'string' ? __dirname : process.cwd());
      if (!fs.existsSync(dir + WASM_BINARY)) throw new Error(`${WASM_BINARY} is missing from ${dir}`);
      wasm.setWasmPaths(dir);
      wasmPathsSet = true;
    }
    registerWasmKernels();
  } catch (e) {
    throw new Error(`The wasm backend could not load (@tensorflow/tfjs-backend-wasm): ${firstLine(e)}`, { cause: e });
  }
  if (tf.getBackend() === 'wasm') return 'wasm';
  if (tf.engine().registry.wasm) {
    // Initialised before (then another backend was selected): back to it, with the threads it started with.
    await use('wasm');
    return 'wasm';
  }
  const threads = wantedWasmThreads();
  if (threads > 1) {
    try {
      await withThreadedWasm(threads, threadedSources(), wasm, tf.env(), () => use('wasm'));
      wasmThreads = wasm.getThreadsCount();
      unrefWorkers();
      return 'wasm';
    } catch (e) {
      // Fall back to the single-threaded SIMD build (the factory runs again with the flag off).
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      wasm.setThreadsCount(1);
      threadedFailure = `Multithreaded wasm failed to start (${firstLine(e)}); using one thread.`;
    }
  }
  await use('wasm');
  wasmThreads = 1;
  return 'wasm';
}

/** The pool's idle workers would otherwise keep the process alive after its work is done. */
function unrefWorkers(): void {
  const pthread = (tf.backend() as unknown as { wasm?: { PThread?: { unusedWorkers: Worker[]; runningWorkers: Worker[] } } }).wasm?.PThread;
  for (const w of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) w.unref();
}

/** Why the threaded wasm build could not start, if it could not (added to the backend note). */
let threadedFailure: string | undefined;

/** tfjs's pthread worker script and the threaded module factory's source, as tfjs sends them to workers. */
function threadedSources(): { workerSource: string; factorySource: string } {
  const worker = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as { wasmWorkerContents: string };
  const factory = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js') as { default?: () => unknown } & (() => unknown);
  return { workerSource: worker.wasmWorkerContents, factorySource: (factory.default ?? factory).toString() };
}

/**
 * Where the .wasm binaries are: beside the running bundle (`here` is `dist/`, where the build copies them),
 * else the package's own `dist/` (running from sources). Ends with a separator (a prefix for the names).
 */
export function wasmDirectory(here: string): string {
  if (fs.existsSync(path.join(here, WASM_BINARY))) return here + path.sep;
  try {
    const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
    return path.join(path.dirname(pkg), 'dist') + path.sep;
  } catch {
    return here + path.sep; // loading then fails with the wasm package's own message naming the file
  }
}

async function use(name: Backend): Promise<Backend> {
  if (tf.getBackend() !== name) {
    let ok = false;
    let why = '';
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      why = `: ${firstLine(e)}`;
    }
    if (!ok) throw new Error(`Could not initialise the ${name} backend${why}.`);
  }
  await tf.ready();
  // The cpu backend greets its first use in Node with a banner on stderr; the CLI's stderr is for errors.
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
  return name;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function firstLine(e: unknown): string {
  return message(e).split('\n')[0];
}
