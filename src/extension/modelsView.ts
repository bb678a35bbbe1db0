import * as path from 'node:path';
import * as vscode from 'vscode';
import { isLensFile } from '../shared/modelFiles';
import type { LensInfo, ModelInfo } from '../shared/protocol';
import { Disposable } from './dispose';
import type { EngineClient } from './engineClient';
import { logMessage, shortMessage } from './failable';
import { EXCLUDE_GLOB, MODEL_GLOB } from './targets';
import { itemView, layerChildren, modelChildren, modelEntries, modelPathOf, parentOf, type ItemView, type ModelEntry, type ModelsEntry } from './treeModel';

/** Turns a plain `ItemView` into a TreeItem. */
export function toTreeItem(id: string, v: ItemView): vscode.TreeItem {
  const item = new vscode.TreeItem(
    v.label,
    v.collapsible === 'none'
      ? vscode.TreeItemCollapsibleState.None
      : v.collapsible === 'expanded'
        ? vscode.TreeItemCollapsibleState.Expanded
        : vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.id = id;
  item.description = v.description;
  item.tooltip = v.tooltip;
  item.contextValue = v.contextValue;
  if (v.iconFile) item.iconPath = vscode.Uri.file(v.iconFile);
  else if (v.icon) item.iconPath = new vscode.ThemeIcon(v.icon);
  if (v.command) item.command = { command: v.command.id, title: v.label, arguments: v.command.args };
  return item;
}

/**
 * The Models view: every lens file and model.json in the workspace, their layers and nodes. The tree's shape
 * lives in `treeModel.ts`; this class fetches (files from the workspace, infos from the engine) and caches.
 */
export class ModelsView extends Disposable implements vscode.TreeDataProvider<ModelsEntry> {
  private readonly changed = this._register(new vscode.EventEmitter<ModelsEntry | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Promise<ModelEntry[]> | undefined;
  private readonly infos = new Map<string, Promise<{ info?: ModelInfo; error?: string }>>();
  private readonly children = new Map<string, ModelsEntry[]>();
  /** Model files named by lenses, so the watcher can follow models outside the default globs. */
  modelFiles: string[] = [];
  private readonly onModelsListed = this._register(new vscode.EventEmitter<string[]>());
  readonly onDidListModels = this.onModelsListed.event;
  /** Fired with the top-level entries whenever what is known of their problems changed (the Problems panel follows). */
  private readonly onProblems = this._register(new vscode.EventEmitter<readonly ModelEntry[]>());
  readonly onDidChangeProblems = this.onProblems.event;
  /** Top-level entries checked in the background (model loads, index present) per listing, at most. */
  static readonly CHECK_CAP = 50;

  constructor(
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
    /** Workspace storage, where the top-activation indexes are: to tell "index ready". */
    private readonly storageDir?: () => Promise<string>,
  ) {
    super();
  }

  /** Forgets everything and redraws; entry ids are stable, so expanded nodes stay expanded. */
  refresh(): void {
    this.roots = undefined;
    this.infos.clear();
    this.children.clear();
    this.changed.fire(undefined);
  }

  getTreeItem(e: ModelsEntry): vscode.TreeItem {
    return toTreeItem(e.id, itemView(e));
  }

  getParent(e: ModelsEntry): ModelsEntry | undefined {
    return parentOf(e);
  }

  async getChildren(e?: ModelsEntry): Promise<ModelsEntry[]> {
    if (!e) return this.getRoots();
    const cached = this.children.get(e.id);
    if (cached) return cached;
    let kids: ModelsEntry[] = [];
    if (e.kind === 'model') {
      const modelPath = modelPathOf(e);
      const exists = e.lens ? e.lens.modelExists : true;
      const { info, error } = modelPath && exists && !e.error ? await this.modelInfo(modelPath) : { info: undefined, error: undefined };
      kids = modelChildren(e, info, error);
    } else if (e.kind === 'layer') kids = layerChildren(e);
    this.children.set(e.id, kids);
    return kids;
  }

  /** The model's info from the engine, cached until the next refresh. */
  modelInfo(model: string): Promise<{ info?: ModelInfo; error?: string }> {
    let p = this.infos.get(model);
    if (!p) {
      p = this.engine.call('modelInfo', { model }).then(
        (info) => ({ info }),
        (e) => {
          this.log.warn(`Could not read ${model}: ${logMessage(e)}`);
          return { error: withoutPath(shortMessage(e, 'Reading the model'), model) };
        },
      );
      this.infos.set(model, p);
    }
    return p;
  }

  /** Finds the entry for a target (for `reveal`). */
  async find(model: string, layer?: number, node?: number): Promise<ModelsEntry | undefined> {
    const roots = await this.getRoots();
    const root = roots.find((r) => modelPathOf(r) && path.resolve(modelPathOf(r)!) === path.resolve(model));
    if (!root || layer === undefined) return root;
    const layers = await this.getChildren(root);
    const le = layers.find((l) => l.kind === 'layer' && l.layer.index === layer);
    if (!le || node === undefined) return le;
    const nodes = await this.getChildren(le);
    return nodes.find((n) => n.kind === 'node' && n.node === node) ?? le;
  }

  private getRoots(): Promise<ModelEntry[]> {
    if (!this.roots) {
      const roots = this.listRoots();
      this.roots = roots;
      void roots.then((entries) => this.checkStatus(entries, roots)).catch((e) => this.log.debug(`status check: ${String(e)}`));
    }
    return this.roots;
  }

  /**
   * Fills in each row's status in the background, one entry after the other: whether its model loads (a broken
   * model is marked on its row and in the Problems panel without being expanded) and whether an index is stored.
   */
  private async checkStatus(entries: ModelEntry[], listing: Promise<ModelEntry[]>): Promise<void> {
    this.onProblems.fire(entries);
    for (const e of entries.slice(0, ModelsView.CHECK_CAP)) {
      if (this.roots !== listing) return;
      const model = modelPathOf(e);
      if (!model || e.error || (e.lens && !e.lens.modelExists)) continue;
      const { error } = await this.modelInfo(model);
      if (this.roots !== listing) return;
      if (error) {
        e.modelError = error;
        this.changed.fire(e);
        this.onProblems.fire(entries);
        continue;
      }
      if (e.lens && !e.lens.datasetError && this.storageDir) {
        const r = await this.engine.request('layerByClass', { lens: e.lens.path, storageDir: await this.storageDir(), indexOnly: true });
        if (this.roots !== listing) return;
        if ('ok' in r && r.ok) {
          e.indexReady = true;
          this.changed.fire(e);
        }
      }
    }
  }

  private async listRoots(): Promise<ModelEntry[]> {
    const uris = await vscode.workspace.findFiles(MODEL_GLOB, EXCLUDE_GLOB, 2000);
    const files = uris.map((u) => ({ path: u.fsPath, relative: vscode.workspace.asRelativePath(u) }));
    const lenses = new Map<string, LensInfo | { error: string }>();
    const lensFiles = files.filter((f) => isLensFile(f.path));
    await Promise.all(
      lensFiles.map(async (f) => {
        try {
          lenses.set(f.path, await this.engine.call('lens', { lens: f.path }));
        } catch (e) {
          this.log.warn(`Could not read ${f.relative}: ${logMessage(e)}`);
          lenses.set(f.path, { error: withoutPath(shortMessage(e, 'Reading the lens file'), f.path) });
        }
      }),
    );
    const entries = modelEntries(files, lenses);
    this.modelFiles = [...lenses.values()].flatMap((l) => ('model' in l ? [l.model] : []));
    this.onModelsListed.fire(this.modelFiles);
    void vscode.commands.executeCommand('setContext', 'featureLens:hasModel', entries.length > 0);
    // "No lens file … yet" only once the workspace was searched (a listing can wait on the question of a lens
    // naming files outside the workspace, and an empty view would claim there is none).
    void vscode.commands.executeCommand('setContext', 'featureLens:modelsListed', true);
    return entries;
  }
}

/** A tree label has little room: the file's own path at the front of its error message becomes its name. */
function withoutPath(message: string, file: string): string {
  return message.startsWith(file) ? path.basename(file) + message.slice(file.length) : message;
}
