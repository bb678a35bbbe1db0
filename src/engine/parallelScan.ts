/**
 * Scanning with more than one process. The wasm backend runs on one thread in Node, so on a machine with
 * several cores a scan forks helper engine processes (the same `engine.js`, serving RPC), each scanning a
 * contiguous range of the test split with `scanRange`; their heaps and sums merge with the parent's
 * (scan.ts, `mergeScanStates`). The parent scans the first range itself, so a cancelled parallel scan still
 * leaves a checkpoint of a prefix of the dataset.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENGINE_ENV, type FromEngine, type ParamsOf, type Progress } from '../shared/protocol';
import { currentBackend } from './backend';
import { CancelledError, check, UserError } from './errors';
import type { Job } from './job';
import { openDataset, readLens } from './lens';
import { loadModel } from './modelIO';
import { emptyScanState, scanLayers, scanRange, type ScanState } from './scan';
import { decodeIndex, encodeIndex } from './scanIndex';

/** The `scanRange` engine method: scans `[start, end)` and replies with the encoded partial state. */
export async function scanLensRange(p: ParamsOf<'scanRange'>, job: Job): Promise<Uint8Array> {
  const lens = await readLens(p.lens);
  const { model, info } = await loadModel(lens.model);
  if (info.weightsHash !== p.weightsHash) throw new UserError('badInput', 'the model changed on disk during the scan; scan again.', info.path);
  const ds = await openDataset(lens, 'test');
  check(Number.isInteger(p.start) && Number.isInteger(p.end) && p.start >= 0 && p.start < p.end && p.end <= ds.size, `Image range [${p.start}, ${p.end}) is outside the test split (${ds.size} images).`, lens.path);
  const layers = scanLayers(model);
  const state = await scanRange(model, ds, p.start, p.end, emptyScanState(layers, p.k, ds.classes.length), job, { batchSize: p.batchSize });
  const header = { weightsHash: p.weightsHash, datasetHash: ds.hash, k: p.k, layers, classes: [...ds.classes], total: ds.size, next: p.end, start: p.start, complete: false, model: info.path, source: ds.source, seconds: 0 };
  return encodeIndex(header, state);
}

/** How many processes a scan may use: `FEATURE_LENS_SCAN_WORKERS`, else the cores (at most 4) on single-threaded backends. */
export function scanWorkers(): number {
  const env = Number(process.env.FEATURE_LENS_SCAN_WORKERS);
  if (Number.isInteger(env) && env >= 1) return env;
  if (currentBackend() === 'tensorflow') return 1; // native TensorFlow already uses every core
  return Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
}

/** The engine bundle to fork: `FEATURE_LENS_ENGINE`, or `engine.js` beside this bundle / in `dist/`. */
export function helperEnginePath(): string | undefined {
  const candidates = [process.env.FEATURE_LENS_ENGINE, path.join(__dirname, 'engine.js'), path.resolve(__dirname, '..', '..', 'dist', 'engine.js')];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

export interface RangeHelper {
  /** Resolves with the helper's partial scan state. */
  result: Promise<ScanState>;
  /** Stops the helper (its result then rejects with CancelledError). */
  stop(): void;
}

/**
 * Forks a helper engine that scans `[start, end)` of the lens's test split. `onProgress` receives the
 * number of images the helper has done.
 */
export function forkRangeScan(enginePath: string, params: ParamsOf<'scanRange'>, onProgress: (done: number) => void): RangeHelper {
  const child = fork(enginePath, [], {
    serialization: 'advanced',
    env: { ...process.env, [ENGINE_ENV.serve]: '1', [ENGINE_ENV.backend]: currentBackend(), FEATURE_LENS_SCAN_WORKERS: '1' },
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let stopped = false;
  const result = new Promise<ScanState>((resolve, reject) => {
    child.on('message', (raw) => {
      const m = raw as FromEngine;
      if (m.type === 'ready') child.send({ type: 'request', id: 1, method: 'scanRange', params });
      else if (m.type === 'progress' && m.id === 1) {
        const f = (m.progress as Progress).fraction;
        if (f !== undefined) onProgress(Math.round(f * (params.end - params.start)));
      } else if (m.type === 'reply' && m.id === 1) {
        child.disconnect();
        if ('err' in m.result) return reject(m.result.err.code === 'cancelled' ? new CancelledError() : new UserError(m.result.err.code, m.result.err.message, m.result.err.file));
        const bytes = m.result.ok as Uint8Array;
        const decoded = decodeIndex(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes as ArrayBuffer));
        if (!decoded) return reject(new Error('A scan helper process sent an unreadable result.'));
        resolve(decoded.state);
      }
    });
    child.on('error', (e) => reject(e));
    child.on('exit', (code, signal) => {
      if (stopped) reject(new CancelledError());
      else reject(new Error(`A scan helper process exited (${signal ?? `code ${code}`}) before it finished.${stderr ? ` ${stderr.trim().split('\n').pop()}` : ''}`));
    });
  });
  return {
    result,
    stop: () => {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}
