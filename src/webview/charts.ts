/** Charts on canvas in the theme's colours: line charts (training curves, objective) and labelled heat maps. */
import { diverging, fmt } from './colormap';

export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

const SERIES_VARS: [string, string][] = [
  ['--vscode-charts-blue', '#3794ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#89d185'],
  ['--vscode-charts-red', '#f14c4c'],
  ['--vscode-charts-purple', '#b180d7'],
  ['--vscode-charts-yellow', '#cca700'],
];

function hiDpiCanvas(w: number, h: number): { canvas: HTMLCanvasElement; ctx: CanvasRenderingContext2D } {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  canvas.dataset.role = 'chart';
  canvas.classList.add('chart');
  const ctx = canvas.getContext('2d')!;
  ctx.scale(dpr, dpr);
  ctx.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  return { canvas, ctx };
}

export interface Series {
  name: string;
  values: number[];
  /** x of each value (default 1..n). */
  x?: number[];
}

/** A line chart of one or more series sharing axes, with a legend and the y range labelled. */
export function lineChart(series: Series[], opts: { width?: number; height?: number; yLabel?: string; xLabel?: string; yMin?: number; yMax?: number } = {}): HTMLCanvasElement {
  const W = opts.width ?? 420;
  const H = opts.height ?? 220;
  const { canvas, ctx } = hiDpiCanvas(W, H);
  const fg = cssVar('--vscode-foreground', '#ccc');
  const grid = cssVar('--vscode-panel-border', '#555');
  const pad = { l: 58, r: 12, t: 12, b: 34 };
  const all = series.flatMap((s) => s.values.filter(Number.isFinite));
  const xs = series.flatMap((s) => s.x ?? s.values.map((_, i) => i + 1));
  let yMin = opts.yMin ?? Math.min(...all);
  let yMax = opts.yMax ?? Math.max(...all);
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) (yMin = 0), (yMax = 1);
  if (yMax === yMin) yMax = yMin + 1;
  const xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (xMax === xMin) xMax = xMin + 1;
  const px = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (W - pad.l - pad.r);
  const py = (y: number) => H - pad.b - ((y - yMin) / (yMax - yMin)) * (H - pad.t - pad.b);
  ctx.strokeStyle = grid;
  ctx.fillStyle = fg;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  // Enough decimals that neighbouring ticks differ (a loss curve from 1.1046 to 1.0986 has ticks 0.0015 apart).
  const step = (yMax - yMin) / 4;
  const decimals = Math.max(0, Math.min(8, Math.ceil(-Math.log10(step)) + 1));
  const tick = (y: number) => (Math.abs(y) >= 1e5 || (step < 1e-6 && y !== 0) ? y.toExponential(2) : y.toFixed(decimals));
  for (let i = 0; i <= 4; i++) {
    const y = yMin + step * i;
    ctx.beginPath();
    ctx.moveTo(pad.l, py(y) + 0.5);
    ctx.lineTo(W - pad.r, py(y) + 0.5);
    ctx.stroke();
    ctx.fillText(tick(y), pad.l - 4, py(y));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(fmt(xMin), px(xMin), H - pad.b + 4);
  ctx.fillText(fmt(xMax), px(xMax), H - pad.b + 4);
  if (opts.xLabel) ctx.fillText(opts.xLabel, (pad.l + W - pad.r) / 2, H - pad.b + 4);
  let lx = pad.l + 4;
  series.forEach((s, k) => {
    const [v, fb] = SERIES_VARS[k % SERIES_VARS.length];
    const color = cssVar(v, fb);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.values.forEach((val, i) => {
      const x = px(s.x?.[i] ?? i + 1);
      const y = py(val);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    if (s.values.length === 1) {
      ctx.fillStyle = color;
      ctx.fillRect(px(s.x?.[0] ?? 1) - 2, py(s.values[0]) - 2, 4, 4);
    }
    ctx.fillStyle = color;
    ctx.fillRect(lx, H - 12, 10, 3);
    ctx.fillStyle = fg;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillText(s.name, lx + 13, H - 10);
    lx += 20 + ctx.measureText(s.name).width;
  });
  return canvas;
}

/**
 * A heat map `values[row][col]` with row and column labels and each cell's value written in it when it fits.
 * `normalize: 'column'` colours each column on its own scale (layers of different magnitude side by side).
 */
export function heatMap(values: number[][], rowLabels: string[], colLabels: string[], opts: { normalize?: 'all' | 'column'; highlightCol?: number; cell?: number; title?: string } = {}): HTMLCanvasElement {
  const fg = cssVar('--vscode-foreground', '#ccc');
  const rows = values.length;
  const cols = values[0]?.length ?? 0;
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  const labelW = Math.min(140, Math.max(30, ...rowLabels.map((l) => probe.measureText(l).width + 8)));
  const cell = opts.cell ?? Math.max(18, Math.min(44, Math.floor(520 / Math.max(1, cols))));
  const headH = Math.min(110, Math.max(20, ...colLabels.map((l) => probe.measureText(l).width * 0.75 + 10)));
  const W = labelW + cols * cell + 4;
  const H = headH + rows * cell + 4;
  const { canvas, ctx } = hiDpiCanvas(W, H);
  const colMax = new Array<number>(cols).fill(-Infinity);
  const colMin = new Array<number>(cols).fill(Infinity);
  let allMax = 0;
  for (const r of values) r.forEach((v, j) => ((colMax[j] = Math.max(colMax[j], v)), (colMin[j] = Math.min(colMin[j], v)), (allMax = Math.max(allMax, Math.abs(v)))));
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = values[i][j];
      // Per column: white at the column's smallest value, full colour at its largest, so differences between
      // classes show even when a layer's norms are all large.
      const span = colMax[j] - colMin[j];
      const t = opts.normalize === 'column' ? (span > 0 ? (v - colMin[j]) / span : 0) : allMax > 0 ? v / allMax : 0;
      const [r, g, b] = diverging(t);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(labelW + j * cell, headH + i * cell, cell - 1, cell - 1);
      if (cell >= 26) {
        ctx.fillStyle = r + g + b > 450 ? '#000' : '#fff';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.font = '9px sans-serif';
        ctx.fillText(fmt(v), labelW + j * cell + cell / 2, headH + i * cell + cell / 2);
      }
    }
  }
  ctx.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  ctx.fillStyle = fg;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  rowLabels.forEach((l, i) => ctx.fillText(l, labelW - 4, headH + i * cell + cell / 2));
  colLabels.forEach((l, j) => {
    ctx.save();
    ctx.translate(labelW + j * cell + cell / 2, headH - 4);
    ctx.rotate(-Math.PI / 4);
    ctx.textAlign = 'left';
    ctx.fillStyle = j === opts.highlightCol ? cssVar('--vscode-textLink-foreground', '#3794ff') : fg;
    ctx.fillText(l, 0, 0);
    ctx.restore();
  });
  if (opts.highlightCol !== undefined && opts.highlightCol >= 0) {
    ctx.strokeStyle = cssVar('--vscode-focusBorder', '#007fd4');
    ctx.lineWidth = 2;
    ctx.strokeRect(labelW + opts.highlightCol * cell - 1, headH - 1, cell + 1, rows * cell + 1);
  }
  return canvas;
}
