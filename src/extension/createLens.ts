import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import { freeLensPath, lensForModel } from './lensTemplate';

/**
 * "Create Lens File…" on the model page of a model without one: asks for the image folder, writes the lens
 * file beside the model (never over an existing file) and opens it. Returns its path, or undefined when cancelled.
 */
export async function createLensFile(engine: EngineClient, model: string): Promise<string | undefined> {
  const info = await engine.call('modelInfo', { model });
  const picked = await vscode.window.showOpenDialog({
    title: `Create Lens File for ${path.basename(model)}: the dataset, a folder with one subfolder of images per class`,
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(path.dirname(model)),
    openLabel: 'Use as Dataset',
  });
  if (!picked?.length) return undefined;
  const file = freeLensPath(model);
  const lens = lensForModel(info, file, model, picked[0].fsPath);
  // `wx`: a file that appeared since is never overwritten.
  await fs.promises.writeFile(file, `${JSON.stringify(lens, null, 2)}\n`, { flag: 'wx' });
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false, viewColumn: vscode.ViewColumn.One });
  return file;
}
