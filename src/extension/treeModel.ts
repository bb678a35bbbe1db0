/**
 * The Models tree as plain data: which children an entry has, and how each entry looks (label, description,
 * contextValue). No vscode import, so it is tested in plain Node against real `ModelInfo`/`LensInfo` values;
 * `modelsView.ts` only turns `ItemView`s into TreeItems. The Top Activations tree's entries are in `topImages.ts`,
 * the ordering of pick candidates in `targetHints.ts`, the problems of an entry in `treeProblems.ts`.
 */
import * as path from 'node:path';
import { isLensFile, isModelFile, modelFileLabel } from '../shared/modelFiles';
import type { LayerInfo, LayerKind, LensInfo, ModelInfo } from '../shared/protocol';
import { modelPathOf, problemsOf, type Problem } from './treeProblems';

export { modelPathOf, type Problem } from './treeProblems';

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
  /** Why the model the entry shows could not be read (known once the view has asked the engine). */
  modelError?: string;
  /** Whether a top-activation index of the lens for the model's current weights is stored. */
  indexReady?: boolean;
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
  /** The problem the entry shows: clicking it opens the file at the problem. */
  problem?: Problem;
}
export type ModelsEntry = ModelEntry | LayerEntry | NodeEntry | MoreEntry | MessageEntry;

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
  const lensFiles = files.filter((f) => isLensFile(f.path)).sort((a, b) => a.relative.localeCompare(b.relative));
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
  const models = files.filter((f) => isModelFile(f.path) && !named.has(path.resolve(f.path)));
  models.sort((a, b) => a.relative.localeCompare(b.relative));
  for (const f of models) out.push({ kind: 'model', id: `model:${f.path}`, file: f.path, workspaceRelative: f.relative });
  return out;
}

/** The status a top-level row shows as its description: trained, untrained, ready, broken, dataset missing, index ready. */
export function statusOf(entry: ModelEntry): string {
  if (entry.error || entry.modelError) return 'broken';
  const parts: string[] = [];
  if (entry.lens) {
    // "trained" only where the lens's recipe trains the model; a model the lens imports (an .onnx, .keras or a
    // model.json trained elsewhere) is "ready" to inspect.
    const made = entry.lens.hasTraining || entry.lens.lastTraining !== undefined;
    parts.push(entry.lens.modelExists ? (made ? 'trained' : 'ready') : entry.lens.hasTraining ? 'untrained' : 'no model file');
    if (entry.lens.datasetError) parts.push('dataset missing');
    if (entry.indexReady) parts.push('index ready');
  } else parts.push('no lens file');
  return parts.join(' · ');
}

/**
 * Children of a top-level entry, given its model's info (undefined when the model does not exist yet or
 * failed to load: then `error` explains).
 */
export function modelChildren(entry: ModelEntry, info: ModelInfo | undefined, error?: string): (LayerEntry | MessageEntry)[] {
  if (error && !entry.modelError) entry.modelError = error;
  const problems = problemsOf(entry);
  const rows: MessageEntry[] = problems.map((p, i) => ({
    kind: 'message',
    id: `${entry.id}/problem:${i}`,
    parent: entry,
    text: p.message,
    error: p.severity === 'error',
    problem: p,
  }));
  if (entry.error || entry.modelError) return rows;
  if (!info) {
    if (rows.length) return rows;
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
  return [
    ...rows,
    ...info.layers.map((layer): LayerEntry => ({
      kind: 'layer',
      id: `${entry.id}/layer:${layer.index}:${layer.name}`,
      parent: entry,
      model: info.path,
      layer,
    })),
  ];
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
    case 'model': {
      // A lens that could not be read is still the target of its row's commands (they then say what is wrong).
      const lens = entry.lens?.path ?? (isLensFile(entry.file) ? entry.file : undefined);
      const model = modelPathOf(entry);
      return { ...(lens ? { lens } : {}), ...(model ? { model } : {}) };
    }
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
      const isLens = isLensFile(entry.file);
      const label = isLens ? (entry.lens?.name ?? path.basename(entry.file, '.lens.json')) : modelFileLabel(entry.file);
      // Short: the file and one line of what it is (the lens's own description is a paragraph: not here).
      const status = statusOf(entry);
      const problems = problemsOf(entry);
      let second: string;
      if (problems.length) second = firstSentence(problems[0].message);
      else if (entry.lens)
        second = `${entry.lens.datasetFormat} dataset, ${entry.lens.classes.length} classes, ${entry.lens.splits.train} train / ${entry.lens.splits.test} test images`;
      else second = 'A TF.js model without a lens file: no dataset to rank images from';
      return {
        label,
        description: status,
        tooltip: `${entry.workspaceRelative}: ${status}\n${second}`,
        contextValue: isLens ? 'lens' : 'model',
        collapsible: 'collapsed',
        icon: entry.error || entry.modelError ? 'error' : entry.lens?.datasetError ? 'warning' : isLens ? 'telescope' : 'symbol-structure',
      };
    }
    case 'layer': {
      const l = entry.layer;
      const act = l.activation && l.activation !== 'linear' ? `, ${l.activation}` : '';
      return {
        label: l.name,
        description: `${l.className} ${formatShape(l.outputShape)}`,
        tooltip: `${l.className} ${formatShape(l.outputShape)}${act}\n${l.nodes} nodes, ${l.params} parameters. Click to inspect the layer.`,
        contextValue: 'layer',
        collapsible: layerHasNodes(l) ? 'collapsed' : 'none',
        icon: LAYER_ICONS[l.kind] ?? 'symbol-misc',
        command: { id: 'featureLens.inspectLayer', args: [targetOf(entry)] },
      };
    }
    case 'node':
      return {
        label: `node ${entry.node}`,
        tooltip: `Node ${entry.node} of ${entry.parent.layer.name}\nClick to inspect its weights and top images.`,
        contextValue: 'node',
        collapsible: 'none',
        icon: 'circle-small-filled',
        command: { id: 'featureLens.inspectNode', args: [targetOf(entry)] },
      };
    case 'more':
      return { label: `… ${entry.count} more`, tooltip: 'Use ←/→ in the inspector panel to reach the other nodes.', collapsible: 'none' };
    case 'message': {
      const p = entry.problem;
      if (p) {
        return {
          label: firstSentence(p.message),
          description: p.field ? `${path.basename(p.file)}: ${p.field}` : path.basename(p.file),
          collapsible: 'none',
          icon: p.severity === 'error' ? 'error' : 'warning',
          tooltip: `${p.message}\nClick to open ${path.basename(p.file)} at the problem.`,
          contextValue: 'problem',
          command: { id: 'featureLens.showProblem', args: [p] },
        };
      }
      return {
        label: entry.text,
        collapsible: 'none',
        icon: entry.error ? 'error' : 'info',
        tooltip: entry.text,
        command: entry.command ? { id: entry.command, args: [targetOf(entry)] } : undefined,
      };
    }
  }
}

/** The first sentence of a message (a tree row has one line), without its final period. */
export function firstSentence(message: string): string {
  const m = /^(.*?[^.\s][.!?])(\s|$)/.exec(message);
  return (m ? m[1] : message).replace(/\.$/, '');
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
