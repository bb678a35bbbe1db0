/**
 * The model where the code is: hovers and CodeLens over the layers a lens file's `training.architecture` lists,
 * and over the layers training code names (PyTorch module paths such as `self.layer1[0].conv1`, Keras / TF.js
 * `name: 'conv1'` strings), each with the layer's shape, nodes, dead nodes when an index is stored, its first
 * filters as a PNG (hovers: a `data:` URI in the Markdown, drawn by the engine, cached per weights) and a link to
 * the layer page. Layer lists come from the engine's `modelInfo` (cached per model file and mtime, asked
 * only when a document that could mention a layer is shown); a workspace without models costs a file search.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isLensFile, isModelFile, LENS_GLOB, MODEL_FILE_GLOB } from '../shared/modelFiles';
import type { LayerInfo, ModelInfo } from '../shared/protocol';
import { Disposable } from './dispose';
import type { EngineClient } from './engineClient';
import { architectureEntries } from './jsonLocate';
import { findLayerMentions, type LayerMention } from './layerMatch';
import { EXCLUDE_GLOB, MODEL_GLOB } from './targets';
import { formatShape } from './treeModel';

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

/** A model of the workspace with its layers (and the lens that names it, when one does). */
interface KnownModel {
  model: string;
  lens?: string;
  info: ModelInfo;
}

/** A layer a document mentions, in one model. */
interface LayerHit {
  known: KnownModel;
  layer: LayerInfo;
}

class LayerCatalog extends Disposable {
  private files: Promise<{ model: string; lens?: string }[]> | undefined;
  private readonly infos = new Map<string, { mtimeMs: number; info: Promise<ModelInfo | undefined>; done?: boolean }>();
  private readonly dead = new Map<string, Promise<Map<number, number> | undefined>>();
  private readonly previews = new Map<string, Promise<string | undefined>>();
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  /** Fired when a model's layers became known or changed. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
    private readonly storageDir: () => Promise<string>,
  ) {
    super();
    const forget = () => {
      this.files = undefined;
      this.changed.fire();
    };
    for (const glob of [LENS_GLOB, MODEL_FILE_GLOB]) {
      const w = this._register(vscode.workspace.createFileSystemWatcher(glob));
      this._register(w.onDidChange(forget));
      this._register(w.onDidCreate(forget));
      this._register(w.onDidDelete(forget));
    }
  }

  /** The workspace's models: each lens file's model, and every model file no lens names. */
  private listFiles(): Promise<{ model: string; lens?: string }[]> {
    this.files ??= (async () => {
      const uris = await vscode.workspace.findFiles(MODEL_GLOB, EXCLUDE_GLOB, 500);
      const out: { model: string; lens?: string }[] = [];
      const named = new Set<string>();
      for (const u of uris.filter((x) => isLensFile(x.fsPath))) {
        try {
          const json = JSON.parse(await fs.promises.readFile(u.fsPath, 'utf8')) as { model?: unknown };
          if (typeof json.model !== 'string') continue;
          const model = path.resolve(path.dirname(u.fsPath), json.model);
          named.add(model);
          out.push({ model, lens: u.fsPath });
        } catch {
          // A lens file that does not parse: the Models view and the Problems panel say why.
        }
      }
      for (const u of uris) if (isModelFile(u.fsPath) && !named.has(path.resolve(u.fsPath))) out.push({ model: u.fsPath });
      // A model several lenses name is listed once, through the lens nearest to it.
      const byModel = new Map<string, { model: string; lens?: string }>();
      for (const f of out) {
        const had = byModel.get(f.model);
        if (!had || (f.lens && had.lens && distance(f.lens, f.model) < distance(had.lens, had.model))) byModel.set(f.model, f);
      }
      return [...byModel.values()];
    })();
    return this.files;
  }

  /** The info of a model file, asked of the engine once per mtime; undefined when it does not exist or load. */
  private info(model: string): { ready: boolean; info: Promise<ModelInfo | undefined> } | undefined {
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(model).mtimeMs;
    } catch {
      return undefined;
    }
    const hit = this.infos.get(model);
    if (hit && hit.mtimeMs === mtimeMs) return { ready: hit.done === true, info: hit.info };
    const entry: { mtimeMs: number; info: Promise<ModelInfo | undefined>; done?: boolean } = { mtimeMs, info: Promise.resolve(undefined) };
    entry.info = this.engine.request('modelInfo', { model }).then((r) => {
      entry.done = true;
      if ('err' in r) {
        this.log.debug(`Editor hovers: ${model}: ${r.err.message}`);
        return undefined;
      }
      this.changed.fire();
      return r.ok;
    });
    this.infos.set(model, entry);
    return { ready: false, info: entry.info };
  }

  /**
   * The models whose layers are known. With `wait`, asks the engine for those not known yet and waits; without,
   * returns at once what is known (and asks in the background: `onDidChange` fires when more is known).
   */
  async models(wait: boolean): Promise<KnownModel[]> {
    const files = await this.listFiles();
    const out: KnownModel[] = [];
    for (const f of files) {
      const i = this.info(f.model);
      if (!i) continue;
      if (!i.ready && !wait) continue;
      const info = await i.info;
      if (info) out.push({ ...f, info });
    }
    return out;
  }

  /** Dead nodes per layer index (never firing on the test split), when an index of the lens is stored; cached per weights. */
  deadNodes(known: KnownModel): Promise<Map<number, number> | undefined> {
    if (!known.lens) return Promise.resolve(undefined);
    const key = `${known.lens}:${known.info.weightsHash}`;
    let p = this.dead.get(key);
    if (!p) {
      // An answer stays per weights; "no index yet" is asked again on the next hover (a scan may have made one).
      const forgetIfNone = (m: Map<number, number> | undefined) => {
        if (!m && this.dead.get(key) === p) this.dead.delete(key);
        return m;
      };
      p = this.storageDir()
        .then((storageDir) => this.engine.request('layerByClass', { lens: known.lens!, storageDir, indexOnly: true }))
        .then((r) => {
          if ('err' in r || !r.ok) return undefined;
          const m = new Map<number, number>();
          r.ok.layers.forEach((layer, col) => m.set(layer, r.ok!.deadFraction[col].filter((f) => f >= 0.999).length));
          return m;
        })
        .then(forgetIfNone);
      this.dead.set(key, p);
    }
    return p;
  }

  /**
   * The layer's first filters as a PNG `data:` URI (computed by the engine), cached per weights; undefined for a
   * layer without image weights, or a preview too large for a hover's Markdown.
   */
  filterPreview(known: KnownModel, layer: LayerInfo): Promise<string | undefined> {
    if (!layer.hasWeights) return Promise.resolve(undefined);
    const key = `${known.model}:${known.info.weightsHash}:${layer.index}`;
    let p = this.previews.get(key);
    if (!p) {
      p = this.engine.request('filterPreview', { model: known.model, layer: layer.index }).then((r) => {
        if ('err' in r) {
          this.log.debug(`Editor hovers: filters of ${layer.name} in ${known.model}: ${r.err.message}`);
          return undefined;
        }
        if (!r.ok) return undefined;
        const uri = `data:image/png;base64,${Buffer.from(r.ok).toString('base64')}`;
        return uri.length <= MAX_PREVIEW_URI ? uri : undefined;
      });
      this.previews.set(key, p);
    }
    return p;
  }
}

/** VS Code cuts a hover's Markdown after 100,000 characters: a preview stays well below. */
const MAX_PREVIEW_URI = 60_000;
/** How long a hover waits for a preview the engine has not made yet (the next hover shows it once it has). */
const PREVIEW_WAIT_MS = 1_000;

/** The folder distance between a document and a model: models beside the code come first. */
function distance(doc: string, model: string): number {
  const a = path.dirname(doc).split(path.sep);
  const b = path.dirname(model).split(path.sep);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return a.length - common + (b.length - common);
}

function inspectArgs(hit: LayerHit): { lens?: string; model: string; layer: number } {
  return { ...(hit.known.lens ? { lens: hit.known.lens } : {}), model: hit.known.model, layer: hit.layer.index };
}

function summary(layer: LayerInfo, dead?: number): string {
  const parts = [`${layer.className} ${formatShape(layer.outputShape)}`, `${layer.nodes} node${layer.nodes === 1 ? '' : 's'}`];
  if (dead !== undefined) parts.push(`${dead} dead`);
  return parts.join(' · ');
}

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
      const preview = await Promise.race([this.catalog.filterPreview(hit.known, hit.layer), new Promise<undefined>((r) => setTimeout(() => r(undefined), PREVIEW_WAIT_MS))]);
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
      out.push(new vscode.CodeLens(range, { title: `$(telescope) ${hit.layer.name}: ${summary(hit.layer)}`, tooltip: `Inspect ${hit.layer.name} of ${vscode.workspace.asRelativePath(hit.known.lens ?? hit.known.model)}`, command: 'featureLens.inspectLayer', arguments: [inspectArgs(hit)] }));
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
