import * as path from 'node:path';
import * as vscode from 'vscode';
import { SCORE_METRIC_PHRASES, type EngineStatus } from '../shared/protocol';
import type { PanelState } from '../shared/webviewProtocol';
import { isModelFile, LENS_GLOB, MODEL_FILE_GLOB } from '../shared/modelFiles';
import { registerCommands, type CommandHost } from './commands';
import { Disposable } from './dispose';
import { EngineClient } from './engineClient';
import { InspectorPanel, type PanelDeps } from './inspectorPanel';
import { registerModelEditor } from './modelEditor';
import { ModelsView } from './modelsView';
import { backendSetting, BACKEND_KEY, MAX_MEMORY_KEY, maxMemorySetting, RANK_BY_KEY, rankBySetting, threadsSetting, THREADS_KEY } from './settings';
import type { TargetHint } from './targets';
import { TopView } from './topView';
import { ViewOptions } from './viewOptions';
import { createLensGuard, type LensGuard } from './workspaceGuard';
import { targetOf, type ModelsEntry } from './treeModel';
import { LensProblems } from './problems';
import { registerCodeInsight } from './codeInsight';
import { registerWalkthrough } from './walkthrough';

/** Everything the extension owns while it is active. */
class FeatureLens extends Disposable implements CommandHost {
  readonly log = this._register(vscode.window.createOutputChannel('Feature Lens', { log: true }));
  private readonly status = this._register(vscode.window.createStatusBarItem('featureLens.backend', vscode.StatusBarAlignment.Right, 10));
  readonly engine: EngineClient;
  /**
   * A second engine process for long jobs (training, scans, activation maximization), so that pages and views
   * keep answering while one runs: each process serves one request at a time. Both read the same files; the
   * interactive one reloads a model when its model.json changes on disk (it keys its cache on the file's mtime).
   */
  readonly jobs: EngineClient;
  /** Asks before the engine uses a lens file that names paths outside the workspace. */
  private readonly guard: LensGuard;
  readonly models: ModelsView;
  readonly top: TopView;
  private readonly modelsTree: vscode.TreeView<ModelsEntry>;
  private readonly panelDeps: PanelDeps;
  /** How pages are drawn (projection method, ranking), for every panel. */
  readonly view: ViewOptions;
  private storage: Promise<string> | undefined;
  private modelWatchers: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly changedFiles = new Set<string>();

  constructor(private readonly context: vscode.ExtensionContext) {
    super();
    this.engine = new EngineClient({
      enginePath: path.join(context.extensionPath, 'dist', 'engine.js'),
      backend: backendSetting,
      threads: threadsSetting,
      maxMemoryMB: maxMemorySetting,
      log: (level, message) => this.log[level](message),
      onStatus: (s) => this.showStatus(s),
      gate: (method, params) => this.guard.check(method, params),
    });
    this.jobs = new EngineClient({
      enginePath: path.join(context.extensionPath, 'dist', 'engine.js'),
      backend: backendSetting,
      threads: threadsSetting,
      log: (level, message) => this.log[level](`[jobs] ${message}`),
      gate: (method, params) => this.guard.check(method, params),
    });
    this._register({ dispose: () => this.jobs.dispose() });
    this.guard = createLensGuard(
      vscode,
      context.workspaceState,
      (lens) => this.engine.requestUngated('lensPaths', { lens }).then((r) => ('ok' in r ? r.ok : Promise.reject(new Error(r.err.message)))),
      (m) => this.log.info(m),
    );
    this._register({ dispose: () => this.engine.dispose() });
    this.showStatus(undefined);

    this.models = this._register(new ModelsView(this.engine, this.log, () => this.storageDir()));
    const problems = this._register(new LensProblems());
    this._register(this.models.onDidChangeProblems((entries) => void problems.update(entries)));
    this.modelsTree = this._register(vscode.window.createTreeView('featureLens.models', { treeDataProvider: this.models, showCollapseAll: true }));
    this.top = this._register(new TopView(this.engine, () => this.storageDir(), this.log));
    this.top.view = this._register(vscode.window.createTreeView('featureLens.topActivations', { treeDataProvider: this.top }));
    this.view = new ViewOptions(context.workspaceState);
    this.panelDeps = {
      view: this.view,
      engine: this.engine,
      jobs: this.jobs,
      state: context.workspaceState,
      log: this.log,
      extensionUri: context.extensionUri,
      storageDir: () => this.storageDir(),
      // The Top Activations view follows the node the panel shows, once its page is posted: a click on a node
      // runs Inspect Node, and the view's engine requests then come after the panel's, never ahead of them.
      onNode: (t) => {
        this.top.show(t);
        void this.reveal(t.model, t.layer, t.node);
      },
    };
    this._register(registerModelEditor(this.panelDeps));
    this._register(
      vscode.window.registerWebviewPanelSerializer(InspectorPanel.viewType, {
        deserializeWebviewPanel: async (panel, state) => InspectorPanel.revive(this.panelDeps, panel, state),
      }),
    );

    this.watch();
    this._register(vscode.workspace.onDidChangeConfiguration((e) => this.settingsChanged(e)));
    this._register(registerCommands(this));
    this._register(registerCodeInsight(this.engine, this.log, () => this.storageDir()));
    this._register(registerWalkthrough(context, this.engine, this.log, () => this.storageDir()));
  }

  /** A change of the engine settings restarts both engines; a change of the ranking redraws what shows it. */
  private settingsChanged(e: vscode.ConfigurationChangeEvent): void {
    if (
      e.affectsConfiguration(`featureLens.${BACKEND_KEY}`) ||
      e.affectsConfiguration(`featureLens.${THREADS_KEY}`) ||
      e.affectsConfiguration(`featureLens.${MAX_MEMORY_KEY}`)
    ) {
      this.log.info(
        `Engine settings changed (backend ${backendSetting()}, threads ${threadsSetting()}, memory budget ${maxMemorySetting() || 'default'}); restarting the engine.`,
      );
      this.engine.restart('The engine settings changed.');
      this.jobs.restart('The engine settings changed.');
      this.showStatus(undefined);
      this.models.refresh();
    }
    if (e.affectsConfiguration(`featureLens.${RANK_BY_KEY}`)) {
      this.log.info(`Top images are now ranked by ${SCORE_METRIC_PHRASES[rankBySetting()]}.`);
      this.top.refresh();
      const p = InspectorPanel.active;
      if (p) p.navigate(p.shows);
    }
  }

  /** What the user is looking at, for a pick of a lens or model: listed first, never taken silently. */
  hints(): TargetHint[] {
    const out: TargetHint[] = [];
    const add = (t: { lens?: string; model?: string } | undefined, why: string) => {
      if (t?.lens) out.push({ file: t.lens, why });
      if (t?.model) out.push({ file: t.model, why });
    };
    add(InspectorPanel.active?.shows, 'shown in the panel');
    const sel = this.modelsTree.selection[0];
    if (sel) add(targetOf(sel), 'selected in the Models view');
    add(this.top.selected, 'shown in Top Activations');
    return out;
  }

  forgetRefusals(): void {
    this.guard.forgetRefusals();
  }

  /** Workspace storage (the top-activation index lives there), created on first use. */
  storageDir(): Promise<string> {
    this.storage ??= (async () => {
      const uri = this.context.storageUri ?? this.context.globalStorageUri;
      await vscode.workspace.fs.createDirectory(uri);
      return uri.fsPath;
    })();
    return this.storage;
  }

  private showStatus(s: EngineStatus | undefined): void {
    const setting = backendSetting();
    this.status.name = 'Feature Lens backend';
    this.status.command = 'featureLens.selectBackend';
    if (s) {
      const threads = (s.threads ?? 1) > 1 ? ` ×${s.threads}` : '';
      // Forward-only work (scans, feature maps) may run natively while gradients stay on the backend.
      const native = s.forward === 'onnxruntime' ? ' + native' : '';
      this.status.text = `$(pulse) ${s.backend}${threads}${native}`;
      this.status.tooltip = `Feature Lens engine: ${s.backend} backend${threads ? ` on ${s.threads} threads` : ''} (setting: ${setting}), TensorFlow.js ${s.tfjsVersion}, pid ${s.pid}.${s.backendNote ? `\n${s.backendNote}` : ''}${s.forwardNote ? `\n${s.forwardNote}` : ''}\nClick to select the backend.`;
    } else {
      this.status.text = `$(circle-outline) ${setting}`;
      this.status.tooltip = `Feature Lens engine: not running (setting: ${setting}); it starts on first use.\nClick to select the backend.`;
    }
    this.status.show();
  }

  /** Watches lens files and models (also those a lens names by another file name), refreshing debounced. */
  private watch(): void {
    const onChange = (uri: vscode.Uri) => {
      this.changedFiles.add(uri.fsPath);
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.filesChanged(), 400);
    };
    for (const glob of [LENS_GLOB, MODEL_FILE_GLOB]) {
      const w = this._register(vscode.workspace.createFileSystemWatcher(glob));
      this._register(w.onDidChange(onChange));
      this._register(w.onDidCreate(onChange));
      this._register(w.onDidDelete(onChange));
    }
    this._register({ dispose: () => clearTimeout(this.refreshTimer) });
    this._register({ dispose: () => this.modelWatchers.forEach((d) => d.dispose()) });
    this._register(
      this.models.onDidListModels((files) => {
        this.modelWatchers.forEach((d) => d.dispose());
        this.modelWatchers = [];
        for (const f of new Set(files)) {
          if (isModelFile(f)) continue; // watched by MODEL_FILE_GLOB already
          const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(f)), path.basename(f)));
          this.modelWatchers.push(w, w.onDidChange(onChange), w.onDidCreate(onChange), w.onDidDelete(onChange));
        }
      }),
    );
  }

  private filesChanged(): void {
    const files = [...this.changedFiles];
    this.changedFiles.clear();
    this.log.info(`Changed on disk, views refreshed: ${files.join(', ')}`);
    this.models.refresh();
    this.top.refresh();
    for (const f of files) InspectorPanel.active?.modelChanged(f);
  }

  showPanel(state: PanelState): InspectorPanel {
    return InspectorPanel.show(this.panelDeps, state);
  }

  async reveal(model: string, layer?: number, node?: number): Promise<void> {
    try {
      if (!this.modelsTree.visible) return;
      const e = await this.models.find(model, layer, node);
      if (e) await this.modelsTree.reveal(e, { select: true, focus: false, expand: false });
    } catch (e) {
      this.log.debug(`reveal: ${String(e)}`);
    }
  }
}

let instance: FeatureLens | undefined;

export function activate(context: vscode.ExtensionContext): void {
  instance = new FeatureLens(context);
  context.subscriptions.push(instance);
}

export function deactivate(): void {
  instance?.dispose();
  instance = undefined;
}
