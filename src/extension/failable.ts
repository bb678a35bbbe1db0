import * as vscode from 'vscode';
import { EngineRequestError } from './engineClient';

/** Turns any failure into one short line for a notification (the full text goes to the log). */
export function shortMessage(e: unknown): string {
  const msg = e instanceof EngineRequestError ? (e.error.file && !e.error.message.includes(e.error.file) ? `${e.error.file}: ${e.error.message}` : e.error.message) : e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0];
  return first.length > 300 ? `${first.slice(0, 297)}…` : first;
}

export function isCancelled(e: unknown): boolean {
  return (e instanceof EngineRequestError && e.error.code === 'cancelled') || e instanceof vscode.CancellationError;
}

/** Logs a failure and shows it as one message with a "Show Log" action. */
export async function reportError(log: vscode.LogOutputChannel, what: string, e: unknown): Promise<void> {
  if (isCancelled(e)) {
    log.info(`${what}: cancelled.`);
    return;
  }
  log.error(`${what} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  const choice = await vscode.window.showErrorMessage(`Feature Lens: ${shortMessage(e)}`, 'Show Log');
  if (choice === 'Show Log') log.show(true);
}

/**
 * Registers a command whose failures are logged and shown once, instead of surfacing as an unhandled
 * rejection (hediet/vscode-drawio's `registerFailableCommand`).
 */
export function registerFailableCommand(log: vscode.LogOutputChannel, id: string, run: (...args: any[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await run(...args);
    } catch (e) {
      await reportError(log, id, e);
      return undefined;
    }
  });
}
