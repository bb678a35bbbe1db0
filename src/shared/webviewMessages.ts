/**
 * Messages from the inspector webview to the extension host (the host's messages and the page kinds are in
 * `webviewProtocol.ts`, which re-exports these). Types only; `webviewChecks.ts` checks them at the boundary.
 */
import type { ProjectionMethod, ScoreMetric } from './protocol';
import type { PageKind } from './webviewProtocol';
import type { TimelapseExportMessage, TimelapseRequestMessage } from './timelapseMessages';

export interface ReadyMessage {
  type: 'ready';
}
/** Go to another node (keyboard navigation, a click on a weight tile). */
export interface SelectNodeMessage {
  type: 'selectNode';
  layer: number;
  node: number;
}
export interface SetMethodMessage {
  type: 'setMethod';
  method: ProjectionMethod;
}
/** Rank top images by another score (the `featureLens.topActivations.rankBy` setting). */
export interface SetMetricMessage {
  type: 'setMetric';
  metric: ScoreMetric;
}
export interface MaximizeMessage {
  type: 'maximize';
}
/** Node page of a model without a lens file: pick an image file to see the node through (`pickImage`), or forget it (`clearImage`). */
export interface PickImageMessage {
  type: 'pickImage' | 'clearImage';
}
/** Model page of a model without a lens file: write a lens file for it (the host asks for the dataset). */
export interface CreateLensMessage {
  type: 'createLens';
}
/** Error page: open the Feature Lens log, or draw the page again. */
export interface ErrorActionMessage {
  type: 'showLog' | 'retry';
}
/** Layer page: show the feature maps of this dataset image. */
export interface SelectImageMessage {
  type: 'selectImage';
  index: number;
}
export interface OpenPageMessage {
  type: 'openPage';
  page: PageKind;
}
export interface ExportPngMessage {
  type: 'exportPng';
  /** PNG file bytes. */
  data: Uint8Array;
}
/** Comparison page: match other layers (A's `layer`, B's `otherLayer`; absent: the engine's default). */
export interface CompareLayersMessage {
  type: 'compareLayers';
  layer?: number;
  otherLayer?: number;
}
/** Comparison page: open node `node` of layer `layer` of model B (the other lens file) on its node page. */
export interface OpenOtherNodeMessage {
  type: 'openOtherNode';
  layer: number;
  node: number;
}
/** Node page: the "Randomize weights" toggle and its depth (layers randomized; absent: all). */
export interface RandomizeMessage {
  type: 'randomize';
  on: boolean;
  depth?: number;
}
/** Open node pages of both models side by side: node `node` of A's `layer`, node `otherNode` of B's `otherLayer`. */
export interface CompareNodesMessage {
  type: 'compareNodes';
  layer: number;
  node: number;
  otherLayer: number;
  otherNode: number;
}
/** The page for the last host message is drawn (the host logs the time from request to paint). */
export interface PaintedMessage {
  type: 'painted';
  page: PageKind;
  /** Milliseconds the webview spent from receiving the page to the frame after drawing it. */
  drawMs?: number;
}
export interface LogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

export type WebviewMessage =
  | ReadyMessage
  | SelectNodeMessage
  | SetMethodMessage
  | SetMetricMessage
  | MaximizeMessage
  | CreateLensMessage
  | PickImageMessage
  | ErrorActionMessage
  | SelectImageMessage
  | OpenPageMessage
  | ExportPngMessage
  | PaintedMessage
  | CompareLayersMessage
  | OpenOtherNodeMessage
  | RandomizeMessage
  | CompareNodesMessage
  | TimelapseRequestMessage
  | TimelapseExportMessage
  | LogMessage;
