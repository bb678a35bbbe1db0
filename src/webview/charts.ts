/**
 * Charts on canvas in the theme's colours: line charts (training curves, objective) and labelled heat maps. The
 * geometry comes from chartLayout.ts (pure, unit-tested); this file only draws it.
 */
import { heatMapLayout, lineChartLayout, type HeatMapOptions, type LineChartOptions, type Series } from './chartLayout';

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

export type { Series };

/** A line chart of one or more series sharing axes, with a legend and the y range labelled (chartLayout.ts). */
export function lineChart(series: Series[], opts: LineChartOptions = {}): HTMLCanvasElement {
  const L = lineChartLayout(series, opts);
  const { canvas, ctx } = hiDpiCanvas(L.width, L.height);
  const fg = cssVar('--vscode-foreground', '#ccc');
  ctx.strokeStyle = cssVar('--vscode-panel-border', '#555');
  ctx.fillStyle = fg;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of L.yTicks) {
    ctx.beginPath();
    ctx.moveTo(L.pad.l, t.py + 0.5);
    ctx.lineTo(L.width - L.pad.r, t.py + 0.5);
    ctx.stroke();
    ctx.fillText(t.label, L.pad.l - 4, t.py);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const l of L.xLabels) ctx.fillText(l.label, l.px, L.height - L.pad.b + 4);
  let lx = L.pad.l + 4;
  L.lines.forEach((line, k) => {
    const [v, fb] = SERIES_VARS[k % SERIES_VARS.length];
    const color = cssVar(v, fb);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    line.points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.stroke();
    ctx.fillStyle = color;
    if (line.points.length === 1) ctx.fillRect(line.points[0][0] - 2, line.points[0][1] - 2, 4, 4);
    ctx.fillRect(lx, L.height - 12, 10, 3);
    ctx.fillStyle = fg;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillText(line.name, lx + 13, L.height - 10);
    lx += 20 + ctx.measureText(line.name).width;
  });
  return canvas;
}

/**
 * A heat map `values[row][col]` with row and column labels and each cell's value written in it when it fits.
 * `normalize: 'column'` colours each column on its own scale (layers of different magnitude side by side).
 */
export function heatMap(values: number[][], rowLabels: string[], colLabels: string[], opts: HeatMapOptions = {}): HTMLCanvasElement {
  const fg = cssVar('--vscode-foreground', '#ccc');
  const font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = font;
  const L = heatMapLayout(values, rowLabels, colLabels, (t) => probe.measureText(t).width, opts);
  const { canvas, ctx } = hiDpiCanvas(L.width, L.height);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = '9px sans-serif';
  for (const c of L.cells) {
    ctx.fillStyle = `rgb(${c.rgb[0]},${c.rgb[1]},${c.rgb[2]})`;
    ctx.fillRect(c.x, c.y, L.cell - 1, L.cell - 1);
    if (c.text === undefined) continue;
    ctx.fillStyle = c.dark ? '#fff' : '#000';
    ctx.fillText(c.text, c.x + L.cell / 2, c.y + L.cell / 2);
  }
  ctx.font = font;
  ctx.fillStyle = fg;
  ctx.textAlign = 'right';
  for (const l of L.rowLabels) ctx.fillText(l.text, l.x, l.y);
  for (const l of L.colLabels) {
    ctx.save();
    ctx.translate(l.x, l.y);
    ctx.rotate(-Math.PI / 4);
    ctx.textAlign = 'left';
    ctx.fillStyle = l.highlight ? cssVar('--vscode-textLink-foreground', '#3794ff') : fg;
    ctx.fillText(l.text, 0, 0);
    ctx.restore();
  }
  if (L.highlight) {
    ctx.strokeStyle = cssVar('--vscode-focusBorder', '#007fd4');
    ctx.lineWidth = 2;
    ctx.strokeRect(L.highlight.x, L.highlight.y, L.highlight.w, L.highlight.h);
  }
  return canvas;
}
