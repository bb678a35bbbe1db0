/**
 * Scanning with more than one process. A scan's images are cut into chunks; this process and helper engine
 * processes (the same `engine.js`, serving RPC) take chunks in order, the helpers through `scanRange`, and
 * their heaps and sums merge with the parent's (scan.ts, `mergeScanStates`) as soon as they extend the
 * scanned prefix, so a checkpoint always covers a prefix of the dataset (topActivations.ts).
 *
 * Helpers are pooled: they stay up for a while after a scan (idle, not keeping this process alive), with
 * the lens, model and dataset they opened, so the next scan starts on warm processes. They exit when this
 * process does (they lose their IPC channel), when idle too long, or when a scan no longer needs them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENGINE_ENV, type FromEngine, type ParamsOf, type Progress } from '../../shared/protocol';
import { currentBackend, currentWasmThreads } from '../runtime/backend';
import { CancelledError, check, UserError } from '../runtime/errors';
import type { Job } from '../runtime/job';
import { openDataset, readLens } from '../lens/lens';
import { loadLensModel } from '../lens/lensModel';
import { emptyScanState, scanLayers, scanRange, type ScanState } from './scan';
import { decodeIndex, encodeIndex } from './scanIndex';

/**
 * The `scanRange` engine method: scans `[start, end)` and replies with the encoded partial state. A pooled
 * helper keeps the lens, model and test split open between requests through their own caches (by mtime):
 * a retrained model or changed data files are opened anew.
 */
export async function scanLensRange(p: ParamsOf<'scanRange'>, job: Job): Promise<Uint8Array> {
  const lens = await readLens(p.lens);
  const { network: model, info } = await loadLensModel(lens);
  const ds = await openDataset(lens, 'test');
  const { weightsHash, path: modelPath } = info;
  if (weightsHash !== p.weightsHash) throw new UserError('badInput', 'the model changed on disk during the scan; scan again.', modelPath);
  if (p.datasetHash !== undefined && ds.hash !== p.datasetHash)
    throw new UserError('badInput', 'the dataset changed on disk during the scan; scan again.', ds.source);
  check(
    Number.isInteger(p.start) && Number.isInteger(p.end) && p.start >= 0 && p.start < p.end && p.end <= ds.size,
    `Image range [${p.start}, ${p.end}) is outside the test split (${ds.size} images).`,
    p.lens,
  );
  const layers = scanLayers(model);
  const nodes = layers.reduce((a, l) => a + l.nodes, 0);
  const floors = p.floors instanceof Float32Array && p.floors.length === 3 * nodes ? p.floors : undefined;
  const state = await scanRange(model, ds, p.start, p.end, emptyScanState(layers, p.k, ds.classes.length, floors), job, { batchSize: p.batchSize });
  const header = {
    weightsHash: p.weightsHash,
    datasetHash: ds.hash,
    k: p.k,
    layers,
    classes: [...ds.classes],
    total: ds.size,
    next: p.end,
    start: p.start,
    complete: false,
    model: modelPath,
    source: ds.source,
    seconds: 0,
  };
  return encodeIndex(header, state);
}

/**
 * How many processes a scan may use: `FEATURE_LENS_SCAN_WORKERS`, else one per core (at most 4), divided by
 * the wasm threads each process runs (helpers inherit the thread setting), unless on native TensorFlow.
 */
export function scanWorkers(): number {
  const env = Number(process.env.FEATURE_LENS_SCAN_WORKERS);
  if (Number.isInteger(env) && env >= 1) return env;
  if (currentBackend() === 'tensorflow') return 1; // native TensorFlow already uses every core
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return Math.max(1, Math.min(4, Math.floor(cores / currentWasmThreads())));
}

/**
 * The cold-start rule's bound: new helpers start only when this process alone would need longer than this
 * for the rest (`FEATURE_LENS_SCAN_COLD_START_SECONDS`, e.g. 0 to always start them, as the tests that kill
 * helpers do; else `fallback`).
 */
export function coldStartSeconds(fallback: number): number {
  const s = Number(process.env.FEATURE_LENS_SCAN_COLD_START_SECONDS ?? NaN);
  return Number.isFinite(s) && s >= 0 ? s : fallback;
}

/**
 * The engine bundle to fork: `FEATURE_LENS_ENGINE`, or `engine.js` beside this bundle, or (running from the
 * sources) in the `dist/` of the nearest folder above this file that has one.
 */
export function helperEnginePath(): string | undefined {
  const above: string[] = [];
  for (let d = path.dirname(__dirname); d !== path.dirname(d); d = path.dirname(d)) above.push(path.join(d, 'dist', 'engine.js'));
  const candidates = [process.env.FEATURE_LENS_ENGINE, path.join(__dirname, 'engine.js'), ...above];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

/** How long an idle helper stays up for the next scan (`FEATURE_LENS_HELPER_IDLE_SECONDS`, default 120). */
function idleMs(): number {
  const s = Number(process.env.FEATURE_LENS_HELPER_IDLE_SECONDS);
  return (Number.isFinite(s) && s >= 0 ? s : 120) * 1000;
}

/**
 * A helper engine process serving `scanRange` requests. It takes more than one at a time: its engine runs
 * them in order, so the next chunk is already there when one ends, without a round trip to this process
 * (which may be busy with a batch of its own).
 */
export class ScanHelper {
  readonly child: ChildProcess;
  /** Resolves once the helper's engine is up; rejects if it dies first. */
  readonly ready: Promise<void>;
  private dead = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(s: ScanState): void; reject(e: unknown): void; onProgress(done: number): void; size: number }>();
  private stderr = '';
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly enginePath: string) {
    this.child = fork(enginePath, [], {
      serialization: 'advanced',
      env: { ...process.env, [ENGINE_ENV.serve]: '1', [ENGINE_ENV.backend]: currentBackend(), FEATURE_LENS_SCAN_WORKERS: '1' },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (raw) => {
        const m = raw as FromEngine;
        if (m.type === 'ready') resolve();
        else this.receive(m);
      });
      this.child.on('error', (e) => this.die(e));
      this.child.on('exit', (code, signal) => {
        const e = new Error(`A scan helper process exited (${signal ?? `code ${code}`}).${this.stderr ? ` ${this.stderr.trim().split('\n').pop()}` : ''}`);
        reject(e);
        this.die(e);
      });
    });
    this.ready.catch(() => {});
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Scans `[start, end)`; `onProgress` receives the images done in this range. */
  scan(params: ParamsOf<'scanRange'>, onProgress: (done: number) => void): Promise<ScanState> {
    if (this.dead) return Promise.reject(new Error('The scan helper process is gone.'));
    const id = this.nextId++;
    return new Promise<ScanState>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress, size: params.end - params.start });
      this.child.send({ type: 'request', id, method: 'scanRange', params });
    }).finally(() => this.pending.delete(id));
  }

  /** Asks every request to stop; each then rejects with CancelledError. */
  cancel(): void {
    if (this.dead) return;
    for (const id of this.pending.keys()) this.child.send({ type: 'cancel', id });
  }

  /** Stops the process. */
  kill(): void {
    this.dead = true;
    clearTimeout(this.idleTimer);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }

  /** In use: keeps this process alive. */
  hold(): void {
    clearTimeout(this.idleTimer);
    this.child.ref();
    (this.child.channel as { ref?(): void } | undefined)?.ref?.();
    (this.child.stderr as { ref?(): void } | null)?.ref?.();
  }

  /** Idle: does not keep this process alive, and exits after `ms`. */
  park(ms: number, onExpire: () => void): void {
    // The process, its IPC channel and its stderr pipe each keep this process's event loop alive.
    this.child.unref();
    (this.child.channel as { unref?(): void } | undefined)?.unref?.();
    (this.child.stderr as { unref?(): void } | null)?.unref?.();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.kill();
      onExpire();
    }, ms);
    this.idleTimer.unref();
  }

  private receive(m: FromEngine): void {
    const c = m.type === 'progress' || m.type === 'reply' ? this.pending.get(m.id) : undefined;
    if (!c) return;
    if (m.type === 'progress') {
      const f = (m.progress as Progress).fraction;
      if (f !== undefined) c.onProgress(Math.round(f * c.size));
    } else if (m.type === 'reply') {
      if ('err' in m.result) {
        const err = m.result.err;
        // A helper's own fault (out of memory, a wasm trap) ends that helper, not this engine: not relayed as engineDied.
        c.reject(
          err.code === 'cancelled'
            ? new CancelledError()
            : err.code === 'engineDied'
              ? new UserError('internal', `A scan helper process failed: ${err.message}`)
              : new UserError(err.code, err.message, err.file),
        );
        return;
      }
      const bytes = m.result.ok as Uint8Array;
      const decoded = decodeIndex(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes as ArrayBuffer));
      if (!decoded) c.reject(new Error('A scan helper process sent an unreadable result.'));
      else c.resolve(decoded.state);
    }
  }

  private die(e: unknown): void {
    this.dead = true;
    clearTimeout(this.idleTimer);
    for (const c of this.pending.values()) c.reject(e);
  }
}

/** Idle helpers by engine path. */
const pool = new Map<string, ScanHelper[]>();

/** Up to `count` idle helpers of `enginePath` from the pool (warm: their engine is up), now in use. */
export function idleHelpers(enginePath: string, count: number): ScanHelper[] {
  const idle = (pool.get(enginePath) ?? []).filter((h) => h.alive);
  const taken = idle.splice(0, count);
  pool.set(enginePath, idle);
  for (const h of taken) h.hold();
  return taken;
}

/** `count` helpers for `enginePath`: idle ones from the pool first, then new processes (starting). */
export function acquireHelpers(enginePath: string, count: number): ScanHelper[] {
  const taken = idleHelpers(enginePath, count);
  while (taken.length < count) {
    const h = new ScanHelper(enginePath);
    h.hold();
    taken.push(h);
  }
  return taken;
}

/** Returns helpers to the pool (dead ones are dropped). */
export function releaseHelpers(helpers: ScanHelper[]): void {
  const ms = idleMs();
  for (const h of helpers) {
    if (!h.alive) continue;
    if (ms === 0) {
      h.kill();
      continue;
    }
    const list = pool.get(h.enginePath) ?? [];
    list.push(h);
    pool.set(h.enginePath, list);
    h.park(ms, () =>
      pool.set(
        h.enginePath,
        (pool.get(h.enginePath) ?? []).filter((x) => x !== h),
      ),
    );
  }
}

/** Stops every pooled helper (tests; the engine's helpers otherwise exit with it). */
export function stopIdleHelpers(): void {
  for (const list of pool.values()) for (const h of list) h.kill();
  pool.clear();
}
