/**
 * The node time-lapse's chart as pure functions (no DOM: unit-tested in plain Node): per checkpoint, the node's
 * score (the best top-k score) as a line on the left axis and the overlap of its top-k list with the previous
 * checkpoint's (|A ∩ B| / k) as bars on the right axis, 0 to 1; a cursor at the epoch on screen. Checkpoints not
 * computed yet are gaps. timelapseChart.ts only puts the pixels.
 */
import { formatNumber } from '../shared/colorScale';

/** What the chart needs of one computed frame. */
export interface FrameScores {
  topIndices: number[];
  k: number;
  topScore: number;
}

export interface TimelapsePoint {
  epoch: number;
  /** Absent: the checkpoint is not computed yet. */
  score?: number;
  /** Absent for the first checkpoint and where either of the pair is not computed. */
  overlap?: number;
}

/** |a ∩ b| / k: the share of the k top images both lists hold. */
export function topOverlap(a: readonly number[], b: readonly number[], k: number): number {
  const set = new Set(b);
  let shared = 0;
  for (const i of new Set(a)) if (set.has(i)) shared++;
  return k > 0 ? shared / k : 0;
}

/** The chart's data from the series' epochs and the frames computed so far (by position in the series). */
export function timelapsePoints(epochs: readonly number[], frames: ReadonlyMap<number, FrameScores>): TimelapsePoint[] {
  return epochs.map((epoch, i) => {
    const f = frames.get(i);
    const prev = frames.get(i - 1);
    return {
      epoch,
      ...(f && Number.isFinite(f.topScore) ? { score: f.topScore } : {}),
      ...(f && prev ? { overlap: topOverlap(f.topIndices, prev.topIndices, f.k) } : {}),
    };
  });
}

export interface TimelapseChartLayout {
  width: number;
  height: number;
  pad: { l: number; r: number; t: number; b: number };
  /** The score axis (left), bottom to top, and the overlap axis (right). */
  scoreTicks: { py: number; label: string }[];
  overlapTicks: { py: number; label: string }[];
  /** Epoch labels under the x axis (all when they fit, else the ends). */
  xLabels: { px: number; label: string }[];
  /** The score line, broken where a checkpoint is not computed; a lone point is a segment of one. */
  scoreSegments: [number, number][][];
  /** One bar per checkpoint with an overlap, centred on it. */
  bars: { x: number; y: number; w: number; h: number; overlap: number }[];
  /** The x of the checkpoint on screen (undefined: none). */
  cursor?: number;
}

/** The geometry of the chart of `points` with checkpoint `current` marked, `width` × `height` CSS pixels. */
export function timelapseChartLayout(points: readonly TimelapsePoint[], current: number | undefined, width = 420, height = 140): TimelapseChartLayout {
  const pad = { l: 52, r: 40, t: 10, b: 30 };
  const n = points.length;
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const step = n > 1 ? plotW / (n - 1) : 0;
  const px = (i: number) => pad.l + (n > 1 ? i * step : plotW / 2);
  const scores = points.map((p) => p.score).filter((v): v is number => v !== undefined);
  const sMin = Math.min(0, ...scores);
  let sMax = Math.max(0, ...scores);
  if (sMax === sMin) sMax = sMin + 1;
  const sy = (v: number) => pad.t + plotH - ((v - sMin) / (sMax - sMin)) * plotH;
  const oy = (v: number) => pad.t + plotH - v * plotH;
  const scoreTicks = [0, 0.5, 1].map((f) => ({ py: sy(sMin + f * (sMax - sMin)), label: formatNumber(sMin + f * (sMax - sMin)) }));
  const overlapTicks = [0, 0.5, 1].map((f) => ({ py: oy(f), label: `${Math.round(100 * f)}%` }));
  const fits = n <= Math.max(2, Math.floor(plotW / 28));
  const xLabels = points.map((p, i) => ({ px: px(i), label: String(p.epoch) })).filter((_, i) => fits || i === 0 || i === n - 1);
  const scoreSegments: [number, number][][] = [];
  let open: [number, number][] | undefined;
  points.forEach((p, i) => {
    if (p.score === undefined) return void (open = undefined);
    if (!open) scoreSegments.push((open = []));
    open.push([px(i), sy(p.score)]);
  });
  const barW = Math.max(2, Math.min(24, (n > 1 ? step : plotW) * 0.5));
  const bars = points.flatMap((p, i) =>
    p.overlap === undefined ? [] : [{ x: px(i) - barW / 2, y: oy(p.overlap), w: barW, h: oy(0) - oy(p.overlap), overlap: p.overlap }],
  );
  const cursor = current !== undefined && current >= 0 && current < n ? px(current) : undefined;
  return { width, height, pad, scoreTicks, overlapTicks, xLabels, scoreSegments, bars, ...(cursor !== undefined ? { cursor } : {}) };
}
