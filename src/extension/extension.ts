import * as path from 'node:path';
import * as vscode from 'vscode';
import { BACKEND_SETTINGS, SCORE_METRIC_LABELS, SCORE_METRIC_PHRASES, SCORE_METRICS, type BackendSetting, type EngineStatus, type ProjectionMethod, type ScanSummary, type ScoreMetric } from '../shared/protocol';
import type { PanelState } from '../shared/webviewProtocol';
import { isModelFile, LENS_GLOB, MODEL_FILE_GLOB } from '../shared/modelFiles';
import { Disposable } from './dispose';
import { EngineClient } from './engineClient';
import { registerFailableCommand, UserFacingError } from './failable';
import { InspectorPanel, type PanelDeps } from './inspectorPanel';
import { registerModelEditor } from './modelEditor';
import { ModelsView } from './modelsView';
import { withEngineProgress } from './progress';
import { backendSetting, BACKEND_KEY, MAX_MEMORY_KEY, maxMemorySetting, RANK_BY_KEY, rankBySetting, threadsSetting, THREADS_KEY, updateUserSetting } from './settings';
import { pickLayer, pickNode, pickTarget, resolveModel, type TargetHint } from './targets';
import { TopView } from './topView';
import { ViewOptions } from './viewOptions';
import { createLensGuard, requireTrust, type LensGuard } from './workspaceGuard';
import { targetOf, type ModelsEntry } from './treeModel';
import { LensProblems } from './problems';
import { registerCodeInsight } from './codeInsight';
import { registerWalkthrough } from './walkthrough';

/** What each ranking means, for the quick pick (the setting's descriptions say the same). */
const RANK_BY_DETAIL: Record<ScoreMetric, string> = {
  frobenius: 'The Frobenius norm of the feature map (as in the report)',
  max: 'Its largest value: the strongest single response, wherever it is',
  mean: 'Its mean: a response over the whole map',
};

/** What a cancelled scan keeps (parallelScan.ts: finished chunks join the index in order). */
const SCAN_CANCELLED = 'The images ranked so far are kept; the next run resumes from there.';

/** Everything the extension owns while it is active. */
class FeatureLens extends Disposable {
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
  private readonly models: ModelsView;
  private readonly top: TopView;
  private readonly modelsTree: vscode.TreeView<ModelsEntry>;
  private readonly panelDeps: PanelDeps;
  /** How pages are drawn (projection method, ranking), for every panel. */
  private readonly view: ViewOptions;
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
    this.guard = createLensGuard(vscode, context.workspaceState, (lens) => this.engine.requestUngated('lensPaths', { lens }).then((r) => ('ok' in r ? r.ok : Promise.reject(new Error(r.err.message)))), (m) => this.log.info(m));
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
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`featureLens.${BACKEND_KEY}`) || e.affectsConfiguration(`featureLens.${THREADS_KEY}`) || e.affectsConfiguration(`featureLens.${MAX_MEMORY_KEY}`)) {
          this.log.info(`Engine settings changed (backend ${backendSetting()}, threads ${threadsSetting()}, memory budget ${maxMemorySetting() || 'default'}); restarting the engine.`);
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
      }),
    );
    this.registerCommands();
    this._register(registerCodeInsight(this.engine, this.log, () => this.storageDir()));
    this._register(registerWalkthrough(context, this.engine, this.log, () => this.storageDir()));
  }

  /** What the user is looking at, for a pick of a lens or model: listed first, never taken silently. */
  private hints(): TargetHint[] {
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

  private showPanel(state: PanelState): InspectorPanel {
    return InspectorPanel.show(this.panelDeps, state);
  }

  private async reveal(model: string, layer?: number, node?: number): Promise<void> {
    try {
      if (!this.modelsTree.visible) return;
      const e = await this.models.find(model, layer, node);
      if (e) await this.modelsTree.reveal(e, { select: true, focus: false, expand: false });
    } catch (e) {
      this.log.debug(`reveal: ${String(e)}`);
    }
  }

  /**
   * Picks a node (from the argument or by asking) and opens it, projected by `method` when given (else the
   * method in use); undefined when the user backed out.
   */
  private async openNode(arg: unknown, method?: ProjectionMethod): Promise<InspectorPanel | undefined> {
    const t0 = await pickTarget(this.engine, arg, { title: 'Inspect Node', hints: this.hints() });
    if (!t0) return undefined;
    const { target } = await resolveModel(this.engine, t0);
    const info = await this.engine.call('modelInfo', { model: target.model });
    const layer = await pickLayer(info, target, true);
    if (layer === undefined) return undefined;
    const node = await pickNode(info, layer, target);
    if (node === undefined) return undefined;
    if (method) this.view.setProjectionMethod(method);
    return this.showPanel({ page: 'node', lens: target.lens, model: target.model, layer, node, focusImage: target.image });
  }

  /**
   * Computes the top-activation index of `lens` (or finds it up to date), with a cancellable progress
   * notification; logs what was done and refreshes the Top Activations view.
   */
  private async scan(lens: string): Promise<ScanSummary> {
    const storageDir = await this.storageDir();
    const name = path.basename(lens);
    const r = await withEngineProgress(`Feature Lens: top activations of ${name}`, (opts) => this.jobs.call('scan', { lens, storageDir }, opts), undefined, SCAN_CANCELLED);
    this.log.info(`Top-activation index for ${name}: ${r.images} images, k=${r.k}, ${r.seconds.toFixed(1)} s (${Math.round(r.imagesPerSecond)} images/s)${r.helperImages ? `, ${r.helperImages} of them in helper processes` : ''}${r.reused ? ', reused' : ''}${r.resumed ? ', resumed' : ''}: ${r.index}${r.removedIndexes ? `; deleted ${r.removedIndexes} index${r.removedIndexes > 1 ? 'es' : ''} of earlier weights` : ''}`);
    this.top.refresh();
    this.models.refresh(); // the row's "index ready"
    return r;
  }

  private registerCommands(): void {
    const reg = (id: string, run: (...args: never[]) => unknown) => this._register(registerFailableCommand(this.log, id, run));

    reg('featureLens.showLog', () => this.log.show());
    reg('featureLens.refreshModels', () => {
      this.guard.forgetRefusals();
      this.models.refresh();
      this.top.refresh();
    });

    reg('featureLens.selectBackend', async () => {
      const current = backendSetting();
      const running = this.engine.status?.backend;
      const detail: Record<BackendSetting, string> = {
        auto: 'The fastest that loads: native TensorFlow, else WebAssembly, else plain JavaScript',
        tensorflow: 'Native TensorFlow (@tensorflow/tfjs-node, when installed)',
        wasm: 'WebAssembly (@tensorflow/tfjs-backend-wasm)',
        cpu: 'Plain JavaScript: slow, a last resort',
      };
      const pick = await vscode.window.showQuickPick(
        BACKEND_SETTINGS.map((b) => ({ label: b, description: b === current ? `current setting${running ? `, running ${running}` : ''}` : undefined, detail: detail[b], value: b })),
        { title: 'Feature Lens: Select Backend', placeHolder: `Engine backend (now ${running ?? current})` },
      );
      if (!pick || pick.value === current) return;
      await updateUserSetting(BACKEND_KEY, pick.value);
      // The configuration listener restarts the engine; start it now so the status bar shows what loaded.
      await this.engine.call('status', {});
    });

    reg('featureLens.rankBy', async () => {
      const current = rankBySetting();
      const pick = await vscode.window.showQuickPick(
        SCORE_METRICS.map((m) => ({ label: SCORE_METRIC_LABELS[m], description: m === current ? 'current' : undefined, detail: RANK_BY_DETAIL[m], value: m })),
        { title: 'Feature Lens: Rank Top Images By', placeHolder: `Score of a node's feature map per image (now ${SCORE_METRIC_PHRASES[current]})` },
      );
      // The configuration listener redraws the Top Activations view and the panel.
      if (pick && pick.value !== current) await updateUserSetting(RANK_BY_KEY, pick.value);
    });

    reg('featureLens.openModel', async (arg?: unknown) => {
      const t0 = await pickTarget(this.engine, arg, { title: 'Open Model', hints: this.hints() });
      if (!t0) return;
      const { target, lens } = await resolveModel(this.engine, t0);
      this.showPanel({ page: 'model', lens: target.lens, model: target.model });
      void this.reveal(target.model);
      if (lens?.datasetError) {
        // The model opens; what needs the data (top images, feature maps) cannot until the dataset is there.
        const open = await vscode.window.showWarningMessage(`Feature Lens: the dataset of ${path.basename(lens.path)} is missing: ${lens.datasetError.message} The model opens without it.`, 'Open Lens File');
        if (open) await vscode.commands.executeCommand('featureLens.showProblem', { file: lens.path, message: lens.datasetError.message, severity: 'warning', field: lens.datasetError.field });
      }
    });

    reg('featureLens.inspectLayer', async (arg?: unknown) => {
      const t0 = await pickTarget(this.engine, arg, { title: 'Inspect Layer', hints: this.hints() });
      if (!t0) return;
      const { target } = await resolveModel(this.engine, t0);
      const info = await this.engine.call('modelInfo', { model: target.model });
      const layer = await pickLayer(info, target, false);
      if (layer === undefined) return;
      this.showPanel({ page: 'layer', lens: target.lens, model: target.model, layer, image: target.image });
    });

    reg('featureLens.inspectNode', (arg?: unknown) => this.openNode(arg));
    reg('featureLens.showDeconvolution', (arg?: unknown) => this.openNode(arg, 'deconv'));
    reg('featureLens.maximizeActivation', async (arg?: unknown) => {
      const panel = await this.openNode(arg);
      await panel?.maximize();
    });

    reg('featureLens.showLayerActivationByClass', async (arg?: unknown) => {
      const t0 = await pickTarget(this.engine, arg, { title: 'Show Layer Activation by Class', needLens: true, hints: this.hints() });
      if (!t0) return;
      const { target } = await resolveModel(this.engine, t0);
      // The chart comes from the top-activation index; asked for explicitly, a missing index is computed here,
      // with progress and Cancel (a page on its own never starts a scan).
      const storageDir = await this.storageDir();
      if (target.lens && !(await this.engine.call('layerByClass', { lens: target.lens, storageDir, indexOnly: true }))) await this.scan(target.lens);
      if (target.layer !== undefined) this.showPanel({ page: 'layer', lens: target.lens, model: target.model, layer: target.layer });
      else this.showPanel({ page: 'model', lens: target.lens, model: target.model });
    });

    reg('featureLens.trainModel', async (arg?: unknown) => {
      if (!(await requireTrust(vscode, 'Training'))) return this.log.info('Train Model not run: the workspace is not trusted (Restricted Mode).');
      const t = await pickTarget(this.engine, arg, { title: 'Train Model', needLens: true, hints: this.hints() });
      if (!t?.lens) return;
      const name = path.basename(t.lens);
      const r = await withEngineProgress(`Feature Lens: training ${name}`, (opts) => this.jobs.call('train', { lens: t.lens! }, opts), undefined, 'The model on disk is unchanged.');
      this.log.info(`Trained ${name}: test error ${(100 * r.testError).toFixed(2)}%, train accuracy ${(100 * r.trainAccuracy).toFixed(2)}%, ${r.epochs} epochs in ${r.seconds.toFixed(1)} s (${Math.round(r.imagesPerSecond)} images/s, ${r.backend}).`);
      this.models.refresh();
      this.top.refresh();
      InspectorPanel.active?.modelChanged(r.model);
      // Not awaited: the command is done when the model is written (the walkthrough waits for that), not when the message closes.
      void vscode.window.showInformationMessage(`Feature Lens: trained ${name}. Test error ${(100 * r.testError).toFixed(2)}% after ${r.epochs} epochs.`, 'Open Model').then((open) => {
        if (open) this.showPanel({ page: 'model', lens: t.lens!, model: r.model });
      });
    });

    reg('featureLens.computeTopActivations', async (arg?: unknown) => {
      // Without a row or file to act on, the lens file is asked for when there is more than one (never silently the
      // model in the panel: a scan takes minutes).
      const t = await pickTarget(this.engine, arg, { title: 'Compute Top Activations', needLens: true, hints: this.hints() });
      if (!t?.lens) return;
      const name = path.basename(t.lens);
      const r = await this.scan(t.lens);
      // Every page shows something from the index (top images, the class chart), so the panel redraws.
      const p = InspectorPanel.active;
      if (p) p.navigate(p.shows);
      void vscode.window.showInformationMessage(r.reused ? `Feature Lens: the top-activation index of ${name} is up to date.` : `Feature Lens: ranked ${r.images} images for every node of ${name} in ${r.seconds.toFixed(1)} s.`);
    });

    reg('featureLens.exportPanel', async () => {
      const p = InspectorPanel.active;
      if (!p) throw new UserFacingError('Open the inspector panel first (Inspect Node, Inspect Layer or Open Model).');
      await p.exportPng();
    });
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
