import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { createLensFile } from './createLens';
import { PROJECTION_METHOD_LABELS, type LayerByClassResult, type LensInfo, type ModelInfo } from '../shared/protocol';
import {
  parsePanelState,
  parseWebviewMessage,
  packMessage,
  toPixels,
  type HostMessage,
  type MaximizedMessage,
  type MessageBounds,
  type PanelState,
  type WebviewMessage,
} from '../shared/webviewProtocol';
import { Disposable } from './dispose';
import type { EngineClient } from './engineClient';
import { logMessage, reportError, shortMessage, UserFacingError } from './failable';
import { modelPage, modelSummary, nodePage, waitingText, weightsView } from './pageData';
import { withEngineProgress } from './progress';
import { ProgressMeter } from './progressMeter';
import { RANK_BY_KEY, rankBySetting, updateUserSetting } from './settings';

const EXPORT_FOLDER_KEY = 'featureLens.exportFolder';
/** After this long without its page, a page says what it waits for. */
const WAIT_NOTE_MS = 1000;

export interface PanelDeps {
  engine: EngineClient;
  /** The engine process for long jobs (activation maximization), so pages keep answering while one runs. */
  jobs: EngineClient;
  log: vscode.LogOutputChannel;
  extensionUri: vscode.Uri;
  storageDir: () => Promise<string>;
  /** Workspace state: remembers the folder of the last export. */
  state?: vscode.Memento;
  /** Called when the panel moves to another node (the Top Activations view follows). */
  onNode?: (t: { lens?: string; model: string; layer: number; node: number }) => void;
}

/**
 * The inspector: one reused webview panel showing a node, a layer or a model. The host fetches plain data
 * from the engine and posts it once the webview said `ready`; everything the webview sends is validated.
 */
export class InspectorPanel extends Disposable {
  static readonly viewType = 'featureLens.inspector';
  private static current: InspectorPanel | undefined;

  private ready = false;
  private state: PanelState;
  private bounds: MessageBounds | undefined;
  /** Bumped per render, so a slow reply for an old request never overwrites a newer page. */
  private generation = 0;
  private renderStart = 0;
  /** When the last page message was posted (the rest of request-to-paint is the webview drawing it). */
  private postedAt = 0;
  private pendingExport: ((bytes: Uint8Array | undefined) => void) | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private byClassCache = new Map<string, Promise<LayerByClassResult | null>>();

  static get active(): InspectorPanel | undefined {
    return InspectorPanel.current;
  }

  /** Shows a page in the panel, creating the panel if needed. */
  static show(deps: PanelDeps, state: PanelState): InspectorPanel {
    const cur = InspectorPanel.current;
    if (cur) {
      cur.panel.reveal(undefined, true);
      cur.navigate(state);
      return cur;
    }
    const panel = vscode.window.createWebviewPanel(InspectorPanel.viewType, 'Feature Lens', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, InspectorPanel.options(deps.extensionUri));
    return new InspectorPanel(deps, panel, state);
  }

  /** Restores a panel after a reload (`WebviewPanelSerializer`). */
  static revive(deps: PanelDeps, panel: vscode.WebviewPanel, raw: unknown): void {
    const state = parsePanelState(raw);
    panel.webview.options = InspectorPanel.options(deps.extensionUri);
    if (!state) {
      deps.log.warn('Inspector panel restored without a usable state; closing it.');
      panel.dispose();
      return;
    }
    InspectorPanel.current?.dispose();
    new InspectorPanel(deps, panel, state);
  }

  /**
   * Shows the model page of a model file in a webview VS Code gave us (the read-only custom editor "Feature Lens
   * Model"). That panel is the file's editor, not the inspector: tree clicks keep going to the inspector.
   */
  static inEditor(deps: PanelDeps, panel: vscode.WebviewPanel, model: string): InspectorPanel {
    panel.webview.options = InspectorPanel.options(deps.extensionUri);
    return new InspectorPanel(deps, panel, { page: 'model', model }, false);
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  private constructor(
    private readonly deps: PanelDeps,
    readonly panel: vscode.WebviewPanel,
    state: PanelState,
    /** The one inspector panel (false: a model file's editor). */
    private readonly primary = true,
  ) {
    super();
    if (primary) InspectorPanel.current = this;
    this.state = state;
    this._register(panel);
    this._register(panel.onDidDispose(() => this.dispose()));
    this._register(panel.webview.onDidReceiveMessage((m) => this.receive(m)));
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'lens.svg');
    panel.webview.html = this.html();
    if (primary) void vscode.commands.executeCommand('setContext', 'featureLens:panelOpen', true);
  }

  override dispose(): void {
    if (InspectorPanel.current === this) {
      InspectorPanel.current = undefined;
      void vscode.commands.executeCommand('setContext', 'featureLens:panelOpen', false);
    }
    this.pendingExport?.(undefined);
    clearTimeout(this.waitTimer);
    super.dispose();
  }

  get shows(): PanelState {
    return this.state;
  }

  /** Re-renders when the model on screen changed on disk. */
  modelChanged(file: string): void {
    const same = (a?: string) => a && path.resolve(a) === path.resolve(file);
    if (same(this.state.model) || same(this.state.lens)) {
      this.byClassCache.clear();
      this.lastMaximized = undefined;
      this.deps.log.info(`${file} changed on disk; redrawing the inspector.`);
      void this.render();
    }
  }

  navigate(state: PanelState): void {
    this.state = state;
    if (this.ready) void this.render();
  }

  /** Asks the webview for a PNG of its canvases and saves it where the user chooses. */
  async exportPng(): Promise<void> {
    if (!this.ready) throw new UserFacingError('The inspector panel is still loading.');
    // A second export supersedes the first (which resolves empty); each clears only its own resolver and timer.
    let timer: NodeJS.Timeout | undefined;
    let mine: ((data: Uint8Array | undefined) => void) | undefined;
    const bytes = await new Promise<Uint8Array | undefined>((resolve) => {
      this.pendingExport?.(undefined);
      mine = resolve;
      this.pendingExport = resolve;
      this.post({ type: 'export' });
      timer = setTimeout(() => resolve(undefined), 30000);
    });
    clearTimeout(timer);
    if (this.pendingExport === mine) this.pendingExport = undefined;
    if (!bytes) throw new UserFacingError('The inspector panel did not produce an image.');
    const name = `${this.panel.title.replace(/^Feature Lens: /, '').replace(/[^\w.-]+/g, '_')}.png`;
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(this.exportFolder(), name), filters: { 'PNG image': ['png'] }, title: 'Export Panel as PNG' });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, bytes);
    await this.deps.state?.update(EXPORT_FOLDER_KEY, path.dirname(target.fsPath));
    this.deps.log.info(`Exported the panel to ${target.fsPath} (${bytes.byteLength} bytes).`);
    const inWorkspace = !!vscode.workspace.getWorkspaceFolder(target);
    const reveal = inWorkspace ? 'Reveal in Explorer' : 'Reveal in File Manager';
    const pick = await vscode.window.showInformationMessage(`Feature Lens: saved ${vscode.workspace.asRelativePath(target)}.`, 'Open', reveal);
    if (pick === 'Open') await vscode.commands.executeCommand('vscode.open', target);
    else if (pick === reveal) await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', target);
  }

  /** Where an export is proposed: the folder of the last one, else beside the lens file (or the model). */
  private exportFolder(): vscode.Uri {
    const last = this.deps.state?.get<string>(EXPORT_FOLDER_KEY);
    if (last) return vscode.Uri.file(last);
    return vscode.Uri.file(path.dirname(this.state.lens ?? this.state.model));
  }

  /** Runs activation maximization for the node on screen and shows the result in the panel. */
  async maximize(): Promise<void> {
    const { model, lens, layer, node } = this.state;
    if (layer === undefined || node === undefined) throw new UserFacingError('Open a node first: activation maximization works on one node.');
    const onScreen = () => this.state.page === 'node' && this.state.model === model && this.state.layer === layer && this.state.node === node;
    const meter = new ProgressMeter();
    const result = await withEngineProgress(
      `Feature Lens: maximizing layer ${layer}, node ${node}`,
      (opts) => this.deps.jobs.call('maximize', { model, ...(lens ? { lens } : {}), layer, node }, opts),
      (p) => {
        const note = p.count ? meter.message({ count: p.count }) : undefined;
        if (p.objective !== undefined && onScreen()) this.post({ type: 'maximizeProgress', step: p.count?.done ?? Math.round((p.fraction ?? 0) * 1000), steps: p.count?.total, objective: p.objective, ...(note ? { note } : {}) });
      },
    );
    this.lastMaximized = { model, msg: { type: 'maximized', layer: result.layer, node: result.node, image: toPixels(result.image.shape, result.image.data), curve: [...result.curve] } };
    if (onScreen()) this.post(this.lastMaximized.msg);
  }

  /** The last activation-maximization result, shown again when its node's page is drawn anew. */
  private lastMaximized: { model: string; msg: MaximizedMessage } | undefined;

  private post(m: HostMessage): void {
    if (!this.ready) return;
    if (m.type === 'node' || m.type === 'layer' || m.type === 'model' || m.type === 'error') {
      this.postedAt = performance.now();
      clearTimeout(this.waitTimer);
    }
    // Packed: VS Code drops all but (count mod 256) of a message's separately transferred buffers.
    void this.panel.webview.postMessage(packMessage(m));
  }

  private receive(raw: unknown): void {
    const m = parseWebviewMessage(raw, this.bounds, (why) => this.deps.log.warn(`Dropped a message from the inspector panel: ${why}.`));
    if (m) void this.handle(m).catch((e) => reportError(this.deps.log, `Inspector ${m.type}`, e));
  }

  private async handle(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        await this.render();
        break;
      case 'selectNode':
        this.navigate({ ...this.state, page: 'node', layer: m.layer, node: m.node, focusImage: undefined });
        break;
      case 'setMethod':
        this.navigate({ ...this.state, method: m.method });
        break;
      case 'selectImage':
        this.navigate({ ...this.state, image: m.index });
        break;
      case 'openPage':
        if (m.page !== 'model' && this.state.layer === undefined) return;
        this.navigate({ ...this.state, page: m.page, node: m.page === 'node' ? (this.state.node ?? 0) : this.state.node });
        break;
      case 'setMetric':
        // The setting's change listener redraws this panel and the Top Activations view. When the setting did
        // not take that value (a more specific scope sets it, or settings.json cannot be written), the page is
        // drawn again so its list shows the ranking in use.
        if (m.metric === rankBySetting()) break;
        try {
          await updateUserSetting(RANK_BY_KEY, m.metric);
        } finally {
          if (rankBySetting() !== m.metric) this.navigate(this.state);
        }
        break;
      case 'maximize':
        await this.maximize();
        break;
      case 'createLens': {
        const lens = await createLensFile(this.deps.engine, this.state.model);
        if (lens) this.navigate({ page: 'model', lens, model: this.state.model });
        break;
      }
      case 'showLog':
        this.deps.log.show(true);
        break;
      case 'retry':
        await this.render();
        break;
      case 'exportPng':
        this.pendingExport?.(m.data);
        break;
      case 'painted':
        if (this.renderStart) {
          const now = performance.now();
          this.deps.log.info(`Inspector ${m.page} page painted ${Math.round(now - this.renderStart)} ms after the request (engine and host ${Math.round(this.postedAt - this.renderStart)} ms, webview ${Math.round(now - this.postedAt)} ms${m.drawMs !== undefined ? ` of which drawing ${m.drawMs} ms` : ''}).`);
          this.renderStart = 0;
        }
        break;
      case 'log':
        this.deps.log[m.level](`webview: ${m.message}`);
        break;
    }
  }

  private async render(): Promise<void> {
    const gen = ++this.generation;
    this.renderStart = performance.now();
    const s = this.state;
    const title = this.titleFor(s);
    // A model file's editor keeps the file's name as its title.
    if (this.primary) this.panel.title = `Feature Lens: ${title}`;
    this.post({ type: 'loading', title });
    // A page that is slow to come says what it waits for (an earlier request still running in the engine).
    clearTimeout(this.waitTimer);
    this.waitTimer = setTimeout(() => {
      if (gen === this.generation) this.post({ type: 'loading', title, wait: waitingText(this.deps.engine.pendingMethods()) });
    }, WAIT_NOTE_MS);
    const { engine } = this.deps;
    try {
      const lens = s.lens ? await engine.call('lens', { lens: s.lens }) : undefined;
      const info = await engine.call('modelInfo', { model: s.model });
      if (gen !== this.generation) return;
      this.bounds = { layers: info.layers.length, nodesPerLayer: info.layers.map((l) => l.nodes), images: lens?.splits.test ?? 0 };
      if (s.layer !== undefined && s.layer >= info.layers.length) throw new UserFacingError(`${vscode.workspace.asRelativePath(s.model)} has no layer ${s.layer} (it has ${info.layers.length}).`);
      const full = `Feature Lens: ${this.titleFor(s, info)}`;
      if (this.primary) this.panel.title = full;
      if (s.page === 'node') await this.renderNode(gen, s, info, lens, full);
      else if (s.page === 'layer') await this.renderLayer(gen, s, info, lens, full);
      else {
        if (lens?.trainingNote) this.deps.log.warn(lens.trainingNote);
        this.post(modelPage(info, lens, s, full));
      }
      if (s.page !== 'node' && lens && gen === this.generation) void this.sendByClass(gen, s, info, lens);
    } catch (e) {
      if (gen !== this.generation) return;
      this.deps.log.error(`Inspector (${title}): ${logMessage(e)}`);
      this.post({ type: 'error', title, message: shortMessage(e, `Feature Lens: ${title}`) });
    }
  }

  private async renderNode(gen: number, s: PanelState, info: ModelInfo, lens: LensInfo | undefined, title: string): Promise<void> {
    const layer = s.layer!;
    const node = s.node!;
    if (node >= info.layers[layer].nodes) throw new UserFacingError(`Layer ${info.layers[layer].name} has no node ${node} (it has ${info.layers[layer].nodes}).`);
    // The Top Activations view follows once the page is posted, so its requests queue behind the page's.
    const follow = () => gen === this.generation && this.primary && this.deps.onNode?.({ lens: s.lens, model: s.model, layer, node });
    if (lens) {
      const r = await this.deps.engine.call('inspectNode', { lens: lens.path, storageDir: await this.deps.storageDir(), layer, node, method: s.method, metric: rankBySetting() });
      if (gen !== this.generation) return;
      this.post(nodePage(r, s, lens, title));
      this.postMaximized(s);
      follow();
      if (r.top) void this.sendNodeStats(gen, s, lens, layer, node);
    } else {
      const w = info.layers[layer].hasWeights ? await this.deps.engine.call('weights', { model: s.model, layer, node }) : undefined;
      if (gen !== this.generation) return;
      this.post({
        type: 'node',
        title,
        state: s,
        model: modelSummary(info),
        layer,
        node,
        nodes: info.layers[layer].nodes,
        method: s.method ?? 'deconv',
        weights: w ? weightsView(w) : undefined,
        topNote: 'This model has no lens file, so there is no dataset to rank images from.',
      });
      this.postMaximized(s);
      follow();
    }
  }

  private postMaximized(s: PanelState): void {
    const m = this.lastMaximized;
    if (m && m.model === s.model && m.msg.layer === s.layer && m.msg.node === s.node) this.post(m.msg);
  }

  private async renderLayer(gen: number, s: PanelState, info: ModelInfo, lens: LensInfo | undefined, title: string): Promise<void> {
    const layer = s.layer!;
    const li = info.layers[layer];
    const w = li.hasWeights ? await this.deps.engine.call('weights', { model: s.model, layer }) : undefined;
    let featureMaps;
    if (lens && lens.splits.test > 0) {
      const index = Math.min(s.image ?? 0, lens.splits.test - 1);
      const img = await this.deps.engine.call('datasetImage', { lens: lens.path, index });
      const fm = await this.deps.engine.call('featureMaps', { model: s.model, lens: lens.path, layer, input: { lens: lens.path, index } });
      featureMaps = { index, className: img.className, images: lens.splits.test, image: toPixels(img.image.shape, img.image.data), maps: toPixels(fm.maps.shape, fm.maps.data), min: fm.min, max: fm.max };
    }
    if (gen !== this.generation) return;
    this.post({
      type: 'layer',
      title,
      state: s,
      model: modelSummary(info, lens),
      layer,
      nodes: li.nodes,
      weights: w ? weightsView(w) : undefined,
      featureMaps,
      note: lens ? undefined : 'Feature maps need a dataset: open this model through a lens file.',
    });
  }

  /**
   * The class table from a stored index only (indexOnly: a page never starts a scan, which would run with no
   * progress or Cancel and hold up every later request); null until "Compute Top Activations" has run.
   */
  private byClass(lens: LensInfo, info: ModelInfo): Promise<LayerByClassResult | null> {
    const key = `${lens.path}:${info.weightsHash}`;
    let p = this.byClassCache.get(key);
    if (!p) {
      const q = this.deps.storageDir().then((storageDir) => this.deps.engine.call('layerByClass', { lens: lens.path, storageDir, indexOnly: true }));
      // Only a found table is kept: a missing index may be written by the next scan.
      q.then(
        (r) => r ?? this.byClassCache.delete(key),
        () => this.byClassCache.delete(key),
      );
      this.byClassCache.set(key, q);
      p = q;
    }
    return p;
  }

  private async sendByClass(gen: number, s: PanelState, info: ModelInfo, lens: LensInfo): Promise<void> {
    try {
      const r = await this.byClass(lens, info);
      if (gen !== this.generation) return;
      if (!r) this.post({ type: 'byClass', note: 'Compute Top Activations to see this chart.' });
      else this.post({ type: 'byClass', chart: { classes: r.classes, layerNames: r.layerNames, norms: r.norms, highlight: s.layer === undefined ? -1 : r.layers.indexOf(s.layer) } });
    } catch (e) {
      this.deps.log.warn(`Layer activation by class: ${e instanceof Error ? e.message : String(e)}`);
      if (gen === this.generation) this.post({ type: 'byClass', note: 'This chart could not be computed; see the Feature Lens log.' });
    }
  }

  private async sendNodeStats(gen: number, s: PanelState, lens: LensInfo, layer: number, node: number): Promise<void> {
    try {
      const info = await this.deps.engine.call('modelInfo', { model: s.model });
      const r = await this.byClass(lens, info);
      const col = r ? r.layers.indexOf(layer) : -1;
      if (!r || gen !== this.generation || col < 0) return;
      const tc = r.topClass[col]?.[node];
      this.post({ type: 'nodeStats', layer, node, deadFraction: r.deadFraction[col][node], selectivity: r.selectivity[col][node], topClass: r.classes[tc] ?? String(tc), classes: r.classes.length });
    } catch (e) {
      this.deps.log.warn(`Node statistics: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private titleFor(s: PanelState, info?: ModelInfo): string {
    const base = path.basename(s.lens ?? path.dirname(s.model)).replace(/\.lens\.json$/, '');
    const lname = s.layer !== undefined ? (info?.layers[s.layer]?.name ?? `layer ${s.layer}`) : '';
    if (s.page === 'model') return base;
    if (s.page === 'layer') return `${base} / ${lname}`;
    const method = s.method && s.method !== 'deconv' ? ` (${PROJECTION_METHOD_LABELS[s.method]})` : '';
    return `${base} / ${lname} / node ${s.node}${method}`;
  }

  private html(): string {
    const w = this.panel.webview;
    const nonce = crypto.randomBytes(16).toString('base64');
    const uri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...p)).toString();
    const csp = [`default-src 'none'`, `img-src ${w.cspSource} blob: data:`, `style-src ${w.cspSource}`, `font-src ${w.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('dist', 'codicon.css')}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${uri('media', 'inspector.css')}">
<title>Feature Lens</title>
</head>
<body data-state="loading">
<div id="app" role="main"><p class="status"><span class="codicon codicon-loading codicon-modifier-spin"></span> Loading…</p></div>
<script nonce="${nonce}" src="${uri('dist', 'webview.js')}"></script>
</body>
</html>`;
  }
}
