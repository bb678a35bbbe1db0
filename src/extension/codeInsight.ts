/**
 * The model where the code is: hovers and CodeLens over the layers a lens file's `training.architecture` lists,
 * and over the layers training code names (PyTorch module paths such as `self.layer1[0].conv1`, Keras / TF.js
 * `name: 'conv1'` strings), each with the layer's shape, nodes, dead nodes when an index is stored, its first
 * filters as a PNG (hovers: a `data:` URI in the Markdown, drawn by the engine, cached per weights by
 * `layerCatalog.ts`) and a link to the layer page. Layer lists come from the engine's `modelInfo` (cached per model file and mtime, asked
 * only when a document that could mention a layer is shown); a workspace without models costs a file search.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isLensFile } from '../shared/modelFiles';
import type { LayerInfo } from '../shared/protocol';
import type { EngineClient } from './engineClient';
import { architectureEntries } from './jsonLocate';
import { findLayerMentions, type LayerMention } from './layerMatch';
import { formatShape } from './treeModel';
import { distance, LayerCatalog, type KnownModel, type LayerHit } from './layerCatalog';

export const CODE_LENS_KEY = 'editor.codeLens';
export const HOVER_KEY = 'editor.hover';
const enabled = (key: string) => vscode.workspace.getConfiguration('featureLens').get<boolean>(key, true) !== false;

const CODE_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', language: 'python' },
  { scheme: 'file', language: 'typescript' },
  { scheme: 'file', language: 'javascript' },
  { scheme: 'file', language: 'typescriptreact' },
  { scheme: 'file', language: 'javascriptreact' },
];
const LENS_SELECTOR: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/*.lens.json' }];

function inspectArgs(hit: LayerHit): { lens?: string; model: string; layer: number } {
  return { ...(hit.known.lens ? { lens: hit.known.lens } : {}), model: hit.known.model, layer: hit.layer.index };
}

function summary(layer: LayerInfo, dead?: number): string {
  const parts = [`${layer.className} ${formatShape(layer.outputShape)}`, `${layer.nodes} node${layer.nodes === 1 ? '' : 's'}`];
  if (dead !== undefined) parts.push(`${dead} dead`);
  return parts.join(' · ');
}

/** How long a hover waits for a preview the engine has not made yet (the next hover shows it once it has). */
const PREVIEW_WAIT_MS = 1_000;

class Provider implements vscode.HoverProvider, vscode.CodeLensProvider {
  private readonly lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensChanged.event;
  private readonly mentions = new Map<string, { version: number; names: string; mentions: LayerMention[] }>();

  constructor(private readonly catalog: LayerCatalog) {
    catalog.onDidChange(() => this.lensChanged.fire());
  }

  refresh(): void {
    this.lensChanged.fire();
  }

  dispose(): void {
    this.lensChanged.dispose();
  }

  /** Each layer mention of a document with the models that have it, nearest first. */
  private async hits(doc: vscode.TextDocument, wait: boolean): Promise<{ range: vscode.Range; hits: LayerHit[]; definition: boolean }[]> {
    const models = await this.catalog.models(wait);
    if (models.length === 0) return [];
    if (isLensFile(doc.fileName)) return this.lensHits(doc, models);
    const byName = new Map<string, LayerHit[]>();
    for (const known of models) for (const layer of known.info.layers) byName.set(layer.name, [...(byName.get(layer.name) ?? []), { known, layer }]);
    const key = [...byName.keys()].sort().join('\n');
    let cached = this.mentions.get(doc.uri.toString());
    if (!cached || cached.version !== doc.version || cached.names !== key) {
      cached = { version: doc.version, names: key, mentions: findLayerMentions(doc.getText(), new Set(byName.keys())) };
      this.mentions.set(doc.uri.toString(), cached);
    }
    const text = doc.getText();
    return cached.mentions.map((m) => {
      const hits = [...byName.get(m.name)!].sort((a, b) => distance(doc.fileName, a.known.model) - distance(doc.fileName, b.known.model));
      // A definition: an assignment to the attribute (`self.conv1 = ...`) or a layer's name string.
      const after = text.slice(m.end, m.end + 4);
      const definition = /^\s*=[^=]/.test(after) || /['"`]/.test(text[m.start - 1] ?? '');
      return { range: new vscode.Range(doc.positionAt(m.start), doc.positionAt(m.end)), hits, definition };
    });
  }

  /** A lens file: each entry of `training.architecture`, matched to its model's layer by name, else by position. */
  private lensHits(doc: vscode.TextDocument, models: KnownModel[]): { range: vscode.Range; hits: LayerHit[]; definition: boolean }[] {
    const known = models.find((k) => k.lens && path.resolve(k.lens) === path.resolve(doc.fileName));
    if (!known) return [];
    const layers = known.info.layers.filter((l) => l.kind !== 'input');
    const entries = architectureEntries(doc.getText());
    const out: { range: vscode.Range; hits: LayerHit[]; definition: boolean }[] = [];
    for (const e of entries) {
      // By name; an unnamed entry by its position only when the model lists every entry (Flatten and Dropout
      // have no nodes and are not listed, which shifts positions).
      const layer = e.name !== undefined ? known.info.layers.find((l) => l.name === e.name) : entries.length === layers.length ? layers[e.index] : undefined;
      if (layer) out.push({ range: new vscode.Range(doc.positionAt(e.start), doc.positionAt(e.end)), hits: [{ known, layer }], definition: true });
    }
    return out;
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    if (!enabled(HOVER_KEY)) return undefined;
    const all = await this.hits(doc, true);
    const at = all.filter((h) => h.range.contains(pos));
    // In a lens file the innermost entry; in code the mention under the cursor.
    const found = at.sort((a, b) => doc.offsetAt(a.range.end) - doc.offsetAt(a.range.start) - (doc.offsetAt(b.range.end) - doc.offsetAt(b.range.start)))[0];
    if (!found) return undefined;
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['featureLens.inspectLayer'] };
    for (const hit of found.hits.slice(0, 3)) {
      const dead = (await this.catalog.deadNodes(hit.known))?.get(hit.layer.index);
      const where = vscode.workspace.asRelativePath(hit.known.lens ?? hit.known.model);
      const args = encodeURIComponent(JSON.stringify([inspectArgs(hit)]));
      md.appendMarkdown(`**${escapeMd(hit.layer.name)}** · ${escapeMd(summary(hit.layer, dead))}  \n`);
      md.appendMarkdown(`${escapeMd(where)} · [$(telescope) Inspect](command:featureLens.inspectLayer?${args} "Open the layer page")\n\n`);
      const preview = await Promise.race([
        this.catalog.filterPreview(hit.known, hit.layer),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), PREVIEW_WAIT_MS)),
      ]);
      if (preview) md.appendMarkdown(`![The first filters of ${escapeMd(hit.layer.name)}](${preview})\n\n`);
    }
    if (found.hits.length > 3) md.appendMarkdown(`…and ${found.hits.length - 3} more models with this layer`);
    return new vscode.Hover(md, found.range);
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (!enabled(CODE_LENS_KEY)) return [];
    // Only what is known now: the engine is asked in the background, and the lenses come when it answers.
    const all = await this.hits(doc, false);
    const out: vscode.CodeLens[] = [];
    const shown = new Set<string>();
    const first = new Map<string, (typeof all)[number]>();
    for (const h of all) {
      const key = `${h.hits[0].known.model}:${h.hits[0].layer.index}`;
      if (!first.has(key)) first.set(key, h);
    }
    for (const h of all) {
      const hit = h.hits[0];
      const key = `${hit.known.model}:${hit.layer.index}`;
      // On each definition of a layer, else on its first mention; one per line and layer.
      if (!h.definition && first.get(key) !== h) continue;
      const lineKey = `${h.range.start.line}:${key}`;
      if (shown.has(lineKey)) continue;
      shown.add(lineKey);
      const range = new vscode.Range(h.range.start.line, 0, h.range.start.line, 0);
      out.push(
        new vscode.CodeLens(range, {
          title: `$(telescope) ${hit.layer.name}: ${summary(hit.layer)}`,
          tooltip: `Inspect ${hit.layer.name} of ${vscode.workspace.asRelativePath(hit.known.lens ?? hit.known.model)}`,
          command: 'featureLens.inspectLayer',
          arguments: [inspectArgs(hit)],
        }),
      );
    }
    return out;
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

/** Registers the hovers and CodeLens (each off by its setting). */
export function registerCodeInsight(engine: EngineClient, log: vscode.LogOutputChannel, storageDir: () => Promise<string>): vscode.Disposable {
  const catalog = new LayerCatalog(engine, log, storageDir);
  const provider = new Provider(catalog);
  const selector = [...(CODE_SELECTOR as vscode.DocumentFilter[]), ...(LENS_SELECTOR as vscode.DocumentFilter[])];
  const subs = [
    catalog,
    provider,
    vscode.languages.registerHoverProvider(selector, provider),
    vscode.languages.registerCodeLensProvider(selector, provider),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`featureLens.${CODE_LENS_KEY}`)) provider.refresh();
    }),
  ];
  return { dispose: () => subs.forEach((d) => d.dispose()) };
}
