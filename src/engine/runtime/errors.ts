import type { EngineError, ErrorCode } from '../../shared/protocol';

/**
 * An error the user can act on: a bad model, dataset, lens file or parameter. Its message is shown as is,
 * so phrase it for the person who gave the input, and name the file when there is one.
 */
export class UserError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(oneLine(file && !message.includes(file) ? `${file}: ${message}` : message));
    this.name = 'UserError';
  }
}

/** Messages are shown as one notification line: no control characters, and at most 500 characters. */
function oneLine(message: string): string {
  const flat = message.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return flat.length > 500 ? `${flat.slice(0, 499)}…` : flat;
}

export class CancelledError extends UserError {
  constructor() {
    super('cancelled', 'Cancelled.');
  }
}

/** Throws a `badInput` UserError when `cond` is false (tf.util.assert, phrased for the user). */
export function check(cond: unknown, message: string | (() => string), file?: string): asserts cond {
  if (!cond) throw new UserError('badInput', typeof message === 'function' ? message() : message, file);
}

/** Converts anything thrown into the plain error value that crosses the process boundary. */
export function toEngineError(e: unknown): EngineError {
  if (!(e instanceof UserError) && isEngineFault(e)) return { code: 'engineDied', message: engineFaultMessage(e) };
  if (e instanceof UserError) return { code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}) };
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOENT' && err.path) return { code: 'notFound', message: `${err.path}: file not found.`, file: err.path };
  if (err && (err.code === 'EACCES' || err.code === 'EROFS' || err.code === 'ENOSPC') && err.path) {
    return { code: 'badInput', message: `${err.path}: ${err.code === 'ENOSPC' ? 'no space left on the disk' : 'not writable'} (${err.code}).`, file: err.path };
  }
  const message = err instanceof Error ? err.message : String(e);
  return { code: 'internal', message: message || 'Unknown error in the engine.' };
}

/**
 * Whether an error means the engine itself is broken, not the input: out of memory, or a WebAssembly trap (after
 * "memory access out of bounds" the wasm backend's memory is undefined, and every later request would fail).
 * The server answers such a request with an `engineDied` error and the process exits, so the host starts a
 * fresh engine for the next request.
 */
export function isEngineFault(e: unknown): boolean {
  // WebAssembly.RuntimeError (a trap); matched by name: the engine's types include no DOM/WebAssembly lib
  if (e instanceof Error && e.name === 'RuntimeError') return true;
  const msg = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  return /memory access out of bounds|Array buffer allocation failed|Aborted\(|Cannot enlarge memory|out of memory|WebAssembly\.Memory|Maximum memory size/i.test(
    msg,
  );
}

/** The one line a request that hit an engine fault fails with. */
export function engineFaultMessage(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
  const oom = /allocation failed|enlarge memory|out of memory|maximum memory/i.test(msg);
  return `The Feature Lens engine ${oom ? 'ran out of memory' : 'hit a WebAssembly fault, as when a computation outgrows its memory'} (${msg}); it restarts for the next request.`;
}
