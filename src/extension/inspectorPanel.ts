/**
 * The inspector: one reused webview panel (and each model file's editor) showing one page at a time. The panel
 * owns the lifecycle and the messages; what a page is comes from its module in `pages/`, looked up by its kind
 * (`PAGE_KINDS`). The HTML is in `panelHtml.ts`, the PNG export in `panelExport.ts`, activation maximization in
 * `nodeMaximizer.ts`, the class tables in `byClassCache.ts`, what each message does in `panelMessages.ts`.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LensInfo, ModelInfo } from '../shared/protocol';
import { packMessage } from '../shared/messagePacking';
import { parsePanelState, parseWebviewMessage, type MessageBounds } from '../shared/webviewChecks';
import { isPageKind, type HostMessage, type PanelState, type WebviewMessage } from '../shared/webviewProtocol';
import { ByClassCache } from './byClassCache';
import { Disposable } from './dispose';
import type { EngineClient } from './engineClient';
import { logMessage, reportError, shortMessage, UserFacingError } from './failable';
import { NodeMaximizer } from './nodeMaximizer';
import { NodeSanity } from './nodeSanity';
import { NodeTimelapseJobs } from './nodeTimelapseJobs';
import { TimelapseCache } from './pages/nodeTimelapse';
import { waitingText } from './pageData';
import { hostPage } from './pages/index';
import type { PageContext } from './pages/page';
import { inspectorHtml, inspectorOptions } from './panelHtml';
import { PngRequest, savePng } from './panelExport';
import { handlePanelMessage } from './panelMessages';
import { PickedImages } from './pickedImage';
import { ViewOptions, type ViewOptionValues } from './viewOptions';

/** After this long without its page, a page says what it waits for. */
const WAIT_NOTE_MS = 1000;

export interface PanelDeps {
  engine: EngineClient;
  /** The engine process for long jobs (activation maximization), so pages keep answering while one runs. */
  jobs: EngineClient;
  log: vscode.LogOutputChannel;
  extensionUri: vscode.Uri;
  storageDir: () => Promise<string>;
  /** Workspace state: remembers the folder of the last export (and the projection method, without `view`). */
  state?: vscode.Memento;
  /** How pages are drawn, shared by every panel; a panel without it keeps its own. */
  view?: ViewOptions;
  /** Called when the panel moves to another node (the Top Activations view follows). */
  onNode?: (t: { lens?: string; model: string; layer: number; node: number }) => void;
}

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
  private waitTimer: NodeJS.Timeout | undefined;
  private readonly png = new PngRequest();
  private readonly maximizer = new NodeMaximizer();
  private readonly sanity = new NodeSanity();
  private readonly timelapse = new NodeTimelapseJobs(new TimelapseCache());
  private readonly view: ViewOptions;
  private readonly byClassTables: ByClassCache;
  /** The image file picked for each model without a lens file (its node and layer pages show it). */
  private readonly picks: PickedImages;

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
    const panel = vscode.window.createWebviewPanel(
      InspectorPanel.viewType,
      'Feature Lens',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      inspectorOptions(deps.extensionUri),
    );
    return new InspectorPanel(deps, panel, state);
  }

  /** Restores a panel after a reload (`WebviewPanelSerializer`). */
  static revive(deps: PanelDeps, panel: vscode.WebviewPanel, raw: unknown): void {
    const state = parsePanelState(raw);
    panel.webview.options = inspectorOptions(deps.extensionUri);
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
    panel.webview.options = inspectorOptions(deps.extensionUri);
    return new InspectorPanel(deps, panel, { page: 'model', model }, false);
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
    this.view = deps.view ?? new ViewOptions(deps.state);
    this.byClassTables = new ByClassCache(deps.engine, deps.storageDir);
    this.picks = new PickedImages(deps.state);
    this._register(panel);
    this._register(panel.onDidDispose(() => this.dispose()));
    this._register(panel.webview.onDidReceiveMessage((m) => this.receive(m)));
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'lens.svg');
    panel.webview.html = inspectorHtml(panel.webview, deps.extensionUri);
    if (primary) void vscode.commands.executeCommand('setContext', 'featureLens:panelOpen', true);
  }

  override dispose(): void {
    if (InspectorPanel.current === this) {
      InspectorPanel.current = undefined;
      void vscode.commands.executeCommand('setContext', 'featureLens:panelOpen', false);
    }
    this.png.answer(undefined);
    clearTimeout(this.waitTimer);
    super.dispose();
  }

  get shows(): PanelState {
    return this.state;
  }

  /** Re-renders when the model on screen changed on disk. */
  modelChanged(file: string): void {
    const same = (a?: string) => a && path.resolve(a) === path.resolve(file);
    if (same(this.state.model) || same(this.state.lens) || same(this.state.other)) {
      this.byClassTables.clear();
      this.maximizer.forget();
      this.sanity.forget();
      this.timelapse.cache.clear();
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
    const bytes = await this.png.request(() => this.post({ type: 'export' }));
    await savePng(bytes, this.panel.title, this.state.lens ?? this.state.model, this.deps.state, this.deps.log);
  }

  /** Runs activation maximization for the node on screen and shows the result in the panel. */
  async maximize(): Promise<void> {
    await this.maximizer.run(this.deps.jobs, this.state, (m) => this.post(m), this.stillOn(this.state));
  }

  // Whether the panel still shows the page, model, layer and node of `s` (and `view`'s lens, method, ranking).
  private stillOn(s: PanelState, view?: ViewOptionValues): () => boolean {
    const sameView = () => !view || (this.state.lens === s.lens && this.view.values().method === view.method && this.view.values().metric === view.metric);
    return () => this.state.page === s.page && this.state.model === s.model && this.state.layer === s.layer && this.state.node === s.node && sameView();
  }

  private post(m: HostMessage): void {
    if (!this.ready) return;
    if (isPageKind(m.type) || m.type === 'error') {
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

  private handle(m: WebviewMessage): Promise<void> {
    return handlePanelMessage(m, {
      state: () => this.state,
      engine: this.deps.engine,
      log: this.deps.log,
      view: this.view,
      picks: this.picks,
      png: this.png,
      navigate: (s) => this.navigate(s),
      ready: () => {
        this.ready = true;
        return this.render();
      },
      render: () => this.render(),
      maximize: () => this.maximize(),
      randomize: (r) => {
        const { jobs, storageDir, log } = this.deps;
        return this.sanity.toggle(r, { jobs, storageDir, log, view: this.view, state: () => this.state, post: (x) => this.post(x) });
      },
      timelapse: async (index) => {
        const [s, view, { jobs }] = [this.state, this.view.values(), this.deps];
        await this.timelapse.compute(jobs, await this.deps.storageDir(), s, view, index, (x) => this.post(x), this.stillOn(s, view));
      },
      exportTimelapse: async () => this.timelapse.exportGif(this.deps.jobs, await this.deps.storageDir(), this.state, this.view.values(), this.deps.log),
      painted: (page, drawMs) => this.painted(page, drawMs),
    });
  }

  /** Logs the time from request to paint of the page just drawn. */
  private painted(page: string, drawMs: number | undefined): void {
    if (!this.renderStart) return;
    const now = performance.now();
    this.deps.log.info(
      `Inspector ${page} page painted ${Math.round(now - this.renderStart)} ms after the request (engine and host ${Math.round(this.postedAt - this.renderStart)} ms, webview ${Math.round(now - this.postedAt)} ms${drawMs !== undefined ? ` of which drawing ${drawMs} ms` : ''}).`,
    );
    this.renderStart = 0;
  }

  /** Draws the page in `state`: the model and lens are read first (for the checks), then the page module loads it. */
  private async render(): Promise<void> {
    const gen = ++this.generation;
    this.renderStart = performance.now();
    const s = this.state;
    const view = this.view.values();
    const page = hostPage(s.page);
    const title = page?.title(s, { view }) ?? 'Feature Lens';
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
      if (!page) throw new UserFacingError(`The inspector has no page "${String(s.page)}".`);
      const lens = s.lens ? await engine.call('lens', { lens: s.lens }) : undefined;
      const info = await engine.call('modelInfo', { model: s.model });
      if (gen !== this.generation) return;
      this.bounds = { layers: info.layers.length, nodesPerLayer: info.layers.map((l) => l.nodes), images: lens?.splits.test ?? 0 };
      if (s.layer !== undefined && s.layer >= info.layers.length)
        throw new UserFacingError(`${vscode.workspace.asRelativePath(s.model)} has no layer ${s.layer} (it has ${info.layers.length}).`);
      const full = `Feature Lens: ${page.title(s, { view, model: info })}`;
      if (this.primary) this.panel.title = full;
      const ctx = this.context(gen, view, info, lens, full);
      const msg = await page.load(ctx, s);
      if (gen !== this.generation) return;
      this.post(msg);
      void page.after?.(ctx, s, msg).catch((e) => this.deps.log.warn(`Inspector ${s.page} page: ${logMessage(e)}`));
    } catch (e) {
      if (gen !== this.generation) return;
      this.deps.log.error(`Inspector (${title}): ${logMessage(e)}`);
      this.post({ type: 'error', title, message: shortMessage(e, `Feature Lens: ${title}`) });
    }
  }

  /** What a page module may use while page `gen` is the one asked for. */
  private context(gen: number, view: ViewOptionValues, model: ModelInfo, lens: LensInfo | undefined, title: string): PageContext {
    const { engine, log } = this.deps;
    const current = () => gen === this.generation;
    return {
      call: (method, params, opts) => engine.call(method, params, opts),
      storageDir: this.deps.storageDir,
      view,
      model,
      lens,
      title,
      post: (m) => current() && this.post(m),
      current,
      byClass: () => (lens ? this.byClassTables.get(lens, model) : Promise.resolve(null)),
      log,
      primary: this.primary,
      onNode: this.deps.onNode,
      maximized: (s) => this.maximizer.resultFor(s),
      timelapse: this.timelapse.cache,
      ...(lens ? {} : this.picks.context(model.path)),
    };
  }
}
