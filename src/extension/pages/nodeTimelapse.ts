/**
 * The node page's time-lapse on the host's side (issue 14): the frames computed so far, kept per node and view
 * (projection method, ranking) so a page drawn again shows them at once, and what follows a node page whose lens
 * has checkpoints (the series, then the frames already computed). No vscode import: tested in plain Node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProjectionMethod, ScoreMetric, TimelapseFrame } from '../../shared/protocol';
import type { HostMessage, PanelState, TimelapseFrameMessage } from '../../shared/webviewProtocol';
import { topItem, weightsView } from '../pageData';
import type { PageContext } from './page';

/** The node of `s` when it is a node page of a lens (the only page with a time-lapse), else undefined. */
export function timelapseNode(s: PanelState): { lens: string; layer: number; node: number } | undefined {
  return s.page === 'node' && s.lens && s.layer !== undefined && s.node !== undefined ? { lens: s.lens, layer: s.layer, node: s.node } : undefined;
}

/** What a series of frames belongs to: the node, its lens and model, and how the page is drawn. */
export interface TimelapseKey {
  lens: string;
  model: string;
  layer: number;
  node: number;
  method: ProjectionMethod;
  metric: ScoreMetric;
}

/** The frames computed per node and view; a series whose epochs changed (a new training) starts afresh. */
export class TimelapseCache {
  private readonly series = new Map<string, { epochs: number[]; frames: Map<number, TimelapseFrameMessage> }>();

  constructor(
    /** Series kept (least recently used dropped first): each frame holds a few top images' pixels. */
    private readonly maxSeries = 8,
  ) {}

  static key(k: TimelapseKey): string {
    return JSON.stringify([k.lens, k.model, k.layer, k.node, k.method, k.metric]);
  }

  /** Records the series' epochs (from `checkpoints`); returns the frames kept for it, in series order. */
  setEpochs(key: string, epochs: number[]): TimelapseFrameMessage[] {
    const old = this.series.get(key);
    const same = old && old.epochs.length === epochs.length && old.epochs.every((e, i) => e === epochs[i]);
    const entry = same ? old : { epochs: [...epochs], frames: new Map<number, TimelapseFrameMessage>() };
    this.series.delete(key);
    this.series.set(key, entry);
    while (this.series.size > this.maxSeries) this.series.delete(this.series.keys().next().value!);
    return [...entry.frames.values()].sort((a, b) => a.index - b.index);
  }

  epochs(key: string): number[] | undefined {
    return this.series.get(key)?.epochs;
  }

  get(key: string, index: number): TimelapseFrameMessage | undefined {
    return this.series.get(key)?.frames.get(index);
  }

  /** The positions of the series not computed yet. */
  missing(key: string): number[] {
    const s = this.series.get(key);
    return s ? s.epochs.map((_, i) => i).filter((i) => !s.frames.has(i)) : [];
  }

  /** Keeps a frame, when its series is known and its epoch is the series' one at its position. */
  set(key: string, frame: TimelapseFrameMessage): boolean {
    const s = this.series.get(key);
    if (!s || s.epochs[frame.index] !== frame.epoch) return false;
    s.frames.set(frame.index, frame);
    return true;
  }

  clear(): void {
    this.series.clear();
  }
}

/** The webview's message for one frame of the engine's `timelapse` (checkpoint `index` of the series). */
export function timelapseFrameMessage(
  f: TimelapseFrame,
  index: number,
  node: number,
  method: ProjectionMethod,
  metric: ScoreMetric,
  k: number,
): TimelapseFrameMessage {
  const items = (f.items ?? []).map(topItem);
  return {
    type: 'timelapseFrame',
    layer: f.layer,
    node,
    index,
    epoch: f.epoch,
    method,
    metric,
    ...(f.weights ? { weights: weightsView(f.weights) } : {}),
    items,
    topIndices: f.top.map((t) => t.index),
    k,
    topScore: f.topScore,
    meanTopScore: f.meanTopScore,
    ...(f.projectionError ? { projectionError: f.projectionError } : {}),
  };
}

export function timelapseKey(ctx: Pick<PageContext, 'view'>, s: PanelState, layer: number, node: number): TimelapseKey | undefined {
  if (!s.lens) return undefined;
  return { lens: s.lens, model: s.model, layer, node, method: ctx.view.method, metric: ctx.view.metric };
}

/**
 * After a node page: when its lens has a checkpoint series, the series and the frames already computed.
 * A lens without checkpoints sends nothing (the page shows no time-lapse).
 */
export async function sendTimelapse(ctx: PageContext, s: PanelState, layer: number, node: number): Promise<void> {
  const key = timelapseKey(ctx, s, layer, node);
  if (!key || !ctx.timelapse) return;
  const series = await ctx.call('checkpoints', { lens: key.lens });
  if (!series.length || !ctx.current()) return;
  const epochs = series.map((c) => c.epoch);
  const kept = ctx.timelapse.setEpochs(TimelapseCache.key(key), epochs);
  const out: HostMessage[] = [{ type: 'timelapseSeries', layer, node, epochs }, ...kept];
  for (const m of out) ctx.post(m);
}

/** `dir/stem.ext`, or `dir/stem-2.ext`, … : the first that does not exist. */
export function freeName(dir: string, stem: string, ext: string): string {
  for (let i = 1; ; i++) {
    const f = path.join(dir, `${stem}${i > 1 ? `-${i}` : ''}${ext}`);
    if (!fs.existsSync(f)) return f;
  }
}
