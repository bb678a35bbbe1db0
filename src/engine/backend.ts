import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend, BackendSetting } from '../shared/protocol';
import { registerWasmKernels } from './kernels';
import * as tf from './tf';

/** The backend in use and, when it is not the one asked for or not the fastest, why. */
export interface BackendChoice {
  backend: Backend;
  note?: string;
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
  if (setting === 'tensorflow') return { backend: await useNative() };
  if (setting === 'wasm') return { backend: await useWasm() };
  if (setting === 'cpu') return { backend: await use('cpu') };

  const skipped: string[] = [];
  try {
    return { backend: await useNative() };
  } catch (e) {
    skipped.push(message(e));
  }
  try {
    const backend = await useWasm();
    return { backend, note: `Using WebAssembly (wasm). ${skipped.join(' ')}` };
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
      throw new Error(`The tensorflow backend needs @tensorflow/tfjs-node, which is not installed or failed to load: ${firstLine(e)}`);
    }
    if (!tf.findBackend('tensorflow')) {
      throw new Error('The tensorflow backend needs @tensorflow/tfjs-node, which loaded but registered no backend (another copy of @tensorflow/tfjs-core?).');
    }
  }
  return use('tensorflow');
}

async function useWasm(): Promise<Backend> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!wasmPathsSet) {
      const dir = wasmDirectory(typeof __dirname === 'string' ? __dirname : process.cwd());
      if (!fs.existsSync(dir + WASM_BINARY)) throw new Error(`${WASM_BINARY} is missing from ${dir}`);
      wasm.setWasmPaths(dir);
      wasmPathsSet = true;
    }
    registerWasmKernels();
  } catch (e) {
    throw new Error(`The wasm backend could not load (@tensorflow/tfjs-backend-wasm): ${firstLine(e)}`);
  }
  return use('wasm');
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
