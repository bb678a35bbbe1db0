/** The three pages of the inspector, drawn from plain page messages. */
import { PROJECTION_METHOD_LABELS, SCORE_METRIC_LABELS, SCORE_METRIC_PHRASES, type ProjectionMethod, type ScoreMetric } from '../shared/protocol';
import {
  type ByClassView,
  type LayerPageMessage,
  type MaximizedMessage,
  type MaximizeProgressMessage,
  type ModelPageMessage,
  type NodePageMessage,
  type NodeStatsMessage,
  type Pixels,
  type WebviewMessage,
  type WeightsView,
} from '../shared/webviewProtocol';
import { heatMap, lineChart } from './charts';
import { dims, fmt, legend, range } from './colormap';
import { button, el, figure, pixelCanvas, section } from './dom';

export type Send = (m: WebviewMessage) => void;

/** At most this many weight tiles / feature maps are drawn on a layer page. */
const MAX_CANVASES = 1024;

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

function header(title: string, sub: string, tools: HTMLElement[]): HTMLElement {
  const h = el('header', 'page-header');
  const t = el('div', 'titles');
  t.append(el('h1', undefined, title), el('div', 'subtitle', sub));
  const bar = el('div', 'toolbar');
  bar.append(...tools);
  h.append(t, bar);
  return h;
}

function pageLinks(send: Send, current: 'node' | 'layer' | 'model', hasLayer: boolean): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (current !== 'model') out.push(button('Model', 'symbol-structure', () => send({ type: 'openPage', page: 'model' }), { secondary: true, title: 'Model page: summary, training curves, confusion matrix' }));
  if (current !== 'layer' && hasLayer) out.push(button('Layer', 'layers', () => send({ type: 'openPage', page: 'layer' }), { secondary: true, title: 'Layer page: all nodes of this layer' }));
  if (current !== 'node' && hasLayer) out.push(button('Node', 'eye', () => send({ type: 'openPage', page: 'node' }), { secondary: true, title: 'Node page' }));
  return out;
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

// ---- node page ------------------------------------------------------------------------------------------

export function nodePage(m: NodePageMessage, send: Send): HTMLElement {
  const root = el('div', 'page');
  const layer = m.model.layers[m.layer];
  const prev = button('', 'arrow-left', () => m.node > 0 && send({ type: 'selectNode', layer: m.layer, node: m.node - 1 }), { secondary: true, title: 'Previous node (← or k)' });
  const next = button('', 'arrow-right', () => m.node + 1 < m.nodes && send({ type: 'selectNode', layer: m.layer, node: m.node + 1 }), { secondary: true, title: 'Next node (→ or j)' });
  prev.toggleAttribute('disabled', m.node === 0);
  next.toggleAttribute('disabled', m.node + 1 >= m.nodes);
  // Projections and ranking apply only where there are top images (a dataset and its index).
  const method = m.top ? [singleSelect('method', 'Projection to pixel space', PROJECTION_METHOD_LABELS, m.method, (v) => send({ type: 'setMethod', method: v as ProjectionMethod }))] : [];
  const metric = m.top ? [singleSelect('metric', 'Rank the top images by', SCORE_METRIC_LABELS, m.top.metric, (v) => send({ type: 'setMetric', metric: v as ScoreMetric }))] : [];
  const max = button('Maximize Activation', 'sparkle', () => send({ type: 'maximize' }), { title: 'Gradient ascent on the input for this node (Olah et al. 2017)' });
  const tools = [prev, el('span', 'node-count', `node ${m.node} of ${m.nodes}`), next, ...method, ...metric, max, ...pageLinks(send, 'node', true)];
  root.append(header(`${layer?.name ?? `layer ${m.layer}`} · node ${m.node}`, `${m.model.name} — ${layer?.className ?? ''} [${layer?.outputShape.join(', ') ?? ''}]`, tools));
  root.append(el('div', 'stats', ''));
  root.lastElementChild!.id = 'node-stats';

  const ws = section('Weights');
  if (m.weights) {
    ws.body.append(weightTiles(m.weights, 0, (m.weights.tiles[0]?.length ?? 1) > 1 ? 64 : 160), legend(m.weights.rgb ? 'signedRgb' : 'signed', m.weights.min, m.weights.max, 'weight'));
  } else ws.body.append(el('p', 'note', layer && layer.params === 0 ? 'This layer has no weights.' : 'No weights to show for this layer.'));
  root.append(ws.root);

  const ts = section(m.top ? `Top ${m.top.items.length} test images by ${SCORE_METRIC_PHRASES[m.top.metric]}` : 'Top images');
  if (m.top && m.top.items.length) {
    const fm = limOf(m.top.items.map((i) => i.featureMap));
    const pr = m.projectionRange ?? limOf(m.top.items.map((i) => i.projection));
    const grid = el('div', 'top-grid');
    const rowNames = ['input', 'feature map', `projection: ${PROJECTION_METHOD_LABELS[m.method]}`];
    // Each column at most its images' natural size, shrinking to fit the panel (CSS scales the canvases).
    grid.style.gridTemplateColumns = `max-content repeat(${m.top.items.length}, minmax(48px, 112px))`;
    grid.append(el('div', 'row-label', ''));
    m.top.items.forEach((it) => {
      const cap = el('div', 'col-label');
      cap.append(el('div', 'strong', `#${it.index} ${it.className}`), el('div', 'dim', fmt(it.score)));
      grid.append(cap);
    });
    for (let row = 0; row < 3; row++) {
      grid.append(el('div', 'row-label', rowNames[row]));
      m.top.items.forEach((it, i) => {
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
    ts.body.append(grid);
    const legends = el('div', 'legends');
    legends.append(legend('image', 0, 1, 'input'), legend('signed', fm.min, fm.max, 'feature map'));
    if (m.top.items.some((i) => i.projection)) legends.append(legend(m.top.items.some((i) => i.projection && dims(i.projection.shape).c === 3) ? 'signedRgb' : 'signed', pr.min, pr.max, 'projection'));
    ts.body.append(legends);
    if (m.projectionError) ts.body.append(el('p', 'note warn', `Projection unavailable: ${m.projectionError}`));
  } else {
    ts.body.append(el('p', 'note', m.topNote ?? 'No top images.'));
  }
  root.append(ts.root);

  const mx = section('Activation maximization', 'maximize');
  mx.body.append(el('p', 'note', 'Maximize Activation runs gradient ascent on the input (Fourier basis, jitter/scale/rotate robustness, ReLU warm-up) and shows the image with its objective curve.'));
  root.append(mx.root);
  return root;
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

export function nodeStats(m: NodeStatsMessage): void {
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

export function maximized(m: MaximizedMessage): void {
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

export function maximizeProgress(m: MaximizeProgressMessage, history: number[]): void {
  const box = document.querySelector('#maximize .section-body');
  if (!box) return;
  history.push(m.objective);
  const steps = m.steps ? `step ${m.step} of ${m.steps}, ` : '';
  const note = el('p', 'note', `Maximizing… ${steps}objective ${fmt(m.objective)}${m.note ? ` · ${m.note}` : ''}`);
  note.id = 'maximize-progress';
  box.replaceChildren(note, lineChart([{ name: 'objective', values: history }], { xLabel: 'update' }));
}

// ---- layer page -----------------------------------------------------------------------------------------

/** Tiles drawn per node on a layer page (one per input channel); the caption says when a node has more. */
const TILES_PER_NODE = 16;

/**
 * Every node's weight tiles, a page of nodes at a time when the layer has more than MAX_CANVASES tiles to
 * draw, with "showing N of M" and buttons to page through the rest.
 */
function layerWeightTiles(m: LayerPageMessage, w: WeightsView, send: Send): HTMLElement[] {
  const lim = Math.max(Math.abs(w.min), Math.abs(w.max));
  const perNode = Math.max(1, Math.min(TILES_PER_NODE, ...w.tiles.map((t) => t.length)));
  const nodesPerPage = Math.max(1, Math.floor(MAX_CANVASES / perNode));
  const count = w.tiles.length;
  const grid = el('div', 'node-grid');
  grid.id = 'weight-grid';
  const pager = el('div', 'toolbar pager');
  const totalTiles = w.tiles.reduce((a, t) => a + t.length, 0);
  const cut = w.tiles.some((t) => t.length > TILES_PER_NODE);
  const draw = (first: number) => {
    const last = Math.min(count, first + nodesPerPage);
    grid.replaceChildren();
    let drawn = 0;
    for (let n = first; n < last; n++) {
      const tiles = w.tiles[n];
      const node = w.nodes[n];
      const fig = el('figure', 'figure node-tile');
      fig.tabIndex = 0;
      fig.title = `node ${node}: open the node page`;
      fig.dataset.node = String(node);
      const shown = tiles.slice(0, TILES_PER_NODE);
      shown.forEach((t, i) => {
        const c = pixelCanvas(t, 'signed', 'weights', node, { lim, target: 56, rgb: w.rgb });
        c.dataset.tile = String(i);
        fig.append(c);
        drawn++;
      });
      fig.append(el('figcaption', undefined, tiles.length > shown.length ? `${node} (${shown.length}/${tiles.length})` : String(node)));
      const open = () => send({ type: 'selectNode', layer: m.layer, node });
      fig.addEventListener('click', open);
      fig.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          open();
        }
      });
      grid.append(fig);
    }
    pager.replaceChildren();
    if (count > nodesPerPage || cut) {
      const text = `Showing ${drawn} of ${totalTiles} tiles: nodes ${w.nodes[first]}–${w.nodes[last - 1]} of ${count}${cut ? `, the first ${TILES_PER_NODE} input channels of each (the node page shows all)` : ''}.`;
      const note = el('span', 'note');
      note.id = 'weights-shown';
      note.textContent = text;
      if (count > nodesPerPage) {
        const prev = button('Previous', 'arrow-left', () => draw(Math.max(0, first - nodesPerPage)), { secondary: true, title: `Nodes before ${w.nodes[first]}` });
        const next = button('Next', 'arrow-right', () => draw(first + nodesPerPage), { secondary: true, title: `Nodes after ${w.nodes[last - 1]}` });
        prev.toggleAttribute('disabled', first === 0);
        next.toggleAttribute('disabled', last >= count);
        prev.id = 'weights-prev';
        next.id = 'weights-next';
        pager.append(prev, next);
      }
      pager.prepend(note);
    }
  };
  draw(0);
  return [pager, grid, legend(w.rgb ? 'signedRgb' : 'signed', w.min, w.max, 'weight')];
}

export function layerPage(m: LayerPageMessage, send: Send): HTMLElement {
  const root = el('div', 'page');
  const layer = m.model.layers[m.layer];
  const tools: HTMLElement[] = [...pageLinks(send, 'layer', true)];
  if (m.featureMaps) {
    const fmI = m.featureMaps;
    const prev = button('', 'arrow-left', () => fmI.index > 0 && send({ type: 'selectImage', index: fmI.index - 1 }), { secondary: true, title: 'Previous image (←)' });
    const next = button('', 'arrow-right', () => fmI.index + 1 < fmI.images && send({ type: 'selectImage', index: fmI.index + 1 }), { secondary: true, title: 'Next image (→)' });
    const input = document.createElement('vscode-textfield') as HTMLElement & { value: string; type: string };
    input.type = 'number';
    input.value = String(fmI.index);
    input.id = 'image-index';
    input.title = `Test image index (0–${fmI.images - 1})`;
    input.addEventListener('change', () => {
      const v = Number(input.value);
      if (Number.isInteger(v) && v >= 0 && v < fmI.images) send({ type: 'selectImage', index: v });
    });
    tools.unshift(el('span', 'node-count', 'image'), prev, input, next);
  }
  root.append(header(layer?.name ?? `layer ${m.layer}`, `${m.model.name} — ${layer?.className ?? ''} [${layer?.outputShape.join(', ') ?? ''}], ${m.nodes} nodes`, tools));

  const ws = section(`Weights of all ${m.nodes} nodes`);
  if (m.weights) {
    ws.body.append(...layerWeightTiles(m, m.weights, send));
  } else ws.body.append(el('p', 'note', 'This layer has no weights.'));
  root.append(ws.root);

  const fs = section(m.featureMaps ? `Feature maps for test image #${m.featureMaps.index} (${m.featureMaps.className})` : 'Feature maps');
  if (m.featureMaps) {
    const f = m.featureMaps;
    const d = dims(f.image.shape);
    const lim = Math.max(Math.abs(f.min), Math.abs(f.max));
    const row = el('div', 'fm-row');
    row.append(figure([pixelCanvas(f.image, 'image', 'input', 0, { target: 112, rgb: d.c === 3 })], 'input'));
    const grid = el('div', 'node-grid');
    const shape = f.maps.shape;
    const data = new Float32Array(f.maps.data);
    if (shape.length === 3) {
      const [h, w, n] = shape;
      if (n > MAX_CANVASES) grid.append(el('p', 'note', `Showing the first ${MAX_CANVASES} of ${n} feature maps.`));
      for (let k = 0; k < Math.min(n, MAX_CANVASES); k++) {
        const one = new Float32Array(h * w);
        for (let i = 0; i < h * w; i++) one[i] = data[i * n + k];
        const c = pixelCanvas({ shape: [h, w], data: one.buffer }, 'signed', 'feature-map', k, { lim, target: 56 });
        const fig = figure([c], String(k), 'figure node-tile');
        fig.tabIndex = 0;
        fig.dataset.node = String(k);
        fig.addEventListener('click', () => send({ type: 'selectNode', layer: m.layer, node: k }));
        grid.append(fig);
      }
    } else {
      const c = pixelCanvas({ shape: [1, data.length], data: f.maps.data }, 'signed', 'feature-map', 0, { lim, target: Math.min(640, Math.max(160, data.length * 4)) });
      c.classList.add('vector');
      const fig = figure([c], `${data.length} activations`);
      if (data.length <= 32) {
        const vals = el('div', 'values');
        data.forEach((v, k) => {
          const b = el('span', 'value', `${k}: ${fmt(v)}`);
          b.tabIndex = 0;
          b.title = `node ${k}: open the node page`;
          b.addEventListener('click', () => send({ type: 'selectNode', layer: m.layer, node: k }));
          vals.append(b);
        });
        fig.append(vals);
      }
      grid.append(fig);
    }
    row.append(grid);
    fs.body.append(row, legend('image', 0, 1, 'input'), legend('signed', f.min, f.max, 'activation'));
  } else fs.body.append(el('p', 'note', m.note ?? 'No dataset.'));
  root.append(fs.root);
  // The class chart needs a dataset: a model without a lens file has none, so no section waits for it.
  if (m.model.lens) root.append(byClassSection());
  return root;
}

function byClassSection(): HTMLElement {
  const s = section('Layer activation by class', 'by-class');
  s.body.append(el('p', 'note', 'Reading the mean Frobenius norm of each layer per class over the test split…'));
  return s.root;
}

export function byClass(chart: ByClassView | undefined, note?: string): void {
  const box = document.querySelector('#by-class .section-body');
  if (!box) return;
  if (!chart) {
    box.replaceChildren(el('p', 'note', note ?? 'No chart.'));
    return;
  }
  box.replaceChildren(
    heatMap(chart.norms, chart.classes, chart.layerNames, { normalize: 'column', highlightCol: chart.highlight }),
    el('p', 'note', 'Mean over the test images of each class of the Frobenius norm of the whole layer activation. Each column is coloured on its own scale, from white at its smallest to red at its largest value; the numbers are the real values.'),
  );
}

// ---- model page -----------------------------------------------------------------------------------------

export function modelPage(m: ModelPageMessage, send: Send): HTMLElement {
  const root = el('div', 'page');
  root.append(header(m.model.name, m.model.path, pageLinks(send, 'model', m.state.layer !== undefined)));
  const sum = section('Summary');
  const dl = el('dl', 'summary');
  const add = (k: string, v: string) => dl.append(el('dt', undefined, k), el('dd', undefined, v));
  add('layers', String(m.model.layers.length));
  add('parameters', m.model.totalParams.toLocaleString('en-US'));
  add('input', `[${m.model.inputShape.join(', ')}]`);
  if (m.model.preprocess) add('preprocess', m.model.preprocess);
  add('backend', m.model.backend);
  if (m.training) {
    const t = m.training;
    add('test accuracy', `${(100 * t.testAccuracy).toFixed(2)}% (error ${(100 * t.testError).toFixed(2)}%)`);
    add('train accuracy', `${(100 * t.trainAccuracy).toFixed(2)}%`);
    add('training', `${t.epochs} epochs in ${t.seconds.toFixed(1)} s on ${t.backend}`);
    for (const c of t.crossTests ?? []) add(c.name, `accuracy ${(100 * c.accuracy).toFixed(2)}% (error ${(100 * c.error).toFixed(2)}%)`);
  }
  sum.body.append(dl);
  if (!m.state.lens) {
    // Without a lens file there is no dataset: weights, activation maximization and pages of one image only.
    const offer = el('p', 'note', 'No lens file names this model, so there is no dataset to rank images by. ');
    offer.append(button('Create Lens File…', 'new-file', () => send({ type: 'createLens' }), { secondary: true, title: 'Write a lens file for this model, with a dataset you pick' }));
    sum.body.append(offer);
  }
  const table = el('table', 'layers');
  const head = el('tr');
  for (const h of ['#', 'layer', 'class', 'output', 'nodes', 'params']) head.append(el('th', undefined, h));
  table.append(head);
  for (const l of m.model.layers) {
    const tr = el('tr');
    for (const v of [String(l.index), l.name, l.className + (l.activation && l.activation !== 'linear' ? ` (${l.activation})` : ''), `[${l.outputShape.join(', ')}]`, String(l.nodes), l.params.toLocaleString('en-US')]) tr.append(el('td', undefined, v));
    table.append(tr);
  }
  sum.body.append(table);
  root.append(sum.root);

  const tr = section('Training');
  if (m.training && m.training.history.length) {
    const h = m.training.history;
    const x = h.map((r) => r.epoch);
    const loss = [{ name: 'train loss', values: h.map((r) => r.loss), x }];
    if (h.some((r) => r.testLoss !== undefined)) loss.push({ name: 'test loss', values: h.map((r) => r.testLoss ?? NaN), x });
    const acc = [{ name: 'train accuracy', values: h.map((r) => r.accuracy), x }];
    if (h.some((r) => r.testAccuracy !== undefined)) acc.push({ name: 'test accuracy', values: h.map((r) => r.testAccuracy ?? NaN), x });
    const row = el('div', 'charts');
    row.append(figure([lineChart(loss, { xLabel: 'epoch' })], 'loss'), figure([lineChart(acc, { xLabel: 'epoch', yMin: Math.min(...acc.flatMap((s) => s.values.filter(Number.isFinite)), 0.9), yMax: 1 })], 'accuracy'));
    tr.body.append(row);
    const t = m.training;
    const cm = heatMap(t.confusion.map((r) => r.map(Number)), t.classes.map((c) => `true ${c}`), t.classes.map((c) => `pred ${c}`), { normalize: 'all' });
    tr.body.append(figure([cm], 'confusion matrix on the test split (counts)'));
  } else tr.body.append(el('p', 'note', m.note ?? 'No training results.'));
  root.append(tr.root);
  if (m.model.lens) root.append(byClassSection());
  return root;
}
