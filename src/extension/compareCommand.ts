/**
 * "Feature Lens: Compare With…": the lens file A (the row the command runs on, or asked for), then the other
 * lens file B from a quick pick of the workspace's lens files, then the comparison page of the two models.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PanelState } from '../shared/webviewProtocol';
import { EXCLUDE_GLOB, isLensFile, LENS_GLOB } from '../shared/modelFiles';
import type { EngineClient } from './engineClient';
import { UserFacingError } from './failable';
import { pickTarget, resolveModel, type TargetHint } from './targets';

export async function compareWith(app: { engine: EngineClient; hints(): TargetHint[]; showPanel(s: PanelState): unknown }, arg?: unknown): Promise<void> {
  const t0 = await pickTarget(app.engine, arg, { title: 'Compare With… (model A)', needLens: true, hints: app.hints() });
  if (!t0?.lens) return;
  const a = path.resolve(t0.lens);
  const others = (await vscode.workspace.findFiles(LENS_GLOB, EXCLUDE_GLOB, 500)).map((f) => f.fsPath).filter((f) => isLensFile(f) && path.resolve(f) !== a);
  if (others.length === 0) throw new UserFacingError(`No other *.lens.json file in this workspace to compare ${path.basename(a)} with.`);
  others.sort((x, y) => x.localeCompare(y));
  const pick = await vscode.window.showQuickPick(
    others.map((f) => ({ label: path.basename(f), description: vscode.workspace.asRelativePath(f), file: f })),
    { title: `Feature Lens: Compare ${path.basename(a)} With…`, placeHolder: 'Which lens file (model B)?', matchOnDescription: true },
  );
  if (!pick) return;
  // The guard asks about both lens files (their paths outside the workspace) when the page's request runs.
  const { target } = await resolveModel(app.engine, t0);
  app.showPanel({ page: 'compare', lens: target.lens, model: target.model, other: pick.file });
}
