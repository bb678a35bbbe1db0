import type { Progress } from '../../shared/protocol';
import { CancelledError } from './errors';

/** What a long method gets from the engine: a cancel flag and a progress sink. */
export interface Job {
  readonly cancelled: boolean;
  /** Throws CancelledError when the job was cancelled; call it between batches. */
  throwIfCancelled(): void;
  progress(p: Progress): void;
}

/** A job that is never cancelled and reports progress to `onProgress` (tests, the CLI). */
export function makeJob(onProgress: (p: Progress) => void = () => {}): Job & { cancel(): void } {
  let cancelled = false;
  return {
    get cancelled() {
      return cancelled;
    },
    cancel() {
      cancelled = true;
    },
    throwIfCancelled() {
      if (cancelled) throw new CancelledError();
    },
    progress: onProgress,
  };
}

/** Lets queued message handlers (cancel) run; call between batches of a long synchronous loop. */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
