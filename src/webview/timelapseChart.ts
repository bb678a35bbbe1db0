/** Puts the node time-lapse's chart (timelapseChartLayout.ts) on a canvas in the theme's colours. */
import { cssVar } from './charts';
import type { TimelapseChartLayout } from './timelapseChartLayout';

/** Draws `L` on `canvas` (resized to it, sharp on high-DPI screens), replacing what it held. */
export function drawTimelapseChart(canvas: HTMLCanvasElement, L: TimelapseChartLayout): void {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  canvas.width = Math.round(L.width * dpr);
  canvas.height = Math.round(L.height * dpr);
  canvas.style.width = `${L.width}px`;
  canvas.style.height = `${L.height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, L.width, L.height);
  ctx.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  const fg = cssVar('--vscode-foreground', '#ccc');
  const scoreColor = cssVar('--vscode-charts-blue', '#3794ff');
  const overlapColor = cssVar('--vscode-charts-orange', '#d18616');
  ctx.strokeStyle = cssVar('--vscode-panel-border', '#555');
  ctx.lineWidth = 1;
  for (const t of L.scoreTicks) {
    ctx.beginPath();
    ctx.moveTo(L.pad.l, Math.round(t.py) + 0.5);
    ctx.lineTo(L.width - L.pad.r, Math.round(t.py) + 0.5);
    ctx.stroke();
  }
  ctx.fillStyle = overlapColor;
  ctx.globalAlpha = 0.6;
  for (const b of L.bars) ctx.fillRect(b.x, b.y, b.w, b.h);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = scoreColor;
  ctx.fillStyle = scoreColor;
  ctx.lineWidth = 1.5;
  for (const seg of L.scoreSegments) {
    ctx.beginPath();
    seg.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    for (const [x, y] of seg) ctx.fillRect(x - 2, y - 2, 4, 4);
  }
  if (L.cursor !== undefined) {
    ctx.strokeStyle = cssVar('--vscode-focusBorder', '#007fd4');
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(L.cursor, L.pad.t);
    ctx.lineTo(L.cursor, L.height - L.pad.b);
    ctx.stroke();
  }
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  ctx.fillStyle = scoreColor;
  for (const t of L.scoreTicks) ctx.fillText(t.label, L.pad.l - 4, t.py);
  ctx.textAlign = 'left';
  ctx.fillStyle = overlapColor;
  for (const t of L.overlapTicks) ctx.fillText(t.label, L.width - L.pad.r + 4, t.py);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillStyle = fg;
  for (const l of L.xLabels) ctx.fillText(l.label, l.px, L.height - L.pad.b + 3);
  ctx.fillText('epoch', (L.pad.l + L.width - L.pad.r) / 2, L.height - 13);
}
