import * as path from 'node:path';
import * as vscode from 'vscode';
import { IMAGE_FILE_EXTENSIONS } from '../shared/protocol';

const KEY = 'featureLens.pickedImages';
/** Without workspace state (tests): kept for the session only. */
const sessionPicks = new Map<string, string>();

/**
 * The image file the user picked for each model without a lens file (model path → image path, absolute). Kept
 * in the workspace state, so reopening the node page, another node of the model, the model's editor or a
 * reloaded window shows it again until it is cleared.
 */
export class PickedImages {
  constructor(private readonly state?: vscode.Memento) {}

  get(model: string): string | undefined {
    const key = path.resolve(model);
    if (!this.state) return sessionPicks.get(key);
    const v = this.state.get<Record<string, unknown>>(KEY)?.[key];
    return typeof v === 'string' ? v : undefined;
  }

  /** A page's view of the pick for `model` (PageContext `picked`), with the file's workspace-relative name. */
  context(model: string): { picked?: { file: string; name: string } } {
    const file = this.get(model);
    return file ? { picked: { file, name: vscode.workspace.asRelativePath(file) } } : {};
  }

  async set(model: string, file: string | undefined): Promise<void> {
    const key = path.resolve(model);
    if (!this.state) {
      if (file) sessionPicks.set(key, file);
      else sessionPicks.delete(key);
      return;
    }
    const all = { ...(this.state.get<Record<string, string>>(KEY) ?? {}) };
    if (file) all[key] = file;
    else delete all[key];
    await this.state.update(KEY, all);
  }
}

/** Asks for an image file (PNG or JPEG, what the engine decodes), starting in the model's folder; undefined when cancelled. */
export async function pickImageFile(model: string, current?: string): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: `Pick an image to see ${path.basename(model)}'s nodes through`,
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(current ? path.dirname(current) : (vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(model))),
    filters: { Images: [...IMAGE_FILE_EXTENSIONS] },
    openLabel: 'Pick Image',
  });
  return picked?.[0]?.fsPath;
}

/**
 * The panel's answer to `pickImage` / `clearImage` on a node page of `model`: asks for the file (or forgets it),
 * then redraws the page when something changed. Returns whether it did.
 */
export async function answerPick(type: 'pickImage' | 'clearImage', model: string, picks: PickedImages, log: { info(m: string): void }): Promise<boolean> {
  if (type === 'clearImage') {
    await picks.set(model, undefined);
    return true;
  }
  const file = await pickImageFile(model, picks.get(model));
  if (!file) return false;
  await picks.set(model, file);
  log.info(`Picked ${file} for ${model}.`);
  return true;
}
