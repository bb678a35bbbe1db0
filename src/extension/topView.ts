import * as vscode from 'vscode';
import { SCORE_METRIC_PHRASES, type LensInfo } from '../shared/protocol';
import { lensBaseName } from '../shared/modelFiles';
import { Disposable } from './dispose';
import type { EngineClient } from './engineClient';
import { logMessage, shortMessage } from './failable';
import { rankBySetting } from './settings';
import { toTreeItem } from './modelsView';
import { imageEntries, imageItemView, type ImageEntry } from './topImages';

/** What the Top Activations view shows, as a context key for its welcome content. */
type TopState = 'noNode' | 'noLens' | 'noIndex' | 'error' | 'ready';

/** The Top Activations view: the selected node's top-k test images, from the engine's index. */
export class TopView extends Disposable implements vscode.TreeDataProvider<ImageEntry> {
  private readonly changed = this._register(new vscode.EventEmitter<ImageEntry | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private node: { lens?: string; model: string; layer: number; node: number } | undefined;
  private entries: Promise<ImageEntry[]> | undefined;
  /** Set by the extension so the view's title can show the node. */
  view: vscode.TreeView<ImageEntry> | undefined;
  private loads = 0;

  constructor(
    private readonly engine: EngineClient,
    private readonly storageDir: () => Promise<string>,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.setState('noNode');
  }

  /** The node the view follows; undefined clears it. */
  get selected() {
    return this.node;
  }

  show(node: { lens?: string; model: string; layer: number; node: number } | undefined): void {
    const same =
      node && this.node && node.lens === this.node.lens && node.model === this.node.model && node.layer === this.node.layer && node.node === this.node.node;
    if (same) return;
    this.node = node;
    this.refresh();
  }

  refresh(): void {
    this.entries = undefined;
    this.changed.fire(undefined);
  }

  getTreeItem(e: ImageEntry): vscode.TreeItem {
    return toTreeItem(e.id, imageItemView(e));
  }

  getParent(): undefined {
    return undefined;
  }

  getChildren(e?: ImageEntry): Promise<ImageEntry[]> | ImageEntry[] {
    if (e) return [];
    this.entries ??= this.load();
    return this.entries;
  }

  private async load(): Promise<ImageEntry[]> {
    const n = this.node;
    const gen = ++this.loads;
    // A slow load can finish after the view moved on to another node (or reloaded); it must then leave the view alone.
    const stale = () => this.node !== n || this.loads !== gen;
    if (this.view) this.view.description = n ? `layer ${n.layer}, node ${n.node}` : undefined;
    if (!n) return this.setState('noNode', []);
    if (!n.lens) return this.setState('noLens', []);
    try {
      const lens: LensInfo = await this.engine.call('lens', { lens: n.lens });
      if (stale()) return [];
      const storageDir = await this.storageDir();
      if (stale()) return [];
      const result = await this.engine.call('topActivations', { lens: n.lens, storageDir, layer: n.layer, node: n.node, metric: rankBySetting() });
      if (stale()) return [];
      if (!result) return this.setState('noIndex', []);
      if (this.view) this.view.description = `${lensBaseName(n.lens)}: layer ${n.layer}, node ${n.node}, by ${SCORE_METRIC_PHRASES[result.metric]}`;
      const entries = imageEntries(result, lens, n.model);
      await this.addThumbnails(n.lens, entries);
      if (stale()) return [];
      return this.setState('ready', entries);
    } catch (e) {
      this.log.warn(`Top activations for layer ${n.layer} node ${n.node}: ${logMessage(e)}`);
      if (stale()) return [];
      if (this.view) this.view.message = shortMessage(e, 'Reading the top activations');
      return this.setState('error', []);
    }
  }

  /** Icons: small PNGs the engine writes under workspace storage (a codicon when that fails). */
  private async addThumbnails(lens: string, entries: ImageEntry[]): Promise<void> {
    if (!entries.length) return;
    const r = await this.engine.request('thumbnails', { lens, indices: entries.map((e) => e.index), outDir: await this.storageDir() });
    if ('ok' in r) entries.forEach((e, i) => (e.thumbnail = r.ok[i]));
    else this.log.debug(`thumbnails: ${r.err.message}`);
  }

  private setState<T>(state: TopState, value?: T): T {
    void vscode.commands.executeCommand('setContext', 'featureLens:topActivations', state);
    if (this.view && state !== 'error') this.view.message = undefined;
    return value as T;
  }
}
