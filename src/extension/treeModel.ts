/**
 * The Models and Top Activations trees as plain data: which children an entry has, and how each entry looks
 * (label, description, contextValue). No vscode import, so it is tested in plain Node against real
 * `ModelInfo`/`LensInfo` values; `modelsView.ts`/`topView.ts` only turn `ItemView`s into TreeItems.
 */
import * as path from 'node:path';
import { formatNumber } from '../shared/colormap';
import type { LayerInfo, LayerKind, LensInfo, ModelInfo, TopActivationsResult } from '../shared/protocol';

/** At most this many node entries are listed under a layer; the rest is one "… N more" entry. */
export const NODE_CAP = 512;

/** A lens file or a model.json, at the top of the Models view. */
export interface ModelEntry {
  kind: 'model';
  id: string;
  /** The lens file (contextValue `lens`) or the model.json (contextValue `model`). */
  file: string;
  workspaceRelative: string;
  lens?: LensInfo;
  /** Why the lens or model could not be read. */
  error?: string;
}
export interface LayerEntry {
  kind: 'layer';
  id: string;
  parent: ModelEntry;
  /** The model.json the layer belongs to. */
  model: string;
  layer: LayerInfo;
}
export interface NodeEntry {
  kind: 'node';
  id: string;
  parent: LayerEntry;
  node: number;
}
export interface MoreEntry {
  kind: 'more';
  id: string;
  parent: LayerEntry;
  count: number;
}
/** A line of text in place of children: "not trained yet", an error. */
export interface MessageEntry {
  kind: 'message';
  id: string;
  parent: ModelEntry;
  text: string;
  error?: boolean;
  /** A command the entry runs when clicked, by id. */
  command?: string;
}
export type ModelsEntry = ModelEntry | LayerEntry | NodeEntry | MoreEntry | MessageEntry;

/** One top-activating image of the selected node. */
export interface ImageEntry {
  kind: 'image';
  id: string;
  lens: string;
  model: string;
  layer: number;
  node: number;
  rank: number;
  index: number;
  score: number;
  className: string;
  /** A small PNG of the image (written by the engine), shown as the icon when present. */
  thumbnail?: string;
}

/** How an entry looks; the view turns it into a TreeItem. */
export interface ItemView {
  label: string;
  description?: string;
  tooltip?: string;
  contextValue?: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  /** A codicon id. */
  icon?: string;
  /** An image file shown as the icon instead of the codicon. */
  iconFile?: string;
  /** A command id and its arguments, run when the item is selected. */
  command?: { id: string; args: unknown[] };
}

/** Layer kinds whose nodes can be inspected one by one (inputs and reshapes have no nodes of their own). */
const NODE_KINDS: ReadonlySet<LayerKind> = new Set<LayerKind>(['dense', 'conv', 'depthwiseConv', 'pool', 'activation', 'normalization', 'merge', 'other']);

export function layerHasNodes(layer: LayerInfo): boolean {
  return NODE_KINDS.has(layer.kind) && layer.nodes > 0 && layer.className !== 'Dropout';
}

/** Builds the top-level entries from the files found in the workspace: lenses first, then models no lens names. */
export function modelEntries(files: { path: string; relative: string }[], lenses: Map<string, LensInfo | { error: string }>): ModelEntry[] {
  const lensFiles = files.filter((f) => f.path.endsWith('.lens.json')).sort((a, b) => a.relative.localeCompare(b.relative));
  const named = new Set<string>();
  const out: ModelEntry[] = [];
  for (const f of lensFiles) {
    const info = lenses.get(f.path);
    const entry: ModelEntry = { kind: 'model', id: `lens:${f.path}`, file: f.path, workspaceRelative: f.relative };
    if (info && 'error' in info) entry.error = info.error;
    else if (info) {
      entry.lens = info;
      named.add(path.resolve(info.model));
    }
    out.push(entry);
  }
  const models = files.filter((f) => path.basename(f.path) === 'model.json' && !named.has(path.resolve(f.path)));
  models.sort((a, b) => a.relative.localeCompare(b.relative));
  for (const f of models) out.push({ kind: 'model', id: `model:${f.path}`, file: f.path, workspaceRelative: f.relative });
  return out;
}

/** The model.json a top-level entry shows (the lens's model, or the file itself). */
export function modelPathOf(entry: ModelEntry): string | undefined {
  if (entry.file.endsWith('.lens.json')) return entry.lens?.model;
  return entry.file;
}

/**
 * Children of a top-level entry, given its model's info (undefined when the model does not exist yet or
 * failed to load: then `error` explains).
 */
export function modelChildren(entry: ModelEntry, info: ModelInfo | undefined, error?: string): (LayerEntry | MessageEntry)[] {
  if (entry.error) return [{ kind: 'message', id: `${entry.id}/error`, parent: entry, text: entry.error, error: true }];
  if (error) return [{ kind: 'message', id: `${entry.id}/error`, parent: entry, text: error, error: true }];
  if (!info) {
    if (entry.lens && !entry.lens.modelExists) {
      return [
        {
          kind: 'message',
          id: `${entry.id}/untrained`,
          parent: entry,
          text: entry.lens.hasTraining ? 'Not trained yet: run Train Model' : 'The model file does not exist yet',
          command: entry.lens.hasTraining ? 'featureLens.trainModel' : undefined,
        },
      ];
    }
    return [];
  }
  return info.layers.map((layer) => ({ kind: 'layer', id: `${entry.id}/layer:${layer.index}:${layer.name}`, parent: entry, model: info.path, layer }));
}

/** Children of a layer: its nodes, at most `cap`, then one entry for the rest. */
export function layerChildren(entry: LayerEntry, cap = NODE_CAP): (NodeEntry | MoreEntry)[] {
  if (!layerHasNodes(entry.layer)) return [];
  const n = entry.layer.nodes;
  const shown = Math.min(n, cap);
  const out: (NodeEntry | MoreEntry)[] = [];
  for (let i = 0; i < shown; i++) out.push({ kind: 'node', id: `${entry.id}/node:${i}`, parent: entry, node: i });
  if (n > shown) out.push({ kind: 'more', id: `${entry.id}/more`, parent: entry, count: n - shown });
  return out;
}

export function parentOf(entry: ModelsEntry): ModelsEntry | undefined {
  return entry.kind === 'model' ? undefined : entry.parent;
}

export function formatShape(shape: number[]): string {
  return `[${shape.map((d) => (d < 0 ? '?' : String(d))).join(', ')}]`;
}

/** The target a command needs, from any entry: the lens (if any), the model, layer and node. */
export function targetOf(entry: ModelsEntry): { lens?: string; model?: string; layer?: number; node?: number } {
  switch (entry.kind) {
    case 'model':
      return { lens: entry.lens?.path, model: modelPathOf(entry) };
    case 'layer':
      return { ...targetOf(entry.parent), model: entry.model, layer: entry.layer.index };
    case 'node':
      return { ...targetOf(entry.parent), node: entry.node };
    case 'more':
    case 'message':
      return targetOf(entry.parent);
  }
}

export function itemView(entry: ModelsEntry): ItemView {
  switch (entry.kind) {
    case 'model': {
      const isLens = entry.file.endsWith('.lens.json');
      const label = isLens ? (entry.lens?.name ?? path.basename(entry.file, '.lens.json')) : path.basename(path.dirname(entry.file));
      const tip = [entry.workspaceRelative];
      if (entry.lens?.description) tip.push(entry.lens.description);
      if (entry.lens) tip.push(`${entry.lens.datasetFormat}: ${entry.lens.classes.length} classes, ${entry.lens.splits.train} train / ${entry.lens.splits.test} test images`);
      if (entry.error) tip.push(entry.error);
      return {
        label,
        description: entry.workspaceRelative,
        tooltip: tip.join('\n'),
        contextValue: isLens ? 'lens' : 'model',
        collapsible: 'collapsed',
        icon: entry.error ? 'error' : isLens ? 'telescope' : 'symbol-structure',
      };
    }
    case 'layer': {
      const l = entry.layer;
      const act = l.activation && l.activation !== 'linear' ? `, ${l.activation}` : '';
      return {
        label: l.name,
        description: `${l.className} ${formatShape(l.outputShape)}`,
        tooltip: `${l.className} ${formatShape(l.outputShape)}${act}\n${l.nodes} nodes, ${l.params} parameters`,
        contextValue: 'layer',
        collapsible: layerHasNodes(l) ? 'collapsed' : 'none',
        icon: LAYER_ICONS[l.kind] ?? 'symbol-misc',
        command: { id: 'featureLens.inspectLayer', args: [targetOf(entry)] },
      };
    }
    case 'node':
      return {
        label: `node ${entry.node}`,
        contextValue: 'node',
        collapsible: 'none',
        icon: 'circle-small-filled',
        command: { id: 'featureLens.inspectNode', args: [targetOf(entry)] },
      };
    case 'more':
      return { label: `… ${entry.count} more`, tooltip: 'Use ←/→ in the inspector panel to reach the other nodes.', collapsible: 'none' };
    case 'message':
      return {
        label: entry.text,
        collapsible: 'none',
        icon: entry.error ? 'error' : 'info',
        tooltip: entry.text,
        command: entry.command ? { id: entry.command, args: [targetOf(entry)] } : undefined,
      };
  }
}

const LAYER_ICONS: Partial<Record<LayerKind, string>> = {
  input: 'symbol-parameter',
  dense: 'symbol-array',
  conv: 'symbol-namespace',
  depthwiseConv: 'symbol-namespace',
  pool: 'fold-down',
  activation: 'symbol-event',
  normalization: 'symbol-operator',
  merge: 'merge',
  reshape: 'symbol-key',
};

/** The Top Activations view's entries for one node. */
export function imageEntries(result: TopActivationsResult, lens: LensInfo, model: string): ImageEntry[] {
  return result.top.map((t, rank) => ({
    kind: 'image',
    id: `top:${lens.path}:${result.layer}:${result.node}:${rank}:${t.index}`,
    lens: lens.path,
    model,
    layer: result.layer,
    node: result.node,
    rank,
    index: t.index,
    score: t.score,
    className: lens.classes[t.label] ?? String(t.label),
  }));
}

/** A score in the tree: 4 significant digits with trailing zeros, so a column of scores lines up. */
function formatScore(score: number): string {
  return formatNumber(score, 4, true);
}

export function imageItemView(e: ImageEntry): ItemView {
  return {
    label: `#${e.index} ${e.className}`,
    description: formatScore(e.score),
    tooltip: `Rank ${e.rank + 1}: test image #${e.index} (${e.className}), score ${e.score}`,
    contextValue: 'image',
    collapsible: 'none',
    icon: 'file-media',
    iconFile: e.thumbnail,
    command: { id: 'featureLens.showDeconvolution', args: [{ lens: e.lens, model: e.model, layer: e.layer, node: e.node, image: e.index }] },
  };
}
