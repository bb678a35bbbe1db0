/**
 * The node page's time-lapse (issue 14): the messages between the host and the webview about a node at each
 * checkpoint of its lens's series. Types only (re-exported by `webviewProtocol.ts`); the checks of the webview's
 * request are in `webviewChecks.ts`.
 */
import type { ProjectionMethod, ScoreMetric } from './engineNames';
import type { TopItem, WeightsView } from './webviewProtocol';

/** After a node page whose lens has checkpoints: the epochs the slider offers (the frames follow as computed). */
export interface TimelapseSeriesMessage {
  type: 'timelapseSeries';
  layer: number;
  node: number;
  epochs: number[];
}

/** The node at checkpoint `index` of the series: its weights, top images, feature maps and projections, scores. */
export interface TimelapseFrameMessage {
  type: 'timelapseFrame';
  layer: number;
  node: number;
  index: number;
  epoch: number;
  method: ProjectionMethod;
  metric: ScoreMetric;
  /** The node's weights at this checkpoint (one node: `tiles[0]`), with the layer's range. */
  weights?: WeightsView;
  items: TopItem[];
  /** Test-split indices of the top-k, best first (the overlap of consecutive checkpoints is computed from them). */
  topIndices: number[];
  k: number;
  topScore: number;
  meanTopScore: number;
  projectionError?: string;
}

/** The time-lapse's computation: running (`busy`, with what), done, failed or cancelled (`message`). */
export interface TimelapseStatusMessage {
  type: 'timelapseStatus';
  layer: number;
  node: number;
  busy: boolean;
  message?: string;
}

/** Webview → host: compute checkpoint `index` of the series (absent: every checkpoint not computed yet). */
export interface TimelapseRequestMessage {
  type: 'timelapse';
  index?: number;
}

/** Webview → host: save the time-lapse as an animated GIF (the host asks where). */
export interface TimelapseExportMessage {
  type: 'exportTimelapse';
}

export type TimelapseUpdateMessage = TimelapseSeriesMessage | TimelapseFrameMessage | TimelapseStatusMessage;
