import type { EngineRequest, FromEngine, MethodName, ParamsOf, Progress, ReplyOf, ToEngine } from '../../shared/protocol';
import { toEngineError, UserError } from '../runtime/errors';
import { makeJob, type Job } from '../runtime/job';

export type Handlers = { [M in MethodName]: (params: ParamsOf<M>, job: Job) => Promise<ReplyOf<M>> };

/**
 * Serves engine requests one at a time, in arrival order (tfjs is single-threaded; running one job at a time
 * bounds memory and makes replies come back in order). A cancel reaches a running job through its `Job`,
 * and removes a queued one with a `cancelled` reply.
 */
export class EngineServer {
  private readonly queue: EngineRequest[] = [];
  private running: { id: number; job: Job & { cancel(): void } } | undefined;

  constructor(
    private readonly handlers: Handlers,
    private readonly send: (msg: FromEngine) => void,
    /** Called after a request failed with an engine fault (out of memory, a wasm trap): the process must go. */
    private readonly onFault?: () => void,
    /** Whether the backend still computes (after a failed request: a trap may hide behind a wrapped message). */
    private readonly healthy?: () => boolean,
  ) {}

  receive(raw: unknown): void {
    const msg = raw as ToEngine;
    if (!msg || typeof msg !== 'object' || typeof (msg as { id?: unknown }).id !== 'number') {
      this.send({ type: 'log', level: 'warn', message: `Dropped a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}` });
      return;
    }
    if (msg.type === 'cancel') {
      if (this.running?.id === msg.id) this.running.job.cancel();
      const i = this.queue.findIndex((r) => r.id === msg.id);
      if (i >= 0) {
        this.queue.splice(i, 1);
        this.send({ type: 'reply', id: msg.id, result: { err: { code: 'cancelled', message: 'Cancelled.' } } });
      }
      return;
    }
    if (msg.type !== 'request' || !Object.prototype.hasOwnProperty.call(this.handlers, msg.method)) {
      this.send({
        type: 'reply',
        id: msg.id,
        result: { err: { code: 'badInput', message: `Unknown engine request: ${String((msg as { method?: unknown }).method ?? msg.type)}.` } },
      });
      return;
    }
    this.queue.push(msg);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const req = this.queue.shift()!;
      const job = makeJob((progress: Progress) => this.send({ type: 'progress', id: req.id, progress }));
      this.running = { id: req.id, job };
      try {
        const handler = this.handlers[req.method] as (p: unknown, j: Job) => Promise<unknown>;
        const value = await handler(req.params ?? {}, job);
        this.send({ type: 'reply', id: req.id, result: { ok: value } });
      } catch (e) {
        let err = toEngineError(e);
        let fault = err.code === 'engineDied' && !(e instanceof UserError);
        if (!fault && err.code !== 'cancelled' && this.healthy && !this.healthy()) {
          fault = true;
          err = {
            code: 'engineDied',
            message: `${err.message.replace(/\.?$/, '.')} The Feature Lens engine's memory was damaged by it (a WebAssembly fault); it restarts for the next request.`,
          };
        }
        if (err.code === 'internal') this.send({ type: 'log', level: 'error', message: `${req.method} failed: ${(e as Error)?.stack ?? err.message}` });
        this.send({ type: 'reply', id: req.id, result: { err } });
        if (fault && this.onFault) {
          // The backend's memory may be broken: serve nothing more; the host starts a fresh engine.
          this.send({ type: 'log', level: 'error', message: `${req.method} hit an engine fault; the engine exits: ${(e as Error)?.stack ?? err.message}` });
          this.queue.length = 0;
          this.onFault();
          return;
        }
      } finally {
        this.running = undefined;
      }
    }
  }
}
