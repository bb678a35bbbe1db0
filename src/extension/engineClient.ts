import { fork, type ChildProcess } from 'node:child_process';
import {
  ENGINE_ENV,
  type BackendSetting,
  type EngineError,
  type EngineStatus,
  type FromEngine,
  type LogLevel,
  type MethodName,
  type ParamsOf,
  type Progress,
  type ReplyOf,
  type Result,
} from '../shared/protocol';

/** The part of a vscode.CancellationToken the client needs (so it runs in plain Node too). */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface RequestOptions {
  onProgress?: (p: Progress) => void;
  token?: CancelToken;
}

export interface EngineClientOptions {
  /** The engine bundle (dist/engine.js). */
  enginePath: string;
  backend: () => BackendSetting;
  /** Threads for the wasm backend in each engine process; absent = the engine's default (1). */
  threads?: () => number;
  /** The engine's memory budget in MB (`featureLens.engine.maxMemoryMB`); absent or 0 = the engine's default. */
  maxMemoryMB?: () => number;
  log: (level: LogLevel, message: string) => void;
  /** Called when the engine (re)starts and reports its backend, and with undefined when it stops. */
  onStatus?: (status: EngineStatus | undefined) => void;
  /** Extra node flags for the engine, e.g. a heap limit. */
  execArgv?: string[];
  /**
   * Checked before each request is sent (the workspace guard): an error value answers the request instead.
   * Requests pass it one after another, so they still reach the engine in the order they were made.
   */
  gate?: (method: MethodName, params: unknown) => Promise<EngineError | undefined> | undefined;
}

/** An engine error as an exception, for callers that prefer try/catch. */
export class EngineRequestError extends Error {
  constructor(readonly error: EngineError) {
    super(error.message);
    this.name = 'EngineRequestError';
  }
}

interface Pending {
  method: MethodName;
  resolve: (r: Result<unknown>) => void;
  onProgress?: (p: Progress) => void;
  cancelListener?: { dispose(): void };
}

/**
 * Talks to the engine process: forks it on first use, sends requests, routes progress, forwards cancels.
 * If the engine dies, every pending request resolves with an `engineDied` error and the next request starts
 * a fresh engine. Never imports tfjs: all compute happens in the child.
 */
export class EngineClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;
  private _status: EngineStatus | undefined;
  private gateTail: Promise<void> = Promise.resolve();

  constructor(private readonly options: EngineClientOptions) {}

  get status(): EngineStatus | undefined {
    return this._status;
  }

  get running(): boolean {
    return !!this.child;
  }

  /** Sends a request (after the gate, if any); resolves with `{ok}` or `{err}`, never rejects. */
  request<M extends MethodName>(method: M, params: ParamsOf<M>, opts: RequestOptions = {}): Promise<Result<ReplyOf<M>>> {
    const gate = this.options.gate;
    if (!gate) return this.requestUngated(method, params, opts);
    const passed = this.gateTail.then(async (): Promise<{ err: EngineError } | { sent: Promise<Result<ReplyOf<M>>> }> => {
      let err: EngineError | undefined;
      try {
        err = await gate(method, params);
      } catch (e) {
        err = { code: 'internal', message: `Could not check the request: ${(e as Error)?.message ?? String(e)}` };
      }
      if (err) return { err };
      if (opts.token?.isCancellationRequested) return { err: { code: 'cancelled', message: 'Cancelled.' } };
      return { sent: this.requestUngated(method, params, opts) };
    });
    this.gateTail = passed.then(
      () => undefined,
      () => undefined,
    );
    return passed.then((r) => ('sent' in r ? r.sent : r));
  }

  /** Sends a request without passing the gate (the gate's own questions to the engine use this). */
  requestUngated<M extends MethodName>(method: M, params: ParamsOf<M>, opts: RequestOptions = {}): Promise<Result<ReplyOf<M>>> {
    if (this.disposed) return Promise.resolve({ err: { code: 'engineDied', message: 'Feature Lens is shutting down.' } });
    if (opts.token?.isCancellationRequested) return Promise.resolve({ err: { code: 'cancelled', message: 'Cancelled.' } });
    const child = this.ensureStarted();
    const id = this.nextId++;
    return new Promise<Result<ReplyOf<M>>>((resolve) => {
      const entry: Pending = { method, resolve: resolve as (r: Result<unknown>) => void, onProgress: opts.onProgress };
      entry.cancelListener = opts.token?.onCancellationRequested(() => this.cancel(id));
      this.pending.set(id, entry);
      try {
        child.send({ type: 'request', id, method, params });
      } catch (e) {
        this.settle(id, { err: { code: 'engineDied', message: `Could not reach the Feature Lens engine: ${(e as Error).message}` } });
      }
    });
  }

  /** Like `request`, but throws an EngineRequestError on `{err}`. */
  async call<M extends MethodName>(method: M, params: ParamsOf<M>, opts?: RequestOptions): Promise<ReplyOf<M>> {
    const r = await this.request(method, params, opts);
    if ('err' in r) throw new EngineRequestError(r.err);
    return r.ok;
  }

  cancel(id: number): void {
    if (this.pending.has(id)) this.child?.send({ type: 'cancel', id });
  }

  /** Stops the engine (pending requests fail); the next request starts a new one (e.g. after a backend change). */
  restart(reason = 'The engine was restarted.'): void {
    const child = this.child;
    if (!child) return;
    this.detach(child, reason);
    child.kill();
  }

  dispose(): void {
    this.disposed = true;
    this.restart('Feature Lens is shutting down.');
  }

  /** The methods of the requests sent and not yet answered, oldest first (a page that waits says for what). */
  pendingMethods(): MethodName[] {
    return [...this.pending.values()].map((p) => p.method);
  }

  /** The engine's process id, if it is running (tests kill it to check recovery). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private ensureStarted(): ChildProcess {
    if (this.child) return this.child;
    const backend = this.options.backend();
    const threads = this.options.threads?.() ?? 0;
    const env: NodeJS.ProcessEnv = { ...process.env, [ENGINE_ENV.serve]: '1', [ENGINE_ENV.backend]: backend, ELECTRON_RUN_AS_NODE: '1' };
    if (threads > 0) env[ENGINE_ENV.wasmThreads] = String(threads);
    const maxMemoryMB = this.options.maxMemoryMB?.() ?? 0;
    if (maxMemoryMB > 0) env[ENGINE_ENV.maxMemoryMB] = String(maxMemoryMB);
    const child = fork(this.options.enginePath, [], {
      serialization: 'advanced',
      env,
      execArgv: this.options.execArgv ?? [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    this.options.log('info', `Engine starting (pid ${child.pid}, backend setting ${backend}).`);
    child.stdout?.on('data', (d: Buffer) => this.options.log('debug', `engine: ${d.toString().trimEnd()}`));
    child.stderr?.on('data', (d: Buffer) => this.options.log('warn', `engine: ${d.toString().trimEnd()}`));
    child.on('message', (m) => this.receive(m as FromEngine));
    child.on('error', (e) => this.options.log('error', `Engine process error: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      const how = signal ? `was killed (${signal}${signal === 'SIGKILL' ? ', possibly out of memory' : ''})` : `exited with code ${code}`;
      this.detach(child, `The Feature Lens engine ${how}. It restarts on the next request.`);
    });
    return child;
  }

  private detach(child: ChildProcess, reason: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this._status = undefined;
    this.options.onStatus?.(undefined);
    const ids = [...this.pending.keys()];
    if (ids.length) this.options.log('error', `${reason} ${ids.length} request(s) failed: ${ids.map((i) => this.pending.get(i)!.method).join(', ')}.`);
    for (const id of ids) {
      const method = this.pending.get(id)!.method;
      this.settle(id, { err: { code: 'engineDied', message: `${reason} (while running ${method})` } });
    }
  }

  private settle(id: number, result: Result<unknown>): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.cancelListener?.dispose();
    p.resolve(result);
  }

  private receive(m: FromEngine): void {
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'ready':
        this._status = m.status;
        this.options.log(
          'info',
          `Engine ready: backend ${m.status.backend}${m.status.backendNote ? ` (${m.status.backendNote})` : ''}, tfjs ${m.status.tfjsVersion}.`,
        );
        this.options.onStatus?.(m.status);
        break;
      case 'reply':
        this.settle(m.id, m.result);
        // The engine answers an out-of-memory or a WebAssembly trap with engineDied and exits: replace it now, so
        // the next request starts a fresh engine instead of reaching one that is going away.
        if (m.result && 'err' in m.result && m.result.err?.code === 'engineDied') this.restart(m.result.err.message);
        break;
      case 'progress':
        this.pending.get(m.id)?.onProgress?.(m.progress);
        break;
      case 'log':
        this.options.log(m.level, m.message);
        break;
      default:
        this.options.log('warn', `Dropped an unknown message from the engine: ${JSON.stringify(m).slice(0, 200)}`);
    }
  }
}
