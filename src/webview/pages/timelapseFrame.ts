/** One checkpoint of the node time-lapse drawn: the node's weights then, and its top images with feature maps and projections. */
import { PROJECTION_METHOD_LABELS, SCORE_METRIC_PHRASES } from '../../shared/protocol';
import type { Pixels, TimelapseFrameMessage } from '../../shared/webviewProtocol';
import { dims, fmt, legend, range } from '../pixelCanvas';
import { el, figure, pixelCanvas } from '../dom';

function limOf(items: (Pixels | undefined)[]): number {
  let lim = 0;
  for (const p of items) {
    if (!p) continue;
    const r = range(new Float32Array(p.data));
    lim = Math.max(lim, Math.abs(r.min), Math.abs(r.max));
  }
  return lim;
}

/** The node's weights at the frame's checkpoint (signed, centred on zero, the layer's range then). */
function frameWeights(f: TimelapseFrameMessage): HTMLElement {
  const box = el('div', 'timelapse-weights');
  const w = f.weights;
  if (!w) {
    box.append(el('p', 'note', 'This layer has no weights.'));
    return box;
  }
  const lim = Math.max(Math.abs(w.min), Math.abs(w.max));
  const tiles = w.tiles[0] ?? [];
  const target = tiles.length > 1 ? 64 : 160;
  const row = el('div', 'tiles');
  tiles.forEach((t, i) => {
    const c = pixelCanvas(t, 'signed', 'timelapse-weights', i, { lim, target, rgb: w.rgb });
    c.setAttribute('aria-label', `weights at epoch ${f.epoch}, ${tiles.length > 1 ? (w.rgb ? 'RGB' : `input ${i}`) : 'tile'}`);
    row.append(figure([c], tiles.length > 1 ? (w.rgb ? 'RGB' : `in ${i}`) : ''));
  });
  box.append(el('p', 'dim', `Weights at epoch ${f.epoch}`), row, legend(w.rgb ? 'signedRgb' : 'signed', w.min, w.max, 'weight'));
  return box;
}

/** The frame's top images: input, feature map, projection (one column each), as the node page lays them out. */
function frameTop(f: TimelapseFrameMessage): HTMLElement {
  if (!f.items.length) return el('p', 'note', 'No top images at this checkpoint.');
  const grid = el('div', 'top-grid');
  grid.style.gridTemplateColumns = `max-content repeat(${f.items.length}, minmax(40px, 84px))`;
  grid.append(el('div', 'row-label', ''));
  for (const it of f.items) {
    const cap = el('div', 'col-label');
    cap.append(el('div', 'strong', `#${it.index} ${it.className}`), el('div', 'dim', fmt(it.score)));
    grid.append(cap);
  }
  const fm = limOf(f.items.map((i) => i.featureMap));
  const pr = limOf(f.items.map((i) => i.projection));
  const rows = ['input', 'feature map', `projection: ${PROJECTION_METHOD_LABELS[f.method]}`];
  rows.forEach((name, row) => {
    grid.append(el('div', 'row-label', name));
    f.items.forEach((it, i) => {
      const cell = el('div', 'cell');
      cell.dataset.image = String(it.index);
      if (row === 0) cell.append(pixelCanvas(it.image, 'image', 'timelapse-image', i, { target: 84 }));
      else if (row === 1) cell.append(pixelCanvas(it.featureMap, 'signed', 'timelapse-feature-map', i, { lim: fm, target: 84 }));
      else if (it.projection)
        cell.append(pixelCanvas(it.projection, 'signed', 'timelapse-projection', i, { lim: pr, target: 84, rgb: dims(it.projection.shape).c === 3 }));
      else cell.append(el('div', 'dim', '—'));
      grid.append(cell);
    });
  });
  const box = el('div', 'timelapse-top');
  box.append(el('p', 'dim', `Top ${f.items.length} test images by ${SCORE_METRIC_PHRASES[f.metric]} at epoch ${f.epoch}`), grid);
  if (f.projectionError) box.append(el('p', 'note warn', `Projection unavailable: ${f.projectionError}`));
  return box;
}

/** The frame's view (built once per frame: scrubbing back to it shows the same element). */
export function frameView(f: TimelapseFrameMessage): HTMLElement {
  const v = el('div', 'timelapse-frame');
  v.dataset.epoch = String(f.epoch);
  v.append(frameWeights(f), frameTop(f));
  return v;
}
