/** Export Panel as PNG: the webview composes its canvases into one PNG, the host saves it where the user says. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserFacingError } from './errorText';

const EXPORT_FOLDER_KEY = 'featureLens.exportFolder';
/** How long the webview may take to compose the PNG. */
const EXPORT_TIMEOUT_MS = 30000;

/** One PNG request to the webview at a time: a second one supersedes the first (which resolves empty). */
export class PngRequest {
  private pending: ((bytes: Uint8Array | undefined) => void) | undefined;

  /** Sends the request (`ask`) and resolves with the webview's PNG, or undefined (superseded, timed out, closed). */
  async request(ask: () => void): Promise<Uint8Array | undefined> {
    let timer: NodeJS.Timeout | undefined;
    let mine: ((data: Uint8Array | undefined) => void) | undefined;
    const bytes = await new Promise<Uint8Array | undefined>((resolve) => {
      this.pending?.(undefined);
      mine = resolve;
      this.pending = resolve;
      ask();
      timer = setTimeout(() => resolve(undefined), EXPORT_TIMEOUT_MS);
    });
    clearTimeout(timer);
    if (this.pending === mine) this.pending = undefined;
    return bytes;
  }

  /** The webview's answer (`exportPng`); undefined ends a pending request empty. */
  answer(bytes: Uint8Array | undefined): void {
    this.pending?.(bytes);
  }
}

/**
 * Asks where to save `bytes` (proposed: the folder of the last export, else beside `near`), writes them and offers
 * to open or reveal the file.
 */
export async function savePng(
  bytes: Uint8Array | undefined,
  title: string,
  near: string,
  state: vscode.Memento | undefined,
  log: vscode.LogOutputChannel,
): Promise<void> {
  if (!bytes) throw new UserFacingError('The inspector panel did not produce an image.');
  const name = `${title.replace(/^Feature Lens: /, '').replace(/[^\w.-]+/g, '_')}.png`;
  const last = state?.get<string>(EXPORT_FOLDER_KEY);
  const folder = vscode.Uri.file(last ?? path.dirname(near));
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.joinPath(folder, name),
    filters: { 'PNG image': ['png'] },
    title: 'Export Panel as PNG',
  });
  if (!target) return;
  await vscode.workspace.fs.writeFile(target, bytes);
  await state?.update(EXPORT_FOLDER_KEY, path.dirname(target.fsPath));
  log.info(`Exported the panel to ${target.fsPath} (${bytes.byteLength} bytes).`);
  const inWorkspace = !!vscode.workspace.getWorkspaceFolder(target);
  const reveal = inWorkspace ? 'Reveal in Explorer' : 'Reveal in File Manager';
  const pick = await vscode.window.showInformationMessage(`Feature Lens: saved ${vscode.workspace.asRelativePath(target)}.`, 'Open', reveal);
  if (pick === 'Open') await vscode.commands.executeCommand('vscode.open', target);
  else if (pick === reveal) await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', target);
}
