/**
 * What several pages send (the model's summary, a layer's weights as pixels) and the line a slow page shows.
 * Each page's own message is built in its module, src/extension/pages/<page>.ts. No vscode import.
 */
import { describePreprocess, type LensInfo, type MethodName, type ModelInfo, type NodeInspection, type WeightsResult } from '../shared/protocol';
import { toPixels } from '../shared/messagePacking';
import type { ModelSummary, TopItem, WeightsView } from '../shared/webviewProtocol';

export function modelSummary(info: ModelInfo, lens?: LensInfo): ModelSummary {
  return {
    name: lens?.name ?? info.name,
    path: info.path,
    lens: lens?.path,
    inputShape: info.inputShape,
    totalParams: info.totalParams,
    backend: info.backend,
    layers: info.layers.map((l) => ({
      index: l.index,
      name: l.name,
      className: l.className,
      outputShape: l.outputShape,
      nodes: l.nodes,
      params: l.params,
      activation: l.activation,
    })),
    ...(info.note ? { note: info.note } : {}),
    ...(lens?.preprocess ? { preprocess: describePreprocess(lens.preprocess) } : {}),
  };
}

export function weightsView(w: WeightsResult): WeightsView {
  return { tiles: w.tiles.map((ts) => ts.map((t) => toPixels(t.shape, t.data))), nodes: w.nodes, rgb: w.rgb, min: w.min, max: w.max };
}

/** What each engine request computes, in the words of a page that waits for it. */
const WORK: Partial<Record<MethodName, string>> = {
  inspectNode: 'a node page',
  inspectImage: 'the picked image',
  inspectLayer: 'a layer page',
  weights: 'weights',
  filterPreview: 'the filters an editor hover shows',
  featureMaps: 'feature maps',
  datasetImage: 'a dataset image',
  layerByClass: 'the layer activation by class',
  topActivations: 'top activations',
  thumbnails: 'top images for the Top Activations view',
  modelInfo: 'reading a model',
  lens: 'reading a lens file',
  project: 'a projection',
  train: 'a training',
  scan: 'a top-activation scan',
  maximize: 'an activation maximization',
  compare: 'a comparison of two models',
  matchNodes: 'node matching of two models',
};

/** One of the engine's top images as the webview draws it (the node page's grid, a time-lapse frame). */
export function topItem(it: NonNullable<NodeInspection['top']>['items'][number]): TopItem {
  return {
    index: it.entry.index,
    score: it.entry.score,
    label: it.entry.label,
    className: it.className,
    image: toPixels(it.image.shape, it.image.data),
    featureMap: toPixels(it.featureMap.shape, it.featureMap.data),
    ...(it.projection ? { projection: toPixels(it.projection.shape, it.projection.data) } : {}),
    ...(it.entry.location ? { location: it.entry.location } : {}),
  };
}

/** The line a slow page shows: what the engine is still busy with (`pending`: its open requests, oldest first). */
export function waitingText(pending: readonly MethodName[]): string {
  const words = [...new Set(pending.map((m) => WORK[m] ?? m))];
  if (!words.length) return 'Still working…';
  return `Waiting for the engine, still computing ${words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}` : words[0]}…`;
}
