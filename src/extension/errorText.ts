// How failures read to the user: plain functions, so they can be tested without VS Code.
import { EngineRequestError } from './engineClient';

/** A host-side failure whose message is written for the user (anything else is shown as an internal error). */
export class UserFacingError extends Error {}

/** The full text of a failure, for the log. */
export function logMessage(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/**
 * Turns a failure into one short line for a notification or a page. Engine errors with a user-facing code and
 * `UserFacingError`s are shown as they are; internal errors and unexpected exceptions only say that `what`
 * failed, since their text is not written for the user (the full text goes to the log).
 */
export function shortMessage(e: unknown, what = 'Feature Lens'): string {
  let msg: string;
  if (e instanceof EngineRequestError && e.error.code !== 'internal')
    msg = e.error.file && !e.error.message.includes(e.error.file) ? `${e.error.file}: ${e.error.message}` : e.error.message;
  else if (e instanceof UserFacingError) msg = e.message;
  else return `${what} failed (internal error); see the log.`;
  const first = msg.split('\n')[0];
  return first.length > 300 ? `${first.slice(0, 297)}…` : first;
}

/** "featureLens.computeTopActivations" -> "Compute Top Activations" (the command's title without the category). */
export function commandTitle(id: string): string {
  const name = id.replace(/^featureLens\./, '');
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}
