import * as path from 'node:path';
import * as vscode from 'vscode';
import { IMAGE_FILE_EXTENSIONS, type ProjectionMethod } from '../shared/protocol';
import { toPixels, type PickedImageView } from '../shared/webviewProtocol';
import type { EngineClient } from './engineClient';
import { shortMessage } from './failable';

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
 * The node page's picked-image column: one engine request (the image read and fitted to the model's input,
 * the node's feature map, its projection by `method`). A file that cannot be read (moved, damaged, not an
 * image) is one line on the page, not an error page: the rest of the node page still shows.
 */
export async function pickedImageView(engine: EngineClient, model: string, file: string, layer: number, node: number, method: ProjectionMethod | undefined): Promise<PickedImageView> {
  const name = vscode.workspace.asRelativePath(file);
  try {
    const r = await engine.call('inspectImage', { model, file, layer, node, method });
    return {
      name,
      image: toPixels(r.image.shape, r.image.data),
      featureMap: toPixels(r.featureMap.shape, r.featureMap.data),
      score: r.score,
      ...(r.projection ? { projection: toPixels(r.projection.shape, r.projection.data) } : {}),
      ...(r.projectionError ? { projectionError: r.projectionError } : {}),
    };
  } catch (e) {
    return { name, error: shortMessage(e, 'Feature Lens: picked image') };
  }
}
