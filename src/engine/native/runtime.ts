/**
 * The native runtime (onnxruntime-node), loaded lazily and optionally: where it is missing (the universal
 * VSIX, a platform it has no binaries for) or fails to load, or `FEATURE_LENS_NATIVE=off`, the forward
 * passes run on tfjs and `nativeRuntime()` says why. Sessions are made per exported network and cached by
 * the hash of the exported model (weights included), so a model reloaded with the same weights reuses them.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { NATIVE_ENV } from './env';

type OrtModule = typeof Ort;

let ort: OrtModule | null | undefined;
let unavailable: string | undefined;

/** Where a platform-specific package puts the runtime: beside the engine bundle (esbuild.mjs `--native`). */
export function bundledRuntimeDir(): string {
  return path.join(__dirname, 'native', `${process.platform}-${process.arch}`, 'node_modules', 'onnxruntime-node');
}

/** The runtime module, or why it is not available (looked for once per process). */
export function nativeRuntime(): { ok: true; ort: OrtModule; version: string } | { ok: false; why: string } {
  if (ort === undefined) {
    ort = null;
    const setting = (process.env[NATIVE_ENV.switch] ?? '').trim().toLowerCase();
    if (setting === 'off' || setting === '0' || setting === 'false') unavailable = `turned off by ${NATIVE_ENV.switch}=${process.env[NATIVE_ENV.switch]}`;
    else {
      const bundled = bundledRuntimeDir();
      try {
        // The platform package's copy beside the bundle first; from a source checkout, node_modules.
        ort = (fs.existsSync(bundled) ? require(bundled) : require('onnxruntime-node')) as OrtModule;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        unavailable =
          err.code === 'MODULE_NOT_FOUND'
            ? 'onnxruntime-node is not part of this package (the universal VSIX carries no native binaries)'
            : `onnxruntime-node did not load: ${err.message?.split('\n')[0]}`;
      }
    }
  }
  return ort ? { ok: true, ort, version: ort.env.versions?.node ?? ort.env.versions?.common ?? '?' } : { ok: false, why: unavailable ?? 'not loaded' };
}

/** Threads of each native session: `FEATURE_LENS_NATIVE_THREADS`, else every core. */
export function nativeThreads(): number {
  const raw = process.env[NATIVE_ENV.threads];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`${NATIVE_ENV.threads} must be a whole number from 1 to 64, not "${raw}".`);
    return n;
  }
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 16));
}

/** An ONNX model ready to run, with its graph's input and outputs. */
export interface NativeSession {
  session: Ort.InferenceSession;
  input: string;
  outputs: string[];
  /** Input shape without the batch. */
  inputShape: number[];
  threads: number;
}

const sessions = new Map<string, Promise<NativeSession>>();

/**
 * A session for `bytes` (an exported model), shared by every caller with the same bytes and thread count.
 * A failure to create it (an op the runtime rejects) rejects, and is not cached.
 */
export function nativeSession(bytes: Uint8Array, input: string, outputs: string[], inputShape: number[], level?: 'extended' | 'all'): Promise<NativeSession> {
  const rt = nativeRuntime();
  if (!rt.ok) return Promise.reject(new Error(rt.why));
  const threads = nativeThreads();
  const key = `${createHash('sha256').update(bytes).digest('hex')}:${threads}`;
  let hit = sessions.get(key);
  if (!hit) {
    hit = rt.ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      // With many graph outputs (a scan reads every layer) the NCHWc layout of level 'all' reorders each
      // output back; 'extended' measured faster there (ResNet-18, all 68 layers: 305 against 487 ms per
      // image, one run each on a loaded machine), 'all' is the faster for the model's output alone.
      graphOptimizationLevel: level ?? (outputs.length > 4 ? 'extended' : 'all'),
    }).then((session) => ({ session, input, outputs, inputShape, threads }));
    sessions.set(key, hit);
    hit.catch(() => sessions.delete(key));
  }
  return hit;
}

/** Releases every cached session (tests; a model file that changed leaves its old session to this). */
export async function releaseNativeSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => null))?.session.release()));
}

/**
 * Runs `count` images (`[count, ...inputShape]` float32, NHWC as the network's input) and returns every
 * output's values, in the session's output order.
 */
export async function runNative(s: NativeSession, images: Float32Array, count: number): Promise<Float32Array[]> {
  const rt = nativeRuntime();
  if (!rt.ok) throw new Error(rt.why);
  const per = s.inputShape.reduce((a, b) => a * b, 1);
  const x = new rt.ort.Tensor('float32', images.length === count * per ? images : images.subarray(0, count * per), [count, ...s.inputShape]);
  const result = await s.session.run({ [s.input]: x });
  return s.outputs.map((name) => result[name].data as Float32Array);
}
