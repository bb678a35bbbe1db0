import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendSetting } from '../shared/protocol';
import { EngineClient } from './engineClient';

// OWNER: UI helper. Minimal activation: the engine client, the log and the backend in the status bar.
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Feature Lens', { log: true });
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 10);
  const engine = new EngineClient({
    enginePath: path.join(context.extensionPath, 'dist', 'engine.js'),
    backend: () => vscode.workspace.getConfiguration('featureLens').get<BackendSetting>('engine.backend', 'auto'),
    log: (level, message) => log[level](message),
    onStatus: (s) => {
      status.text = s ? `$(pulse) ${s.backend}` : '$(circle-outline) engine idle';
      status.show();
    },
  });
  context.subscriptions.push(log, status, { dispose: () => engine.dispose() });
}

export function deactivate(): void {}
