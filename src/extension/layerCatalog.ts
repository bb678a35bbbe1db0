/** The layers of the workspace's models, as the hovers and CodeLens of `codeInsight.ts` look them up. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isLensFile, isModelFile, LENS_GLOB, MODEL_FILE_GLOB } from '../shared/modelFiles';
import type { LayerInfo, ModelInfo } from '../shared/protocol';
import { Disposable } from './dispose';
import type { EngineClient } from './engineClient';
import { EXCLUDE_GLOB, MODEL_GLOB } from './targets';

/** A model of the workspace with its layers (and the lens that names it, when one does). */
export interface KnownModel {
  model: string;
  lens?: string;
  info: ModelInfo;
}

/** A layer a document mentions, in one model. */
export interface LayerHit {
  known: KnownModel;
  layer: LayerInfo;
}

/**
 * The models of the workspace with their layers, for the hovers and CodeLens: the model files (and the lens files
 * naming them), each model's layers from the engine once per file version, and its dead nodes from a stored index.
 */
export class LayerCatalog extends Disposable {
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

/** The folder distance between a document and a model: models beside the code come first. */
export function distance(doc: string, model: string): number {
  const a = path.dirname(doc).split(path.sep);
  const b = path.dirname(model).split(path.sep);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return a.length - common + (b.length - common);
}
