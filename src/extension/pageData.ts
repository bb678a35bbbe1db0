/**
 * Turns engine replies into webview page messages: plain data, pixels copied into exact-size ArrayBuffers.
 * No vscode import (tested in plain Node).
 */
import { describePreprocess, type LensInfo, type MethodName, type ModelInfo, type NodeInspection, type WeightsResult } from '../shared/protocol';
import { toPixels, type ModelSummary, type PanelState, type WeightsView, type NodePageMessage, type ModelPageMessage } from '../shared/webviewProtocol';

export function modelSummary(info: ModelInfo, lens?: LensInfo): ModelSummary {
  return {
    name: lens?.name ?? info.name,
    path: info.path,
    lens: lens?.path,
    inputShape: info.inputShape,
    ...(lens?.preprocess ? { preprocess: describePreprocess(lens.preprocess) } : {}),
    totalParams: info.totalParams,
    backend: info.backend,
    layers: info.layers.map((l) => ({ index: l.index, name: l.name, className: l.className, outputShape: l.outputShape, nodes: l.nodes, params: l.params, activation: l.activation })),
  };
}

export function weightsView(w: WeightsResult): WeightsView {
  return { tiles: w.tiles.map((ts) => ts.map((t) => toPixels(t.shape, t.data))), nodes: w.nodes, rgb: w.rgb, min: w.min, max: w.max };
}

export function nodePage(r: NodeInspection, state: PanelState, lens: LensInfo | undefined, title: string): NodePageMessage {
  const layer = r.model.layers[r.layer];
  let pmin = Infinity;
  let pmax = -Infinity;
  const items = (r.top?.items ?? []).map((it) => {
    if (it.projection) {
      for (const v of it.projection.data) {
        if (v < pmin) pmin = v;
        if (v > pmax) pmax = v;
      }
    }
    return {
      index: it.entry.index,
      score: it.entry.score,
      label: it.entry.label,
      className: it.className,
      image: toPixels(it.image.shape, it.image.data),
      featureMap: toPixels(it.featureMap.shape, it.featureMap.data),
      projection: it.projection ? toPixels(it.projection.shape, it.projection.data) : undefined,
      ...(it.entry.location ? { location: it.entry.location } : {}),
    };
  });
  return {
    type: 'node',
    title,
    state,
    model: modelSummary(r.model, lens),
    layer: r.layer,
    node: r.node,
    nodes: layer?.nodes ?? 0,
    method: r.method,
    weights: r.weights ? weightsView(r.weights) : undefined,
    top: r.top ? { metric: r.top.metric, items } : undefined,
    projectionError: r.projectionError,
    topNote: r.top ? undefined : lens ? 'No top-activation index yet: run "Feature Lens: Compute Top Activations".' : 'This model has no lens file, so there is no dataset to rank images from.',
    projectionRange: Number.isFinite(pmin) ? { min: pmin, max: pmax } : undefined,
  };
}

export function modelPage(info: ModelInfo, lens: LensInfo | undefined, state: PanelState, title: string): ModelPageMessage {
  const t = lens?.lastTraining;
  return {
    type: 'model',
    title,
    state,
    model: modelSummary(info, lens),
    training: t
      ? {
          history: t.history.map((h) => ({ ...h })),
          testAccuracy: t.testAccuracy,
          testError: t.testError,
          trainAccuracy: t.trainAccuracy,
          confusion: t.confusion.map((r) => [...r]),
          classes: [...t.classes],
          epochs: t.epochs,
          seconds: t.seconds,
          backend: t.backend,
          crossTests: t.crossTests?.map((c) => ({ ...c })),
        }
      : undefined,
    note: t ? undefined : lens ? (lens.trainingNote ?? 'No training results yet: run "Feature Lens: Train Model".') : 'Training results are shown for models trained from a lens file.',
  };
}

/** What each engine request computes, in the words of a page that waits for it. */
const WORK: Partial<Record<MethodName, string>> = {
  inspectNode: 'a node page',
  weights: 'weights',
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
};

/** The line a slow page shows: what the engine is still busy with (`pending`: its open requests, oldest first). */
export function waitingText(pending: readonly MethodName[]): string {
  const words = [...new Set(pending.map((m) => WORK[m] ?? m))];
  if (!words.length) return 'Still working…';
  return `Waiting for the engine, still computing ${words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}` : words[0]}…`;
}
