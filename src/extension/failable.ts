import * as vscode from 'vscode';
import { EngineRequestError } from './engineClient';
import { commandTitle, logMessage, shortMessage } from './errorText';

export { logMessage, shortMessage, UserFacingError } from './errorText';

function isCancelled(e: unknown): boolean {
  return (e instanceof EngineRequestError && e.error.code === 'cancelled') || e instanceof vscode.CancellationError;
}

/** Logs a failure and shows it as one message with a "Show Log" action. */
export async function reportError(log: vscode.LogOutputChannel, what: string, e: unknown): Promise<void> {
  if (isCancelled(e)) {
    log.info(`${what}: cancelled.`);
    return;
  }
  log.error(`${what} failed: ${logMessage(e)}`);
  const choice = await vscode.window.showErrorMessage(`Feature Lens: ${shortMessage(e, what)}`, 'Show Log');
  if (choice === 'Show Log') log.show(true);
}

/**
 * Registers a command whose failures are logged and shown once, instead of surfacing as an unhandled
 * rejection (hediet/vscode-drawio's `registerFailableCommand`).
 */
export function registerFailableCommand(log: vscode.LogOutputChannel, id: string, run: (...args: never[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await run(...(args as never[])); // VS Code passes a command's arguments untyped
    } catch (e) {
      await reportError(log, commandTitle(id), e);
      return undefined;
    }
  });
}
