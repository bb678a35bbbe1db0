/**
 * The node page: the node's weights, its top images with their feature maps and projections, its statistics
 * (`nodeStats`, after the page) and activation maximization (`maximizeProgress`, `maximized`).
 */
import { PROJECTION_METHOD_LABELS, SCORE_METRIC_LABELS, SCORE_METRIC_PHRASES, type ProjectionMethod, type ScoreMetric } from '../../shared/protocol';
import type { MaximizedMessage, MaximizeProgressMessage, NodePageMessage, NodeStatsMessage, Pixels, TopItem, WeightsView } from '../../shared/webviewProtocol';
import { lineChart } from '../charts';
import { dims, fmt, legend, range } from '../pixelCanvas';
import { button, el, figure, pixelCanvas, section } from '../dom';
import { header, type Send, type WebviewPage } from './page';
import { pickedImageSection } from './pickedImage';
import { randomizeTool, sanityRows, sanityUpdate } from './nodeSanity';
import { timelapseSection, timelapseUpdate } from './nodeTimelapse';

export const nodePage: WebviewPage<'node'> = {
  kind: 'node',
  link: { label: 'Node', icon: 'eye', title: 'Node page' },
  draw: (m, send) => drawNodePage(m, send),
  where: (m) => ({ layer: m.layer, node: m.node }),
  step: (m, dir) => (m.node + dir >= 0 && m.node + dir < m.nodes ? { type: 'selectNode', layer: m.layer, node: m.node + dir } : undefined),
  update: (u, m) => {
    const mine = 'layer' in u && u.layer === m.layer && u.node === m.node;
    if (timelapseUpdate(u, m)) return;
    if (u.type === 'nodeStats' && mine) nodeStats(u);
    else if (u.type === 'maximizeProgress') maximizeProgress(u);
    else if (u.type === 'maximized' && mine) maximized(u);
    else if ((u.type === 'sanityRow' || u.type === 'sanityProgress') && mine) sanityUpdate(u, m);
  },
};

/** The objective per step of the maximization running for the page on screen. */
let objectiveHistory: number[] = [];

function limOf(items: (Pixels | undefined)[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const p of items) {
    if (!p) continue;
    const r = range(new Float32Array(p.data));
    min = Math.min(min, r.min);
    max = Math.max(max, r.max);
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 0 };
}

/** One node's weight tiles with a legend of the real range (signed, centred on zero). */
function weightTiles(w: WeightsView, nodeIdx: number, target: number): HTMLElement {
  const box = el('div', 'tiles');
  const lim = Math.max(Math.abs(w.min), Math.abs(w.max));
  const tiles = w.tiles[nodeIdx] ?? [];
  tiles.forEach((t, i) => {
    const c = pixelCanvas(t, 'signed', 'weights', i, { lim, target, rgb: w.rgb });
    const caption = tiles.length > 1 ? (w.rgb ? 'RGB' : `in ${i}`) : '';
    box.append(figure([c], caption));
  });
  return box;
}

/** A labelled `vscode-single-select` of `options` (value → name) that calls `onChange` with the picked value. */
function singleSelect(id: string, title: string, options: Readonly<Record<string, string>>, current: string, onChange: (value: string) => void): HTMLElement {
  const select = document.createElement('vscode-single-select') as HTMLElement & { value: string };
  select.id = id;
  select.title = title;
  select.setAttribute('aria-label', title);
  for (const [value, name] of Object.entries(options)) {
    const o = document.createElement('vscode-option') as HTMLElement & { value: string; selected: boolean };
    o.value = value;
    o.textContent = name;
    if (value === current) o.selected = true;
    select.append(o);
  }
  select.addEventListener('change', () => onChange(select.value));
  return select;
}

function drawNodePage(m: NodePageMessage, send: Send): HTMLElement {
  objectiveHistory = [];
  const root = el('div', 'page');
  const layer = m.model.layers[m.layer];
  root.append(
    header(
      `${layer?.name ?? `layer ${m.layer}`} · node ${m.node}`,
      `${m.model.name} — ${layer?.className ?? ''} [${layer?.outputShape.join(', ') ?? ''}]`,
      nodeTools(m, send),
    ),
  );
  root.append(el('div', 'stats', ''));
  root.lastElementChild!.id = 'node-stats';
  root.append(weightsSection(m));
  const top = topImagesSection(m, send);
  // A model without a lens file has no top images: the image the user picks takes their place.
  root.append(m.model.lens || m.top ? top : pickedImageSection(m, send));
  root.append(timelapseSection(m, send));
  root.append(maximizeSection());
  return root;
}

/** The header's tools: previous and next node, the projection method and ranking, the randomize toggle, maximize. */
function nodeTools(m: NodePageMessage, send: Send): HTMLElement[] {
  const prev = button('', 'arrow-left', () => m.node > 0 && send({ type: 'selectNode', layer: m.layer, node: m.node - 1 }), {
    secondary: true,
    title: 'Previous node (← or k)',
  });
  const next = button('', 'arrow-right', () => m.node + 1 < m.nodes && send({ type: 'selectNode', layer: m.layer, node: m.node + 1 }), {
    secondary: true,
    title: 'Next node (→ or j)',
  });
  prev.toggleAttribute('disabled', m.node === 0);
  next.toggleAttribute('disabled', m.node + 1 >= m.nodes);
  // Projections apply where there are top images (a dataset and its index) or a picked image; the ranking only
  // to top images.
  const method =
    m.top || m.picked?.image
      ? [
          singleSelect('method', 'Projection to pixel space', PROJECTION_METHOD_LABELS, m.method, (v) =>
            send({ type: 'setMethod', method: v as ProjectionMethod }),
          ),
        ]
      : [];
  const metric = m.top
    ? [singleSelect('metric', 'Rank the top images by', SCORE_METRIC_LABELS, m.top.metric, (v) => send({ type: 'setMetric', metric: v as ScoreMetric }))]
    : [];
  const max = button('Maximize Activation', 'sparkle', () => send({ type: 'maximize' }), {
    title: 'Gradient ascent on the input for this node (Olah et al. 2017)',
  });
  return [prev, el('span', 'node-count', `node ${m.node} of ${m.nodes}`), next, ...method, ...metric, ...randomizeTool(m, send), max];
}

/** The node's weight tiles with their legend, or why there are none. */
function weightsSection(m: NodePageMessage): HTMLElement {
  const layer = m.model.layers[m.layer];
  const ws = section('Weights');
  if (m.weights) {
    ws.body.append(
      weightTiles(m.weights, 0, (m.weights.tiles[0]?.length ?? 1) > 1 ? 64 : 160),
      legend(m.weights.rgb ? 'signedRgb' : 'signed', m.weights.min, m.weights.max, 'weight'),
    );
  } else ws.body.append(el('p', 'note', layer && layer.params === 0 ? 'This layer has no weights.' : 'No weights to show for this layer.'));
  return ws.root;
}

/** The top images with their feature maps and projections, their legends and the randomized row; or why there are none. */
function topImagesSection(m: NodePageMessage, send: Send): HTMLElement {
  const ts = section(m.top ? `Top ${m.top.items.length} test images by ${SCORE_METRIC_PHRASES[m.top.metric]}` : 'Top images');
  if (m.top && m.top.items.length) {
    const fm = limOf(m.top.items.map((i) => i.featureMap));
    const pr = m.projectionRange ?? limOf(m.top.items.map((i) => i.projection));
    const grid = topGrid(m, m.top.items, fm, pr);
    ts.body.append(grid);
    const legends = el('div', 'legends');
    legends.append(legend('image', 0, 1, 'input'), legend('signed', fm.min, fm.max, 'feature map'));
    if (m.top.items.some((i) => i.projection))
      legends.append(legend(m.top.items.some((i) => i.projection && dims(i.projection.shape).c === 3) ? 'signedRgb' : 'signed', pr.min, pr.max, 'projection'));
    ts.body.append(legends);
    sanityRows(m, grid, send);
    if (m.projectionError) ts.body.append(el('p', 'note warn', `Projection unavailable: ${m.projectionError}`));
  } else {
    ts.body.append(el('p', 'note', m.topNote ?? 'No top images.'));
  }
  return ts.root;
}

/** A value range shared by a row of canvases. */
type Limits = { min: number; max: number };

/** The grid of top images: one column per image (its index, class and score above), rows input, feature map, projection. */
function topGrid(m: NodePageMessage, items: TopItem[], fm: Limits, pr: Limits): HTMLElement {
  const grid = el('div', 'top-grid');
  const rowNames = ['input', 'feature map', `projection: ${PROJECTION_METHOD_LABELS[m.method]}`];
  // Each column at most its images' natural size, shrinking to fit the panel (CSS scales the canvases).
  grid.style.gridTemplateColumns = `max-content repeat(${items.length}, minmax(48px, 112px))`;
  grid.append(el('div', 'row-label', ''));
  items.forEach((it) => {
    const cap = el('div', 'col-label');
    cap.append(el('div', 'strong', `#${it.index} ${it.className}`), el('div', 'dim', fmt(it.score)));
    grid.append(cap);
  });
  for (let row = 0; row < 3; row++) {
    grid.append(el('div', 'row-label', rowNames[row]));
    items.forEach((it, i) => {
      const cell = el('div', 'cell');
      cell.dataset.image = String(it.index);
      if (row === 0) cell.append(pixelCanvas(it.image, 'image', 'top-image', i));
      else if (row === 1) {
        const map = pixelCanvas(it.featureMap, 'signed', 'feature-map', i, { lim: Math.max(Math.abs(fm.min), Math.abs(fm.max)) });
        cell.append(it.location ? withMaxMarker(map, it.featureMap, it.location) : map);
        if (it.featureMap.shape.reduce((a, b) => a * b, 1) === 1) cell.append(el('div', 'dim', fmt(new Float32Array(it.featureMap.data)[0])));
      } else if (it.projection) {
        const d = dims(it.projection.shape);
        cell.append(pixelCanvas(it.projection, 'signed', 'projection', i, { lim: Math.max(Math.abs(pr.min), Math.abs(pr.max)), rgb: d.c === 3 }));
      } else cell.append(el('div', 'dim', '—'));
      if (m.state.focusImage === it.index) cell.classList.add('focus');
      grid.append(cell);
    });
  }
  return grid;
}

/** The activation maximization section: what the button does (the image and curve come with `maximized`). */
function maximizeSection(): HTMLElement {
  const mx = section('Activation maximization', 'maximize');
  mx.body.append(
    el(
      'p',
      'note',
      'Maximize Activation runs gradient ascent on the input (Fourier basis, jitter/scale/rotate robustness, ReLU warm-up) and shows the image with its objective curve.',
    ),
  );
  return mx.root;
}

/**
 * The feature map with a frame around the position of its maximum (the top images ranked by the maximum);
 * a single value (a dense node) as it is.
 */
function withMaxMarker(map: HTMLCanvasElement, p: Pixels, [y, x]: [number, number]): HTMLElement {
  const { h, w } = dims(p.shape);
  if (h * w <= 1) return map;
  const wrap = el('div', 'map-wrap');
  const marker = el('div', 'max-marker');
  marker.style.left = `${(100 * x) / w}%`;
  marker.style.top = `${(100 * y) / h}%`;
  marker.style.width = `${100 / w}%`;
  marker.style.height = `${100 / h}%`;
  marker.dataset.y = String(y);
  marker.dataset.x = String(x);
  marker.title = `maximum at row ${y}, column ${x}`;
  map.setAttribute('aria-label', `${map.getAttribute('aria-label')}, maximum at row ${y}, column ${x}`);
  wrap.append(map, marker);
  return wrap;
}

function nodeStats(m: NodeStatsMessage): void {
  const box = document.getElementById('node-stats');
  if (!box) return;
  box.replaceChildren();
  const dead = m.deadFraction >= 0.999;
  const item = (label: string, value: string, cls = '') => {
    const s = el('span', `stat ${cls}`);
    s.append(el('span', 'dim', `${label} `), el('span', 'strong', value));
    return s;
  };
  box.append(
    item('never fires on', `${(100 * m.deadFraction).toFixed(1)}% of test images`, dead ? 'warn' : ''),
    m.selectivity > 0
      ? item('selectivity', `${(100 * m.selectivity).toFixed(1)}% of its score on "${m.topClass}" (uniform: ${(100 / m.classes).toFixed(1)}%)`)
      : item('selectivity', 'none (no score on any class)'),
  );
  if (dead) box.append(el('span', 'stat warn', 'dead node'));
}

function maximized(m: MaximizedMessage): void {
  const box = document.querySelector('#maximize .section-body');
  if (!box) return;
  box.replaceChildren();
  const d = dims(m.image.shape);
  const r = range(new Float32Array(m.image.data));
  // Shown stretched to its own range: the optimized input need not stay in [0, 1].
  const c = pixelCanvas(m.image, 'image', 'maximized', 0, { target: 168, rgb: d.c === 3, stretch: r });
  const curve = lineChart([{ name: 'objective (mean activation)', values: m.curve }], { xLabel: 'step' });
  const last = m.curve[m.curve.length - 1];
  box.append(
    figure([c], `maximizing input (black ${fmt(r.min)}, white ${fmt(r.max)})`),
    figure([curve], `objective per step: ${fmt(m.curve[0])} → ${fmt(last)}`),
  );
}

function maximizeProgress(m: MaximizeProgressMessage): void {
  const history = objectiveHistory;
  const box = document.querySelector('#maximize .section-body');
  if (!box) return;
  history.push(m.objective);
  const steps = m.steps ? `step ${m.step} of ${m.steps}, ` : '';
  const note = el('p', 'note', `Maximizing… ${steps}objective ${fmt(m.objective)}${m.note ? ` · ${m.note}` : ''}`);
  note.id = 'maximize-progress';
  box.replaceChildren(note, lineChart([{ name: 'objective', values: history }], { xLabel: 'update' }));
}
