/**
 * The commands of the palette, the views' menus and the tree rows, each registered through
 * `registerFailableCommand` (a failure is logged and shown once). What they act on comes from `CommandHost`,
 * the extension's state (extension.ts).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  BACKEND_SETTINGS,
  SCORE_METRIC_LABELS,
  SCORE_METRIC_PHRASES,
  SCORE_METRICS,
  type BackendSetting,
  type ProjectionMethod,
  type ScanSummary,
  type ScoreMetric,
} from '../shared/protocol';
import type { PanelState } from '../shared/webviewProtocol';
import { compareWith } from './compareCommand';
import type { EngineClient } from './engineClient';
import { registerFailableCommand, UserFacingError } from './failable';
import { InspectorPanel } from './inspectorPanel';
import type { ModelsView } from './modelsView';
import { withEngineProgress } from './progress';
import { backendSetting, BACKEND_KEY, updateUserSetting } from './settings';
import { pickLayer, pickNode, pickTarget, resolveModel, type TargetHint } from './targets';
import type { TopView } from './topView';
import type { ViewOptions } from './viewOptions';
import { requireTrust } from './workspaceGuard';

/** What the commands act on: the extension's engines, views and panel. */
export interface CommandHost {
  readonly log: vscode.LogOutputChannel;
  readonly engine: EngineClient;
  /** The engine process for long jobs (training, scans). */
  readonly jobs: EngineClient;
  readonly models: ModelsView;
  readonly top: TopView;
  readonly view: ViewOptions;
  /** Forgets the lens files the user refused (their paths outside the workspace), so they are asked about again. */
  forgetRefusals(): void;
  /** What the user is looking at, listed first in a pick. */
  hints(): TargetHint[];
  storageDir(): Promise<string>;
  showPanel(state: PanelState): InspectorPanel;
  /** Selects the model, layer or node in the Models view (when it is visible). */
  reveal(model: string, layer?: number, node?: number): Promise<void>;
}

type Register = (id: string, run: (...args: never[]) => unknown) => void;

/** What each ranking means, for the quick pick (the setting's descriptions say the same). */
const RANK_BY_DETAIL: Record<ScoreMetric, string> = {
  frobenius: 'The Frobenius norm of the feature map (as in the report)',
  max: 'Its largest value: the strongest single response, wherever it is',
  mean: 'Its mean: a response over the whole map',
};

/** What a cancelled scan keeps (parallelScan.ts: finished chunks join the index in order). */
const SCAN_CANCELLED = 'The images ranked so far are kept; the next run resumes from there.';

/** Registers every command; disposing the result unregisters them. */
export function registerCommands(app: CommandHost): vscode.Disposable {
  const all: vscode.Disposable[] = [];
  const reg: Register = (id, run) => all.push(registerFailableCommand(app.log, id, run));
  registerEngineCommands(app, reg);
  registerInspectCommands(app, reg);
  registerJobCommands(app, reg);
  return vscode.Disposable.from(...all);
}

/** The log, the refresh, the backend and the ranking. */
function registerEngineCommands(app: CommandHost, reg: Register): void {
  reg('featureLens.showLog', () => app.log.show());
  reg('featureLens.refreshModels', () => {
    app.forgetRefusals();
    app.models.refresh();
    app.top.refresh();
  });

  reg('featureLens.selectBackend', async () => {
    const current = backendSetting();
    const running = app.engine.status?.backend;
    const detail: Record<BackendSetting, string> = {
      auto: 'The fastest that loads: native TensorFlow, else WebAssembly, else plain JavaScript',
      tensorflow: 'Native TensorFlow (@tensorflow/tfjs-node, when installed)',
      wasm: 'WebAssembly (@tensorflow/tfjs-backend-wasm)',
      cpu: 'Plain JavaScript: slow, a last resort',
    };
    const pick = await vscode.window.showQuickPick(
      BACKEND_SETTINGS.map((b) => ({
        label: b,
        description: b === current ? `current setting${running ? `, running ${running}` : ''}` : undefined,
        detail: detail[b],
        value: b,
      })),
      { title: 'Feature Lens: Select Backend', placeHolder: `Engine backend (now ${running ?? current})` },
    );
    if (!pick || pick.value === current) return;
    await updateUserSetting(BACKEND_KEY, pick.value);
    // The configuration listener restarts the engine; start it now so the status bar shows what loaded.
    await app.engine.call('status', {});
  });

  reg('featureLens.rankBy', async () => {
    const current = app.view.values().metric;
    const pick = await vscode.window.showQuickPick(
      SCORE_METRICS.map((m) => ({ label: SCORE_METRIC_LABELS[m], description: m === current ? 'current' : undefined, detail: RANK_BY_DETAIL[m], value: m })),
      { title: 'Feature Lens: Rank Top Images By', placeHolder: `Score of a node's feature map per image (now ${SCORE_METRIC_PHRASES[current]})` },
    );
    // The configuration listener redraws the Top Activations view and the panel.
    if (pick && pick.value !== current)
      await app.view.setMetric(pick.value, () =>
        app.log.warn(`The ranking is still ${SCORE_METRIC_PHRASES[app.view.values().metric]}: a more specific scope sets featureLens.topActivations.rankBy.`),
      );
  });
}

/** What opens a page of the inspector panel, and its export. */
function registerInspectCommands(app: CommandHost, reg: Register): void {
  reg('featureLens.openModel', async (arg?: unknown) => {
    const t0 = await pickTarget(app.engine, arg, { title: 'Open Model', hints: app.hints() });
    if (!t0) return;
    const { target, lens } = await resolveModel(app.engine, t0);
    app.showPanel({ page: 'model', lens: target.lens, model: target.model });
    void app.reveal(target.model);
    if (lens?.datasetError) {
      // The model opens; what needs the data (top images, feature maps) cannot until the dataset is there.
      const open = await vscode.window.showWarningMessage(
        `Feature Lens: the dataset of ${path.basename(lens.path)} is missing: ${lens.datasetError.message} The model opens without it.`,
        'Open Lens File',
      );
      if (open)
        await vscode.commands.executeCommand('featureLens.showProblem', {
          file: lens.path,
          message: lens.datasetError.message,
          severity: 'warning',
          field: lens.datasetError.field,
        });
    }
  });

  reg('featureLens.inspectLayer', async (arg?: unknown) => {
    const t0 = await pickTarget(app.engine, arg, { title: 'Inspect Layer', hints: app.hints() });
    if (!t0) return;
    const { target } = await resolveModel(app.engine, t0);
    const info = await app.engine.call('modelInfo', { model: target.model });
    const layer = await pickLayer(info, target, false);
    if (layer === undefined) return;
    app.showPanel({ page: 'layer', lens: target.lens, model: target.model, layer, image: target.image });
  });

  reg('featureLens.inspectNode', (arg?: unknown) => openNode(app, arg));
  reg('featureLens.showDeconvolution', (arg?: unknown) => openNode(app, arg, 'deconv'));
  reg('featureLens.maximizeActivation', async (arg?: unknown) => {
    const panel = await openNode(app, arg);
    await panel?.maximize();
  });

  reg('featureLens.showLayerActivationByClass', async (arg?: unknown) => {
    const t0 = await pickTarget(app.engine, arg, { title: 'Show Layer Activation by Class', needLens: true, hints: app.hints() });
    if (!t0) return;
    const { target } = await resolveModel(app.engine, t0);
    // The chart comes from the top-activation index; asked for explicitly, a missing index is computed here,
    // with progress and Cancel (a page on its own never starts a scan).
    const storageDir = await app.storageDir();
    if (target.lens && !(await app.engine.call('layerByClass', { lens: target.lens, storageDir, indexOnly: true }))) await scan(app, target.lens);
    if (target.layer !== undefined) app.showPanel({ page: 'layer', lens: target.lens, model: target.model, layer: target.layer });
    else app.showPanel({ page: 'model', lens: target.lens, model: target.model });
  });

  reg('featureLens.compareWith', (arg?: unknown) => compareWith(app, arg));

  reg('featureLens.exportPanel', async () => {
    const p = InspectorPanel.active;
    if (!p) throw new UserFacingError('Open the inspector panel first (Inspect Node, Inspect Layer or Open Model).');
    await p.exportPng();
  });
}

/** Long jobs in the jobs engine, with progress and Cancel: training and the top-activation scan. */
function registerJobCommands(app: CommandHost, reg: Register): void {
  reg('featureLens.trainModel', async (arg?: unknown) => {
    if (!(await requireTrust(vscode, 'Training'))) return app.log.info('Train Model not run: the workspace is not trusted (Restricted Mode).');
    const t = await pickTarget(app.engine, arg, { title: 'Train Model', needLens: true, hints: app.hints() });
    if (!t?.lens) return;
    const name = path.basename(t.lens);
    const r = await withEngineProgress(
      `Feature Lens: training ${name}`,
      (opts) => app.jobs.call('train', { lens: t.lens! }, opts),
      undefined,
      'The model on disk is unchanged.',
    );
    app.log.info(
      `Trained ${name}: test error ${(100 * r.testError).toFixed(2)}%, train accuracy ${(100 * r.trainAccuracy).toFixed(2)}%, ${r.epochs} epochs in ${r.seconds.toFixed(1)} s (${Math.round(r.imagesPerSecond)} images/s, ${r.backend}).`,
    );
    app.models.refresh();
    app.top.refresh();
    InspectorPanel.active?.modelChanged(r.model);
    // Not awaited: the command is done when the model is written (the walkthrough waits for that), not when the message closes.
    void vscode.window
      .showInformationMessage(`Feature Lens: trained ${name}. Test error ${(100 * r.testError).toFixed(2)}% after ${r.epochs} epochs.`, 'Open Model')
      .then((open) => {
        if (open) app.showPanel({ page: 'model', lens: t.lens!, model: r.model });
      });
  });

  reg('featureLens.computeTopActivations', async (arg?: unknown) => {
    // Without a row or file to act on, the lens file is asked for when there is more than one (never silently the
    // model in the panel: a scan takes minutes).
    const t = await pickTarget(app.engine, arg, { title: 'Compute Top Activations', needLens: true, hints: app.hints() });
    if (!t?.lens) return;
    const name = path.basename(t.lens);
    const r = await scan(app, t.lens);
    // Every page shows something from the index (top images, the class chart), so the panel redraws.
    const p = InspectorPanel.active;
    if (p) p.navigate(p.shows);
    void vscode.window.showInformationMessage(
      r.reused
        ? `Feature Lens: the top-activation index of ${name} is up to date.`
        : `Feature Lens: ranked ${r.images} images for every node of ${name} in ${r.seconds.toFixed(1)} s.`,
    );
  });
}

/**
 * Picks a node (from the argument or by asking) and opens it, projected by `method` when given (else the
 * method in use); undefined when the user backed out.
 */
async function openNode(app: CommandHost, arg: unknown, method?: ProjectionMethod): Promise<InspectorPanel | undefined> {
  const t0 = await pickTarget(app.engine, arg, { title: 'Inspect Node', hints: app.hints() });
  if (!t0) return undefined;
  const { target } = await resolveModel(app.engine, t0);
  const info = await app.engine.call('modelInfo', { model: target.model });
  const layer = await pickLayer(info, target, true);
  if (layer === undefined) return undefined;
  const node = await pickNode(info, layer, target);
  if (node === undefined) return undefined;
  if (method) app.view.setProjectionMethod(method);
  return app.showPanel({ page: 'node', lens: target.lens, model: target.model, layer, node, focusImage: target.image });
}

/**
 * Computes the top-activation index of `lens` (or finds it up to date), with a cancellable progress
 * notification; logs what was done and refreshes the Top Activations view.
 */
async function scan(app: CommandHost, lens: string): Promise<ScanSummary> {
  const storageDir = await app.storageDir();
  const name = path.basename(lens);
  const r = await withEngineProgress(
    `Feature Lens: top activations of ${name}`,
    (opts) => app.jobs.call('scan', { lens, storageDir }, opts),
    undefined,
    SCAN_CANCELLED,
  );
  app.log.info(
    `Top-activation index for ${name}: ${r.images} images, k=${r.k}, ${r.seconds.toFixed(1)} s (${Math.round(r.imagesPerSecond)} images/s)${r.helperImages ? `, ${r.helperImages} of them in helper processes` : ''}${r.reused ? ', reused' : ''}${r.resumed ? ', resumed' : ''}: ${r.index}${r.removedIndexes ? `; deleted ${r.removedIndexes} index${r.removedIndexes > 1 ? 'es' : ''} of earlier weights` : ''}`,
  );
  app.top.refresh();
  app.models.refresh(); // the row's "index ready"
  return r;
}
