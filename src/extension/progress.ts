import * as vscode from 'vscode';
import type { Progress as EngineProgress } from '../shared/protocol';
import { EngineRequestError, type RequestOptions } from './engineClient';
import { ProgressMeter } from './progressMeter';

/**
 * Runs a long engine job under a cancellable notification: engine progress moves the bar (with throughput and
 * the time left when the engine counts its work), the Cancel button reaches the engine through the request's
 * token, and a cancelled job says so (`cancelled`: what was kept; the job still rejects, for the caller).
 */
export async function withEngineProgress<T>(
  title: string,
  run: (opts: RequestOptions) => Promise<T>,
  onProgress?: (p: EngineProgress) => void,
  cancelled?: string,
): Promise<T> {
  let cancelledByUser = false;
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      let last = 0;
      const meter = new ProgressMeter();
      token.onCancellationRequested(() => (cancelledByUser = true));
      return run({
        token,
        onProgress: (p) => {
          onProgress?.(p);
          const update: { message?: string; increment?: number } = {};
          const message = meter.message(p);
          if (message) update.message = message;
          if (p.fraction !== undefined && Number.isFinite(p.fraction)) {
            const pct = Math.max(0, Math.min(100, p.fraction * 100));
            if (pct > last) {
              update.increment = pct - last;
              last = pct;
            }
          }
          progress.report(update);
        },
      });
    });
  } catch (e) {
    if (cancelledByUser && e instanceof EngineRequestError && e.error.code === 'cancelled') {
      void vscode.window.showInformationMessage(`${title} cancelled.${cancelled ? ` ${cancelled}` : ''}`);
    }
    throw e;
  }
}
