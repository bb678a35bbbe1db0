import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserFacingError } from './failable';
import type { LensInfo, ModelInfo } from '../shared/protocol';
import { EXCLUDE_GLOB, isLensFile, isModelFile, LENS_GLOB, LENS_OR_MODEL_GLOB } from '../shared/modelFiles';
import type { EngineClient } from './engineClient';
import { orderCandidates, type TargetHint } from './targetHints';
import { layerHasNodes, formatShape, targetOf, type ModelsEntry } from './treeModel';

export type { TargetHint } from './targetHints';

/** What a command acts on. `model` is the model.json; `lens` the lens file when there is one. */
export interface Target {
  lens?: string;
  model?: string;
  layer?: number;
  node?: number;
  /** A dataset image (test split), for commands that show one. */
  image?: number;
}

export { EXCLUDE_GLOB, LENS_OR_MODEL_GLOB as MODEL_GLOB } from '../shared/modelFiles';

function isFileTarget(p: string): boolean {
  return isLensFile(p) || isModelFile(p);
}

/** Reads a command argument: a tree entry, a `Target`, a Uri (explorer menu), or nothing (palette). */
export function targetFromArg(arg: unknown): Target | undefined {
  if (!arg) return undefined;
  if (arg instanceof vscode.Uri) return fileTarget(arg.fsPath);
  if (typeof arg !== 'object') return undefined;
  const a = arg as Record<string, unknown>;
  if (typeof a.kind === 'string' && 'id' in a && a.kind !== 'image') return targetOf(arg as ModelsEntry);
  const t: Target = {};
  if (typeof a.lens === 'string') t.lens = a.lens;
  if (typeof a.model === 'string') t.model = a.model;
  for (const k of ['layer', 'node', 'image'] as const) {
    const v = a[k];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) t[k] = v;
  }
  return t.lens || t.model ? t : undefined;
}

function fileTarget(file: string): Target | undefined {
  if (isLensFile(file)) return { lens: file };
  if (isModelFile(file) || file.endsWith('.json')) return { model: file };
  return undefined;
}

/**
 * Resolves which lens/model a command acts on: the argument (the tree row it was invoked on, an explorer file),
 * else the lens or model file open in the active editor, else the only lens or model of the workspace; when more
 * than one could be meant it asks, listing first those the user is looking at (`hints`: the panel's model, the
 * tree's selection), never picking one of them silently.
 */
export async function pickTarget(
  engine: EngineClient,
  arg: unknown,
  opts: { needLens?: boolean; title: string; hints?: readonly TargetHint[] },
): Promise<Target | undefined> {
  const given = targetFromArg(arg);
  if (given && (!opts.needLens || given.lens)) return given;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && active.scheme === 'file' && isFileTarget(active.fsPath)) {
    const t = fileTarget(active.fsPath);
    if (t && (!opts.needLens || t.lens)) return t;
  }
  const files = await vscode.workspace.findFiles(opts.needLens ? LENS_GLOB : LENS_OR_MODEL_GLOB, EXCLUDE_GLOB, 500);
  if (files.length === 0) {
    throw new UserFacingError(
      opts.needLens
        ? 'No *.lens.json file in this workspace. Add one that names a model and a dataset.'
        : 'No *.lens.json or model file (model.json, .onnx, .keras, .h5) in this workspace.',
    );
  }
  // The models a lens names are listed through that lens. `lensPaths` reads only the lens file's JSON, so it
  // needs no permission (the gated `lens` request would ask about every lens just to build this list).
  const named = new Set<string>();
  await Promise.all(
    files
      .filter((f) => isLensFile(f.fsPath))
      .map(async (f) => {
        const r = await engine.requestUngated('lensPaths', { lens: f.fsPath });
        if ('ok' in r) for (const p of r.ok) named.add(path.resolve(p));
      }),
  );
  const candidates = files.filter((f) => isLensFile(f.fsPath) || !named.has(path.resolve(f.fsPath))).map((f) => f.fsPath);
  if (candidates.length === 1) return fileTarget(candidates[0]);
  // A hint that is a model named by a lens stands for that lens.
  const hints = (opts.hints ?? []).filter((h) => !opts.needLens || isLensFile(h.file));
  const ordered = orderCandidates(candidates, hints);
  const pick = await vscode.window.showQuickPick(
    ordered.map((c) => ({
      label: path.basename(c.file),
      description: vscode.workspace.asRelativePath(c.file),
      detail: c.why ? `$(eye) ${c.why}` : undefined,
      file: c.file,
    })),
    { title: opts.title, placeHolder: opts.needLens ? 'Which lens file?' : 'Which lens file or model?' },
  );
  return pick ? fileTarget(pick.file) : undefined;
}

/** Fills in `model` from the lens when only the lens is known; returns the lens info too. */
export async function resolveModel(engine: EngineClient, t: Target): Promise<{ target: Target & { model: string }; lens?: LensInfo }> {
  let lens: LensInfo | undefined;
  if (t.lens) {
    lens = await engine.call('lens', { lens: t.lens });
    if (!t.model) {
      if (!lens.modelExists)
        throw new UserFacingError(
          `${path.basename(t.lens)} names ${lens.model}, which does not exist yet.${lens.hasTraining ? ' Run "Feature Lens: Train Model" first.' : ''}`,
        );
    }
  }
  const model = t.model ?? lens!.model;
  return { target: { ...t, model }, lens };
}

/** Asks for a layer when the target has none (only layers with nodes when `withNodes`). */
export async function pickLayer(info: ModelInfo, t: Target, withNodes: boolean): Promise<number | undefined> {
  if (t.layer !== undefined) {
    if (t.layer >= info.layers.length)
      throw new UserFacingError(`Layer ${t.layer} does not exist: ${vscode.workspace.asRelativePath(info.path)} has ${info.layers.length} layers.`);
    return t.layer;
  }
  const layers = info.layers.filter((l) => !withNodes || layerHasNodes(l));
  const pick = await vscode.window.showQuickPick(
    layers.map((l) => ({ label: l.name, description: `${l.className} ${formatShape(l.outputShape)}`, index: l.index })),
    { title: 'Pick a layer', placeHolder: info.name },
  );
  return pick?.index;
}

/** Asks for a node of a layer when the target has none. */
export async function pickNode(info: ModelInfo, layer: number, t: Target): Promise<number | undefined> {
  const nodes = info.layers[layer].nodes;
  if (t.node !== undefined) {
    if (t.node >= nodes) throw new UserFacingError(`Node ${t.node} does not exist: layer ${info.layers[layer].name} has ${nodes} nodes.`);
    return t.node;
  }
  if (nodes === 1) return 0;
  const value = await vscode.window.showInputBox({
    title: `Node of ${info.layers[layer].name}`,
    prompt: `A node index from 0 to ${nodes - 1}`,
    value: '0',
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) < nodes ? undefined : `Enter a whole number from 0 to ${nodes - 1}.`),
  });
  return value === undefined ? undefined : Number(value.trim());
}
