import * as vscode from 'vscode';
import type { Progress as EngineProgress } from '../shared/protocol';
import type { RequestOptions } from './engineClient';

/**
 * Runs a long engine job under a cancellable notification: engine progress moves the bar, the Cancel button
 * reaches the engine through the request's token.
 */
export function withEngineProgress<T>(title: string, run: (opts: RequestOptions) => Promise<T>, onProgress?: (p: EngineProgress) => void): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    let last = 0;
    return run({
      token,
      onProgress: (p) => {
        onProgress?.(p);
        const update: { message?: string; increment?: number } = {};
        if (p.message) update.message = p.message;
        else if (p.train) update.message = `epoch ${p.train.epoch}/${p.train.epochs}, batch ${p.train.batch}/${p.train.batches}, loss ${p.train.loss.toFixed(4)}, accuracy ${(100 * p.train.accuracy).toFixed(1)}%`;
        else if (p.objective !== undefined) update.message = `objective ${p.objective.toPrecision(4)}`;
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
}
