/**
 * Chart geometry as pure functions (no DOM: unit-tested in plain Node): data in, positions (CSS pixels), colours
 * and labels out. charts.ts only strokes and fills what these return, in the theme's colours.
 */
import { diverging, formatNumber, type Rgb } from '../shared/colorScale';
import { range } from './raster';

export interface Series {
  name: string;
  values: number[];
  /** x of each value (default 1..n). */
  x?: number[];
}

export interface LineChartOptions {
  width?: number;
  height?: number;
  yLabel?: string;
  xLabel?: string;
  yMin?: number;
  yMax?: number;
}

/** Where a line chart's parts go, in CSS pixels from the top left. */
export interface LineChartLayout {
  width: number;
  height: number;
  /** The plot area's margins. */
  pad: { l: number; r: number; t: number; b: number };
  /** The y range shown (bottom, top) and the x range. */
  y: { min: number; max: number };
  x: { min: number; max: number };
  /** Horizontal grid lines with their labels, bottom to top. */
  yTicks: { py: number; label: string }[];
  /** Labels under the x axis (its two ends, then the axis title if any). */
  xLabels: { px: number; label: string }[];
  /** Each series as a polyline; a one-value series is a point. */
  lines: { name: string; points: [number, number][] }[];
}

/**
 * The geometry of a line chart of `series` sharing axes: the y range is the data's (finite values only; 0..1
 * when there are none) unless `yMin`/`yMax` fix it, four equal steps labelled with enough decimals that
 * neighbouring ticks differ; x runs over every series' x.
 */
export function lineChartLayout(series: Series[], opts: LineChartOptions = {}): LineChartLayout {
  const W = opts.width ?? 420;
  const H = opts.height ?? 220;
  const pad = { l: 58, r: 12, t: 12, b: 34 };
  const ys = range(series.flatMap((s) => s.values.filter(Number.isFinite)));
  const none = !series.some((s) => s.values.some(Number.isFinite));
  let yMin = opts.yMin ?? (none ? 0 : ys.min);
  let yMax = opts.yMax ?? (none ? 1 : ys.max);
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
  if (yMax === yMin) yMax = yMin + 1;
  const xs = range(series.flatMap((s) => s.x ?? s.values.map((_, i) => i + 1)));
  const xMin = xs.min;
  const xMax = xs.max === xs.min ? xs.min + 1 : xs.max;
  const px = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (W - pad.l - pad.r);
  const py = (y: number) => H - pad.b - ((y - yMin) / (yMax - yMin)) * (H - pad.t - pad.b);
  // Enough decimals that neighbouring ticks differ (a loss curve from 1.1046 to 1.0986 has ticks 0.0015 apart).
  const step = (yMax - yMin) / 4;
  const decimals = Math.max(0, Math.min(8, Math.ceil(-Math.log10(step)) + 1));
  const tick = (y: number) => (Math.abs(y) >= 1e5 || (step < 1e-6 && y !== 0) ? y.toExponential(2) : y.toFixed(decimals));
  const yTicks = Array.from({ length: 5 }, (_, i) => ({ py: py(yMin + step * i), label: tick(yMin + step * i) }));
  const xLabels = [
    { px: px(xMin), label: formatNumber(xMin) },
    { px: px(xMax), label: formatNumber(xMax) },
    ...(opts.xLabel ? [{ px: (pad.l + W - pad.r) / 2, label: opts.xLabel }] : []),
  ];
  const lines = series.map((s) => ({ name: s.name, points: s.values.map((v, i): [number, number] => [px(s.x?.[i] ?? i + 1), py(v)]) }));
  return { width: W, height: H, pad, y: { min: yMin, max: yMax }, x: { min: xMin, max: xMax }, yTicks, xLabels, lines };
}

export interface HeatMapOptions {
  normalize?: 'all' | 'column';
  highlightCol?: number;
  cell?: number;
  title?: string;
}

/** Where a heat map's parts go, in CSS pixels from the top left. */
export interface HeatMapLayout {
  width: number;
  height: number;
  /** Cell size (square, drawn one pixel smaller to leave a gap). */
  cell: number;
  labelWidth: number;
  headHeight: number;
  /** values[row][col] as cells: position, colour, and the value written in it when the cell is large enough. */
  cells: { x: number; y: number; rgb: Rgb; text?: string; dark: boolean }[];
  /** Row labels, right-aligned at x; column labels, rotated -45° from (x, y). */
  rowLabels: { x: number; y: number; text: string }[];
  colLabels: { x: number; y: number; text: string; highlight: boolean }[];
  highlight?: { x: number; y: number; w: number; h: number };
}

/**
 * The geometry of a heat map `values[row][col]` with row and column labels; `measure` gives a label's width in
 * pixels (the canvas's font). `normalize: 'column'` colours each column on its own scale: white at the column's
 * smallest value, full red at its largest (layers of different magnitude side by side); else `v / max|v|`.
 */
export function heatMapLayout(
  values: number[][],
  rowLabels: string[],
  colLabels: string[],
  measure: (text: string) => number,
  opts: HeatMapOptions = {},
): HeatMapLayout {
  const rows = values.length;
  const cols = values[0]?.length ?? 0;
  const labelWidth = Math.min(140, Math.max(30, ...rowLabels.map((l) => measure(l) + 8)));
  const cell = opts.cell ?? Math.max(18, Math.min(44, Math.floor(520 / Math.max(1, cols))));
  const headHeight = Math.min(110, Math.max(20, ...colLabels.map((l) => measure(l) * 0.75 + 10)));
  const column = Array.from({ length: cols }, (_, j) => range(values.map((r) => r[j])));
  const all = range(values.flat().map(Math.abs)).max;
  const cells: HeatMapLayout['cells'] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = values[i][j];
      const span = column[j].max - column[j].min;
      const t = opts.normalize === 'column' ? (span > 0 ? (v - column[j].min) / span : 0) : all > 0 ? v / all : 0;
      const rgb = diverging(t);
      cells.push({
        x: labelWidth + j * cell,
        y: headHeight + i * cell,
        rgb,
        text: cell >= 26 ? formatNumber(v) : undefined,
        dark: rgb[0] + rgb[1] + rgb[2] <= 450,
      });
    }
  }
  const highlight =
    opts.highlightCol !== undefined && opts.highlightCol >= 0
      ? { x: labelWidth + opts.highlightCol * cell - 1, y: headHeight - 1, w: cell + 1, h: rows * cell + 1 }
      : undefined;
  return {
    width: labelWidth + cols * cell + 4,
    height: headHeight + rows * cell + 4,
    cell,
    labelWidth,
    headHeight,
    cells,
    rowLabels: rowLabels.map((text, i) => ({ x: labelWidth - 4, y: headHeight + i * cell + cell / 2, text })),
    colLabels: colLabels.map((text, j) => ({ x: labelWidth + j * cell + cell / 2, y: headHeight - 4, text, highlight: j === opts.highlightCol })),
    highlight,
  };
}
